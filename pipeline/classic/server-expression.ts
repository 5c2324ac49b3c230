/**
 * The condition language an agentless `HttpRequest` execution (a release gate's success
 * criteria, `Expression` in task.json) is evaluated in, against the JSON the request answered:
 * Azure Pipelines' expression syntax (functions, 'strings' with '' for a quote, numbers,
 * True/False/Null, indexers `[0]`, `['name']` and `.name`) plus what the server adds for the
 * response: `root` (the parsed body) and `jsonpath('<path>')` (every match, as a list).
 * Macros (`$(name)`) are replaced before parsing, as the server does.
 */
type Value = unknown;

export class ServerExpressionError extends Error {
  override name = "ServerExpressionError";
}

/** `$(name)` → its value; an unknown name is left as written, as Azure Pipelines does. */
export function substituteMacros(text: string, values: Record<string, string | undefined>): string {
  const lower = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return text.replace(
    /\$\(([^)]+)\)/g,
    (whole, name: string) => lower.get(name.trim().toLowerCase()) ?? whole,
  );
}

/** Evaluates the expression against the response body; the result's truthiness is the gate's verdict. */
export function evaluateServerExpression(expression: string, response: unknown): Value {
  return new Parser(expression, response).parseAll();
}

/** Whether a value counts as true: Null, '', 0 and False do not; everything else does. */
export function truthy(v: Value): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v.length > 0;
  return true;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly response: unknown,
  ) {}

  parseAll(): Value {
    const value = this.parseExpr();
    this.ws();
    if (this.i !== this.src.length) this.fail(`unexpected '${this.src.slice(this.i, this.i + 10)}'`);
    return value;
  }

  private fail(what: string): never {
    throw new ServerExpressionError(`${what} at position ${this.i} of the expression: ${this.src}`);
  }

  private ws(): void {
    while (/\s/.test(this.src[this.i] ?? "")) this.i++;
  }

  private expect(c: string): void {
    this.ws();
    if (this.src[this.i] !== c) this.fail(`expected '${c}'`);
    this.i++;
  }

  private parseString(): string {
    this.expect("'");
    let out = "";
    for (;;) {
      if (this.i >= this.src.length) this.fail("unterminated string");
      const c = this.src[this.i];
      if (c === "'") {
        if (this.src[this.i + 1] === "'") {
          out += "'";
          this.i += 2;
          continue;
        }
        this.i++;
        return out;
      }
      out += c;
      this.i++;
    }
  }

  private parseExpr(): Value {
    this.ws();
    let value: Value;
    const rest = this.src.slice(this.i);
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (this.src[this.i] === "'") value = this.parseString();
    else if (num) {
      this.i += num[0].length;
      value = Number(num[0]);
    } else if (word) {
      this.i += word[0].length;
      const name = word[0].toLowerCase();
      this.ws();
      if (this.src[this.i] === "(") value = this.call(name, this.parseArgs());
      else if (name === "true") value = true;
      else if (name === "false") value = false;
      else if (name === "null") value = null;
      else if (name === "root") value = this.response;
      else this.fail(`unknown name '${word[0]}'`);
    } else this.fail(`unexpected '${this.src[this.i] ?? "end"}'`);
    return this.parseIndexers(value);
  }

  private parseArgs(): Value[] {
    this.expect("(");
    const args: Value[] = [];
    this.ws();
    if (this.src[this.i] === ")") {
      this.i++;
      return args;
    }
    for (;;) {
      args.push(this.parseExpr());
      this.ws();
      if (this.src[this.i] === ",") {
        this.i++;
        continue;
      }
      this.expect(")");
      return args;
    }
  }

  private parseIndexers(value: Value): Value {
    for (;;) {
      this.ws();
      if (this.src[this.i] === "[") {
        this.i++;
        const key = this.parseExpr();
        this.expect("]");
        value = index(value, key);
      } else if (this.src[this.i] === "." && /[A-Za-z_]/.test(this.src[this.i + 1] ?? "")) {
        this.i++;
        const name = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.src.slice(this.i))![0];
        this.i += name.length;
        value = index(value, name);
      } else return value;
    }
  }

  private call(fn: string, args: Value[]): Value {
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max)
        this.fail(`${fn} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`);
    };
    switch (fn) {
      case "and":
        arity(2, 99);
        return args.every(truthy);
      case "or":
        arity(2, 99);
        return args.some(truthy);
      case "not":
        arity(1);
        return !truthy(args[0]);
      case "xor":
        arity(2);
        return truthy(args[0]) !== truthy(args[1]);
      case "eq":
        arity(2);
        return compare(args[0], args[1]) === 0;
      case "ne":
        arity(2);
        return compare(args[0], args[1]) !== 0;
      case "gt":
        arity(2);
        return compare(args[0], args[1]) === 1;
      case "ge":
        arity(2);
        return [0, 1].includes(compare(args[0], args[1]) as number);
      case "lt":
        arity(2);
        return compare(args[0], args[1]) === -1;
      case "le":
        arity(2);
        return [0, -1].includes(compare(args[0], args[1]) as number);
      case "in":
        arity(2, 99);
        return args.slice(1).some((a) => compare(args[0], a) === 0);
      case "notin":
        arity(2, 99);
        return !args.slice(1).some((a) => compare(args[0], a) === 0);
      case "contains":
        arity(2);
        return asString(args[0]).toLowerCase().includes(asString(args[1]).toLowerCase());
      case "startswith":
        arity(2);
        return asString(args[0]).toLowerCase().startsWith(asString(args[1]).toLowerCase());
      case "endswith":
        arity(2);
        return asString(args[0]).toLowerCase().endsWith(asString(args[1]).toLowerCase());
      case "containsvalue":
        arity(2);
        return Array.isArray(args[0])
          ? args[0].some((v) => compare(v, args[1]) === 0)
          : isObject(args[0]) && Object.values(args[0]).some((v) => compare(v, args[1]) === 0);
      case "count":
      case "length":
        arity(1);
        if (Array.isArray(args[0])) return args[0].length;
        if (typeof args[0] === "string") return args[0].length;
        if (isObject(args[0])) return Object.keys(args[0]).length;
        return 0;
      case "jsonpath":
        arity(1);
        return jsonPath(this.response, asString(args[0]));
      default:
        return this.fail(`unknown function '${fn}'`);
    }
  }
}

