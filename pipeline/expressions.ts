/**
 * The Azure Pipelines expression language, as used by `condition:`, `$[ ... ]` runtime
 * expressions and `${{ ... }}` template expressions: literals, named values with property and
 * index access, and the documented functions, with the documented type conversions
 * (https://learn.microsoft.com/azure/devops/pipelines/process/expressions).
 */

export type ExprValue = null | boolean | number | string | ExprValue[] | { [key: string]: ExprValue };

/** How a job or stage ended, as `dependencies.<x>.result` and the status functions see it. */
export type RunResult = "Succeeded" | "SucceededWithIssues" | "Failed" | "Canceled" | "Skipped";

/**
 * What the status functions (`succeeded()`, `failed()`...) look at: in a step condition the
 * job's status so far; in a job or stage condition the results of what it depends on.
 */
export type StatusContext =
  | { kind: "step"; jobStatus: RunResult; canceled: boolean }
  | { kind: "dependencies"; results: Record<string, RunResult>; canceled: boolean };

export interface ExpressionContext {
  /** Named values available, e.g. `variables`, `dependencies`, `stageDependencies`, `parameters`. */
  values: Record<string, ExprValue>;
  /** Undefined where status functions are not allowed (template expressions, variables). */
  status?: StatusContext;
}

export class ExpressionError extends Error {
  override name = "ExpressionError";
}

type Node =
  | { kind: "literal"; value: ExprValue }
  | { kind: "named"; name: string }
  | { kind: "property"; target: Node; name: string }
  | { kind: "index"; target: Node; index: Node }
  | { kind: "call"; name: string; args: Node[] };

type Token =
  | { type: "punct"; text: "(" | ")" | "[" | "]" | "," | "."; at: number }
  | { type: "string"; value: string; at: number }
  | { type: "number"; value: number; at: number }
  | { type: "word"; text: string; at: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if ("()[],".includes(c)) {
      tokens.push({ type: "punct", text: c as "(", at: i });
      i++;
    } else if (c === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ExpressionError(`Unterminated string starting at position ${i + 1}.`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j++];
      }
      tokens.push({ type: "string", value, at: i });
      i = j + 1;
    } else if (/[0-9]/.test(c) || ((c === "-" || c === "+") && /[0-9.]/.test(text[i + 1] ?? ""))) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i))!;
      tokens.push({ type: "number", value: Number(m[0]), at: i });
      i += m[0].length;
    } else if (c === "." && !/[0-9]/.test(text[i + 1] ?? "")) {
      tokens.push({ type: "punct", text: ".", at: i });
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))!;
      tokens.push({ type: "word", text: m[0], at: i });
      i += m[0].length;
    } else {
      throw new ExpressionError(`Unexpected symbol '${c}' at position ${i + 1}.`);
    }
  }
  return tokens;
}

interface FunctionSpec {
  min: number;
  max: number;
  /** Only in conditions (a status context is needed). */
  status?: boolean;
}

