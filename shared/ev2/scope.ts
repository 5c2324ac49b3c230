/**
 * The contract's scope grammar:
 * `regions(<list>|*).steps(<list>|*).stamps(<list>|*).actions(<list>|*)`,
 * each list comma-separated names of `[A-Za-z0-9_-]`.
 */
const part = "(\\*|[A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+)*)";
const scopePattern = new RegExp(
  `^regions\\(${part}\\)\\.steps\\(${part}\\)\\.stamps\\(${part}\\)\\.actions\\(${part}\\)$`,
);

export const scopeExample = "regions(eastus,westus).steps(*).stamps(*).actions(*)";

/** Undefined when valid, else what is wrong with it. */
export function checkScope(scope: string): string | undefined {
  if (scopePattern.test(scope)) return undefined;
  const parts = scope.split(".");
  const expected = ["regions", "steps", "stamps", "actions"];
  if (parts.length !== 4) return `it must have four parts (${expected.join(".")}), found ${parts.length}`;
  for (let i = 0; i < 4; i++) {
    const m = /^([A-Za-z]+)\((.*)\)$/.exec(parts[i]);
    if (!m) return `part ${i + 1} "${parts[i]}" is not of the form ${expected[i]}(...)`;
    if (m[1] !== expected[i]) return `part ${i + 1} must be ${expected[i]}(...), found ${m[1]}(...)`;
    if (!new RegExp(`^${part}$`).test(m[2])) {
      return `${expected[i]}(${m[2]}) must be * or comma-separated names of letters, digits, _ and -`;
    }
  }
  return "it does not match the scope grammar";
}