function isObject(v: Value): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function index(value: Value, key: Value): Value {
  if (Array.isArray(value)) {
    const n = typeof key === "number" ? key : Number(key);
    return Number.isInteger(n) && n >= 0 ? (value[n] ?? null) : null;
  }
  if (isObject(value)) {
    const wanted = asString(key).toLowerCase();
    const found = Object.keys(value).find((k) => k.toLowerCase() === wanted);
    return found === undefined ? null : value[found];
  }
  return null;
}

function asString(v: Value): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * -1, 0 or 1; undefined when the two cannot be compared. The right side is converted to the
 * left side's type (strings compare ignoring case), as the expression rules say.
 */
function compare(left: Value, right: Value): number | undefined {
  const l = left === undefined ? null : left;
  const r = right === undefined ? null : right;
  if (l === null || r === null) return l === r ? 0 : undefined;
  const sign = (d: number) => (d < 0 ? -1 : d > 0 ? 1 : 0);
  if (typeof l === "number") {
    const n = typeof r === "number" ? r : typeof r === "string" && r.trim() !== "" ? Number(r) : NaN;
    return Number.isNaN(n) ? undefined : sign(l - n);
  }
  if (typeof l === "boolean") return truthy(r) === l ? 0 : undefined;
  if (typeof l === "string") {
    if (typeof r === "object") return undefined;
    const a = l.toLowerCase();
    const b = asString(r).toLowerCase();
    return a === b ? 0 : a < b ? -1 : 1;
  }
  return l === r ? 0 : undefined;
}

/**
 * JSONPath (Goessner's syntax) over a parsed body, always a list of the matches: `$`, `.name`,
 * `['name']`, `[n]` (negative counts from the end), `[*]` and `.*`, `..name` (at any depth),
 * `[a,b]` unions of indexes or names, and filters `[?(@.field)]` and
 * `[?(@.field <op> literal)]` with ==, !=, <, <=, >, >= (a literal is 'text', "text", a number,
 * true, false or null).
 */