const functions: Record<string, FunctionSpec> = {
  and: { min: 2, max: Infinity },
  or: { min: 2, max: Infinity },
  not: { min: 1, max: 1 },
  xor: { min: 2, max: 2 },
  eq: { min: 2, max: 2 },
  ne: { min: 2, max: 2 },
  gt: { min: 2, max: 2 },
  ge: { min: 2, max: 2 },
  lt: { min: 2, max: 2 },
  le: { min: 2, max: 2 },
  in: { min: 1, max: Infinity },
  notin: { min: 1, max: Infinity },
  contains: { min: 2, max: 2 },
  containsvalue: { min: 2, max: 2 },
  startswith: { min: 2, max: 2 },
  endswith: { min: 2, max: 2 },
  lower: { min: 1, max: 1 },
  upper: { min: 1, max: 1 },
  trim: { min: 1, max: 1 },
  length: { min: 1, max: 1 },
  coalesce: { min: 1, max: Infinity },
  format: { min: 1, max: Infinity },
  join: { min: 2, max: 2 },
  split: { min: 2, max: 2 },
  replace: { min: 3, max: 3 },
  iif: { min: 3, max: 3 },
  converttojson: { min: 1, max: 1 },
  always: { min: 0, max: 0, status: true },
  canceled: { min: 0, max: 0, status: true },
  succeeded: { min: 0, max: Infinity, status: true },
  failed: { min: 0, max: Infinity, status: true },
  succeededorfailed: { min: 0, max: Infinity, status: true },
};

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parseAll(): Node {
    if (this.tokens.length === 0) throw new ExpressionError("The expression is empty.");
    const node = this.expression();
    const extra = this.tokens[this.pos];
    if (extra) throw new ExpressionError(`Unexpected '${this.describe(extra)}' at position ${extra.at + 1}.`);
    return node;
  }

  private describe(t: Token): string {
    return t.type === "punct" || t.type === "word"
      ? t.text
      : t.type === "string"
        ? `'${t.value}'`
        : String(t.value);
  }

  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw new ExpressionError(`The expression ends too early: ${this.source}`);
    return t;
  }

  private peekPunct(text: string): boolean {
    const t = this.tokens[this.pos];
    return t?.type === "punct" && t.text === text;
  }

  private expect(text: string): void {
    const t = this.next();
    if (t.type !== "punct" || t.text !== text)
      throw new ExpressionError(`Expected '${text}' at position ${t.at + 1}, found '${this.describe(t)}'.`);
  }

  private expression(): Node {
    const t = this.next();
    if (t.type === "string") return { kind: "literal", value: t.value };
    if (t.type === "number") return { kind: "literal", value: t.value };
    if (t.type === "punct") throw new ExpressionError(`Unexpected '${t.text}' at position ${t.at + 1}.`);
    const word = t.text.toLowerCase();
    if (this.peekPunct("(")) {
      const spec = functions[word];
      if (!spec)
        throw new ExpressionError(
          `Unrecognized function: '${t.text}'. Known functions: ${Object.keys(functions).join(", ")}.`,
        );
      this.pos++;
      const args: Node[] = [];
      if (!this.peekPunct(")")) {
        args.push(this.expression());
        while (this.peekPunct(",")) {
          this.pos++;
          args.push(this.expression());
        }
      }
      this.expect(")");
      if (args.length < spec.min || args.length > spec.max) {
        const range =
          spec.max === Infinity
            ? `at least ${spec.min}`
            : spec.min === spec.max
              ? `${spec.min}`
              : `${spec.min} to ${spec.max}`;
        throw new ExpressionError(`${t.text}() takes ${range} argument(s), got ${args.length}.`);
      }
      return this.accessors({ kind: "call", name: word, args });
    }
    if (word === "true") return { kind: "literal", value: true };
    if (word === "false") return { kind: "literal", value: false };
    if (word === "null") return { kind: "literal", value: null };
    return this.accessors({ kind: "named", name: t.text });
  }

  private accessors(target: Node): Node {
    for (;;) {
      if (this.peekPunct(".")) {
        this.pos++;
        const t = this.next();
        if (t.type !== "word" && t.type !== "number")
          throw new ExpressionError(`Expected a property name at position ${t.at + 1}.`);
        target = { kind: "property", target, name: t.type === "word" ? t.text : String(t.value) };
      } else if (this.peekPunct("[")) {
        this.pos++;
        const index = this.expression();
        this.expect("]");
        target = { kind: "index", target, index };
      } else {
        return target;
      }
    }
  }
}

/** A parsed expression; evaluate it as often as needed. */
export interface CompiledExpression {
  source: string;
  evaluate(context: ExpressionContext): ExprValue;
}

export function compileExpression(source: string): CompiledExpression {
  let root: Node;
  try {
    root = new Parser(tokenize(source), source).parseAll();
  } catch (err) {
    if (err instanceof ExpressionError) throw new ExpressionError(`${err.message} Expression: ${source}`);
    throw err;
  }
  return {
    source,
    evaluate: (context) => {
      try {
        return evaluate(root, context);
      } catch (err) {
        if (err instanceof ExpressionError) throw new ExpressionError(`${err.message} Expression: ${source}`);
        throw err;
      }
    },
  };
}

