/**
 * Pipeline variables as a job sees them (names are case-insensitive) and `$(name)` macro
 * expansion, which the agent applies to task inputs just before a step runs.
 */

export interface Variable {
  /** The name as first written. */
  name: string;
  value: string;
  secret: boolean;
}

export class VariableSet {
  private readonly byKey = new Map<string, Variable>();

  constructor(variables: Iterable<Variable> = []) {
    for (const v of variables) this.set(v.name, v.value, { secret: v.secret });
  }

  set(name: string, value: string, options: { secret?: boolean } = {}): void {
    const key = name.toLowerCase();
    const existing = this.byKey.get(key);
    // Once secret, always secret: a later plain assignment must not unmask it.
    const secret = Boolean(options.secret) || Boolean(existing?.secret);
    this.byKey.set(key, { name: existing?.name ?? name, value, secret });
  }

  get(name: string): string | undefined {
    return this.byKey.get(name.toLowerCase())?.value;
  }

  has(name: string): boolean {
    return this.byKey.has(name.toLowerCase());
  }

  isSecret(name: string): boolean {
    return this.byKey.get(name.toLowerCase())?.secret ?? false;
  }

  list(): Variable[] {
    return [...this.byKey.values()];
  }

  clone(): VariableSet {
    return new VariableSet(this.list());
  }

  /** Every variable with macros in its value expanded, as conditions and `variables[...]` read them. */
  expandedValues(): Record<string, string> {
    const values: Record<string, string> = {};
    for (const v of this.list()) values[v.name] = expandMacros(v.value, (n) => this.get(n));
    return values;
  }
}

const macro = /\$\(([A-Za-z0-9_][A-Za-z0-9_.-]*)\)/g;

/**
 * Replaces `$(name)` with the variable's value (itself expanded, as the agent does for values
 * that name other variables). An unknown name is left as written, as in Azure Pipelines.
 */
export function expandMacros(text: string, lookup: (name: string) => string | undefined): string {
  const expand = (value: string, seen: string[]): string =>
    value.replace(macro, (whole, name: string) => {
      const key = name.toLowerCase();
      if (seen.includes(key) || seen.length > 20) return whole;
      const found = lookup(name);
      return found === undefined ? whole : expand(found, [...seen, key]);
    });
  return expand(text, []);
}