export function jsonPath(doc: unknown, path: string): unknown[] {
  const src = path.trim();
  if (!src.startsWith("$")) throw new ServerExpressionError(`a JSONPath starts with $: ${path}`);
  let nodes: unknown[] = [doc];
  let i = 1;
  const bad = (what: string): never => {
    throw new ServerExpressionError(`${what} at position ${i} of the JSONPath ${path}`);
  };
  const children = (n: unknown): unknown[] => (Array.isArray(n) ? n : isObject(n) ? Object.values(n) : []);
  const member = (n: unknown, name: string): unknown[] =>
    isObject(n) && Object.prototype.hasOwnProperty.call(n, name) ? [n[name]] : [];
  const descendants = (n: unknown): unknown[] => [n, ...children(n).flatMap(descendants)];
  while (i < src.length) {
    if (src.startsWith("..", i)) {
      i += 2;
      const name = /^(\*|[A-Za-z_$][\w$-]*)/.exec(src.slice(i))?.[0] ?? bad("a name after ..");
      i += name.length;
      const all = nodes.flatMap(descendants);
      nodes = name === "*" ? all.flatMap(children) : all.flatMap((n) => member(n, name));
    } else if (src[i] === ".") {
      i++;
      const name = /^(\*|[A-Za-z_$][\w$-]*)/.exec(src.slice(i))?.[0] ?? bad("a name after .");
      i += name.length;
      nodes = name === "*" ? nodes.flatMap(children) : nodes.flatMap((n) => member(n, name));
    } else if (src.startsWith("[?(", i)) {
      const end = src.indexOf(")]", i);
      if (end < 0) bad("an unclosed filter");
      const test = filterTest(src.slice(i + 3, end), bad);
      i = end + 2;
      nodes = nodes.flatMap(children).filter(test);
    } else if (src[i] === "[") {
      const end = closingBracket(src, i) ?? bad("an unclosed [");
      const inner = src.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === "*") {
        nodes = nodes.flatMap(children);
        continue;
      }
      const parts = splitUnion(inner);
      nodes = nodes.flatMap((n) =>
        parts.flatMap((p) => {
          const quoted = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(p);
          if (quoted) return member(n, (quoted[1] ?? quoted[2]).replace(/\\(.)/g, "$1"));
          if (/^-?\d+$/.test(p) && Array.isArray(n)) {
            const k = Number(p) < 0 ? n.length + Number(p) : Number(p);
            return k >= 0 && k < n.length ? [n[k]] : [];
          }
          if (/^-?\d+$/.test(p)) return [];
          return bad(`an index, a quoted name or * in [${inner}]`);
        }),
      );
    } else bad(`unexpected '${src[i]}'`);
  }
  return nodes;
}

function closingBracket(src: string, open: number): number | undefined {
  let quote: string | undefined;
  for (let k = open + 1; k < src.length; k++) {
    const c = src[k];
    if (quote) {
      if (c === "\\") k++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "]") return k;
  }
  return undefined;
}

function splitUnion(inner: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let k = 0; k < inner.length; k++) {
    const c = inner[k];
    if (quote) {
      if (c === "\\") k++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ",") {
      parts.push(inner.slice(start, k).trim());
      start = k + 1;
    }
  }
  parts.push(inner.slice(start).trim());
  return parts;
}

function filterTest(body: string, bad: (what: string) => never): (n: unknown) => boolean {
  const m = /^\s*@((?:\.[A-Za-z_$][\w$-]*)+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$/.exec(body);
  if (!m) return bad(`a filter of the form @.field or @.field == 'value' (got ${body})`);
  const fields = m[1].slice(1).split(".");
  const read = (n: unknown): unknown => {
    let v: unknown = n;
    for (const f of fields) {
      if (!isObject(v) || !Object.prototype.hasOwnProperty.call(v, f)) return undefined;
      v = v[f];
    }
    return v;
  };
  if (!m[2]) return (n) => read(n) !== undefined;
  const literal = parseLiteral(m[3], bad);
  const op = m[2];
  return (n) => {
    const v = read(n);
    if (v === undefined) return false;
    switch (op) {
      case "==":
        return v === literal;
      case "!=":
        return v !== literal;
      default: {
        if (typeof v !== typeof literal || (typeof v !== "number" && typeof v !== "string")) return false;
        const [a, b] = [v as number | string, literal as number | string];
        return op === "<" ? a < b : op === "<=" ? a <= b : op === ">" ? a > b : a >= b;
      }
    }
  };
}

function parseLiteral(text: string, bad: (what: string) => never): unknown {
  const t = text.trim();
  const quoted = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(t);
  if (quoted) return (quoted[1] ?? quoted[2]).replace(/\\(.)/g, "$1");
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true") return true;
  if (t === "false") return false;
  if (t === "null") return null;
  return bad(`a literal ('text', a number, true, false or null) in the filter (got ${t})`);
}