export function evaluateExpression(source: string, context: ExpressionContext): ExprValue {
  return compileExpression(source).evaluate(context);
}

/** Evaluates a condition to true or false. */
export function evaluateCondition(source: string, context: ExpressionContext): boolean {
  return toBoolean(evaluateExpression(source, context));
}

function isObject(v: ExprValue): v is { [key: string]: ExprValue } {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Property names are case-insensitive, as in Azure Pipelines. */
function lookup(target: ExprValue, key: ExprValue): ExprValue {
  if (Array.isArray(target)) {
    const n = toNumber(key);
    return Number.isInteger(n) && n >= 0 && n < target.length ? target[n] : null;
  }
  if (!isObject(target)) return null;
  const name = toStr(key).toLowerCase();
  for (const k of Object.keys(target)) if (k.toLowerCase() === name) return target[k];
  return null;
}

function evaluate(node: Node, ctx: ExpressionContext): ExprValue {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "named": {
      const found = Object.keys(ctx.values).find((k) => k.toLowerCase() === node.name.toLowerCase());
      if (found === undefined)
        throw new ExpressionError(
          `Unrecognized value: '${node.name}'. Available here: ${Object.keys(ctx.values).join(", ") || "none"}.`,
        );
      return ctx.values[found];
    }
    case "property":
      return lookup(evaluate(node.target, ctx), node.name);
    case "index":
      return lookup(evaluate(node.target, ctx), evaluate(node.index, ctx));
    case "call":
      return call(node.name, node.args, ctx);
  }
}

function statusOf(name: string, args: Node[], ctx: ExpressionContext): boolean {
  const status = ctx.status;
  if (!status) throw new ExpressionError(`${name}() can only be used in a condition.`);
  if (name === "always") return true;
  if (name === "canceled") return status.canceled;
  if (status.canceled) return false;
  if (status.kind === "step") {
    if (args.length > 0) throw new ExpressionError(`${name}() takes no arguments in a step condition.`);
    const ok = status.jobStatus === "Succeeded" || status.jobStatus === "SucceededWithIssues";
    if (name === "succeeded") return ok;
    if (name === "failed") return status.jobStatus === "Failed";
    return true; // succeededOrFailed
  }
  let names = args.map((a) => toStr(evaluate(a, ctx)));
  if (names.length === 0) names = Object.keys(status.results);
  const results = names.map((n) => {
    const key = Object.keys(status.results).find((k) => k.toLowerCase() === n.toLowerCase());
    if (key === undefined) throw new ExpressionError(`${name}('${n}'): '${n}' is not a dependency here.`);
    return status.results[key];
  });
  const ok = (r: RunResult) => r === "Succeeded" || r === "SucceededWithIssues";
  if (name === "succeeded") return results.every(ok);
  if (name === "failed") return results.some((r) => r === "Failed");
  return results.every((r) => ok(r) || r === "Failed"); // succeededOrFailed
}

