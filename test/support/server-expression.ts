/**
 * Evaluates the condition language of an agentless task's `HttpRequest` execution
 * (`Expression` in task.json) against a JSON response, for the subset our gate uses:
 * and, or, not, eq, ne, count, jsonpath('...')[n], and string/number literals
 * ('' escapes a quote). Macros ($(input)) are substituted first, as the server does.
 */
type Value = unknown;

export function substituteMacros(expression: string, inputs: Record<string, string>): string {
  return expression.replace(/\$\(([^)]+)\)/g, (_m, name: string) => inputs[name] ?? "");
}

export function evaluateServerExpression(expression: string, response: unknown): Value {
  let i = 0;
  const src = expression;
  const ws = () => {
    while (/\s/.test(src[i] ?? "")) i++;
  };
  const expect = (c: string) => {
    ws();
    if (src[i] !== c) throw new Error(`expected '${c}' at ${i} in ${src}`);
    i++;
  };
  const parseString = (): string => {
    expect("'");
    let out = "";
    for (;;) {
      if (i >= src.length) throw new Error("unterminated string");
      if (src[i] === "'") {
        if (src[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        i++;
        return out;
      }
      out += src[i++];
    }
  };
  const parseExpr = (): Value => {
    ws();
    if (src[i] === "'") return parseString();
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      return Number(num[0]);
    }
    const name = /^[A-Za-z]+/.exec(src.slice(i));
    if (!name) throw new Error(`unexpected '${src[i]}' at ${i}`);
    i += name[0].length;
    expect("(");
    const args: Value[] = [];
    ws();
    if (src[i] !== ")") {
      for (;;) {
        args.push(parseExpr());
        ws();
        if (src[i] === ",") {
          i++;
          continue;
        }
        break;
      }
    }
    expect(")");
    let value = call(name[0].toLowerCase(), args);
    ws();
    while (src[i] === "[") {
      i++;
      const index = Number(parseExpr());
      expect("]");
      value = Array.isArray(value) ? value[index] : undefined;
      ws();
    }
    return value;
  };
  const call = (fn: string, args: Value[]): Value => {
    const eq = (a: Value, b: Value) =>
      typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
    switch (fn) {
      case "and":
        return args.every(Boolean);
      case "or":
        return args.some(Boolean);
      case "not":
        return !args[0];
      case "eq":
        return eq(args[0], args[1]);
      case "ne":
        return !eq(args[0], args[1]);
      case "count":
        return Array.isArray(args[0]) ? args[0].length : 0;
      case "jsonpath":
        return jsonPath(response, String(args[0]));
      default:
        throw new Error(`unsupported function ${fn}`);
    }
  };
  const result = parseExpr();
  ws();
  if (i !== src.length) throw new Error(`trailing text at ${i}: ${src.slice(i)}`);
  return result;
}

/** `$.a.b`, `$.a[*]`, `$.a[?(@.name == 'x')].b` — always a list of matches. */
export function jsonPath(doc: unknown, path: string): unknown[] {
  if (!path.startsWith("$")) throw new Error(`jsonpath must start with $: ${path}`);
  let nodes: unknown[] = [doc];
  const tokens =
    path.slice(1).match(/\.[A-Za-z_][A-Za-z0-9_]*|\[\*\]|\[\?\(@\.[A-Za-z_]+\s*==\s*'(?:[^']|'')*'\)\]/g) ??
    [];
  for (const t of tokens) {
    if (t.startsWith("."))
      nodes = nodes.map((n) => (n as Record<string, unknown>)?.[t.slice(1)]).filter((n) => n !== undefined);
    else if (t === "[*]") nodes = nodes.flatMap((n) => (Array.isArray(n) ? n : []));
    else {
      const m = /^\[\?\(@\.([A-Za-z_]+)\s*==\s*'((?:[^']|'')*)'\)\]$/.exec(t)!;
      const value = m[2].replace(/''/g, "'");
      nodes = nodes
        .flatMap((n) => (Array.isArray(n) ? n : []))
        .filter((n) => (n as Record<string, unknown>)?.[m[1]] === value);
    }
  }
  return nodes;
}
