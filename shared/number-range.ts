/**
 * The one number check of the project: task inputs (the field builders of agent/inputs) and the
 * stress library's load settings both go through `checkNumber`, so a limit reads the same everywhere.
 */

export interface NumberRange {
  min: number;
  max: number;
  /** Whole numbers only. */
  integer?: boolean;
  /** `min` itself is not allowed ("greater than 0"). */
  exclusiveMin?: boolean;
  /** Said after the range: "from 1 to 300 seconds". */
  unit?: string;
}

/** "a whole number from 1 to 300 seconds", "a number greater than 0 and at most 600". */
export function describeRange(r: NumberRange): string {
  const range = r.exclusiveMin ? `greater than ${r.min} and at most ${r.max}` : `from ${r.min} to ${r.max}`;
  return `${r.integer ? "a whole number" : "a number"} ${range}${r.unit ? ` ${r.unit}` : ""}`;
}

const shown = (v: unknown) => {
  const text = typeof v === "string" && v.length > 80 ? `${v.slice(0, 77)}...` : v;
  return typeof text === "number" ? String(text) : JSON.stringify(text);
};

/**
 * `value` as a pipeline input gives it (a trimmed string: digits, a sign, a decimal point, nothing
 * else) or as code gives it (a number), checked against `r`. The problem reads after the input's
 * name: "must be a whole number from 1 to 1000 (got 0)".
 */
export function checkNumber(value: unknown, r: NumberRange): { value: number } | { problem: string } {
  const problem = (got: unknown) => ({ problem: `must be ${describeRange(r)} (got ${shown(got)})` });
  let n: number;
  if (typeof value === "string") {
    if (!(r.integer ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(value)) return problem(value);
    n = Number(value);
  } else if (typeof value === "number") {
    if (!Number.isFinite(value) || (r.integer && !Number.isInteger(value))) return problem(value);
    n = value;
  } else {
    return problem(value);
  }
  const low = r.exclusiveMin ? n <= r.min : n < r.min;
  return low || n > r.max ? problem(n) : { value: n };
}