function call(name: string, args: Node[], ctx: ExpressionContext): ExprValue {
  if (functions[name]?.status) return statusOf(name, args, ctx);
  const arg = (i: number) => evaluate(args[i], ctx);
  switch (name) {
    case "and":
      return args.every((_, i) => toBoolean(arg(i)));
    case "or":
      return args.some((_, i) => toBoolean(arg(i)));
    case "not":
      return !toBoolean(arg(0));
    case "xor":
      return toBoolean(arg(0)) !== toBoolean(arg(1));
    case "eq":
      return equals(arg(0), arg(1));
    case "ne":
      return !equals(arg(0), arg(1));
    case "gt":
      return compare(arg(0), arg(1), "gt") > 0;
    case "ge":
      return compare(arg(0), arg(1), "ge") >= 0;
    case "lt":
      return compare(arg(0), arg(1), "lt") < 0;
    case "le":
      return compare(arg(0), arg(1), "le") <= 0;
    case "in": {
      const needle = arg(0);
      return args.slice(1).some((_, i) => equals(needle, arg(i + 1)));
    }
    case "notin": {
      const needle = arg(0);
      return !args.slice(1).some((_, i) => equals(needle, arg(i + 1)));
    }
    case "contains":
      return toStr(arg(0))
        .toLowerCase()
        .includes(toStr(arg(1)).toLowerCase());
    case "containsvalue": {
      const haystack = arg(0);
      const needle = arg(1);
      const items = Array.isArray(haystack) ? haystack : isObject(haystack) ? Object.values(haystack) : [];
      return items.some((v) => equals(needle, v));
    }
    case "startswith":
      return toStr(arg(0))
        .toLowerCase()
        .startsWith(toStr(arg(1)).toLowerCase());
    case "endswith":
      return toStr(arg(0))
        .toLowerCase()
        .endsWith(toStr(arg(1)).toLowerCase());
    case "lower":
      return toStr(arg(0)).toLowerCase();
    case "upper":
      return toStr(arg(0)).toUpperCase();
    case "trim":
      return toStr(arg(0)).trim();
    case "length": {
      const v = arg(0);
      if (Array.isArray(v)) return v.length;
      if (isObject(v)) return Object.keys(v).length;
      return toStr(v).length;
    }
    case "coalesce": {
      for (let i = 0; i < args.length; i++) {
        const v = arg(i);
        if (v !== null && v !== "") return v;
      }
      return null;
    }
    case "format": {
      const template = toStr(arg(0));
      const values = args.slice(1).map((_, i) => arg(i + 1));
      return template.replace(/\{\{|\}\}|\{(\d+)\}/g, (m, index: string | undefined) => {
        if (m === "{{") return "{";
        if (m === "}}") return "}";
        const n = Number(index);
        if (n >= values.length) throw new ExpressionError(`format(): no argument {${n}}.`);
        return toStr(values[n]);
      });
    }
    case "join": {
      const separator = toStr(arg(0));
      const list = arg(1);
      return Array.isArray(list) ? list.map(toStr).join(separator) : toStr(list);
    }
    case "split":
      return toStr(arg(0)).split(toStr(arg(1)));
    case "replace":
      return toStr(arg(0))
        .split(toStr(arg(1)))
        .join(toStr(arg(2)));
    case "iif":
      return toBoolean(arg(0)) ? arg(1) : arg(2);
    case "converttojson":
      return JSON.stringify(arg(0), null, 2);
  }
  throw new ExpressionError(`Unrecognized function: '${name}'.`);
}

/** Empty string, 0, null and false are false; everything else (even the string 'false') is true. */
export function toBoolean(v: ExprValue): boolean {
  if (v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
  if (typeof v === "string") return v !== "";
  return true;
}

/** NaN when the value cannot be converted. */
export function toNumber(v: ExprValue): number {
  if (v === null) return 0;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim();
    if (t === "") return 0;
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
  }
  return Number.NaN;
}

export function toStr(v: ExprValue): string {
  if (v === null) return "";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** The right side is converted to the type of the left one; strings compare ignoring case. */
function equals(left: ExprValue, right: ExprValue): boolean {
  if (left === null) return right === null || right === "";
  if (typeof left === "boolean") return left === toBoolean(right);
  if (typeof left === "number") {
    const r = toNumber(right);
    return !Number.isNaN(r) && left === r;
  }
  if (typeof left === "string") {
    if (right !== null && typeof right === "object") return false;
    return left.toLowerCase() === toStr(right).toLowerCase();
  }
  return left === right;
}

function compare(left: ExprValue, right: ExprValue, fn: string): number {
  if (typeof left === "number" || typeof left === "boolean" || left === null) {
    const l = toNumber(left);
    const r = toNumber(right);
    if (Number.isNaN(r)) throw new ExpressionError(`${fn}(): cannot convert '${toStr(right)}' to a number.`);
    return l === r ? 0 : l < r ? -1 : 1;
  }
  if (typeof left === "string") {
    const l = left.toLowerCase();
    const r = toStr(right).toLowerCase();
    return l === r ? 0 : l < r ? -1 : 1;
  }
  throw new ExpressionError(`${fn}(): cannot compare an array or object.`);
}
