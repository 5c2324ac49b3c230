import { checkNumber, describeRange, type NumberRange } from "../number-range";
import type { TaskAgent } from "./agent";

/** Bad input: the task fails with this message before anything is sent. */
export class InputError extends Error {
  override name = "InputError";
}

type Raw = string | undefined;
/** Where a field puts what is wrong with its input; `readInputs` names the input. */
interface Ctx {
  problems: string[];
}
/**
 * An input: its raw value (undefined when not given) turned into its typed value, or problems
 * noted. Plain functions, not zod schemas: a task builds one for each of its inputs at every
 * start-up, which zod would build at 30-50 us a node, three nodes an input.
 */
interface Field<T> {
  read(raw: Raw, ctx: Ctx): T;
}

function fail(ctx: Ctx, message: string): never {
  ctx.problems.push(message);
  return undefined as never;
}

/** A field: the raw input (undefined when not given) turned into its value by `parse`. */
function rawField<T>(parse: (v: Raw, ctx: Ctx) => T): Field<T> {
  return { read: parse };
}

/** A number input (`raw`: trimmed, not blank) through the project's one number check. */
function parseNumber(raw: string, r: NumberRange, ctx: Ctx): number {
  const checked = checkNumber(raw, r);
  return "value" in checked ? checked.value : fail(ctx, checked.problem);
}

const show = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);

/** Field builders: each turns the raw input string into a typed value or a message saying what a valid value is. */
export const field = {
  text(
    opts: { default?: string; pattern?: RegExp; expected?: string; maxLength?: number } = {},
  ): Field<string | undefined> {
    return rawField((v, ctx) => {
      const value = v?.trim() ?? opts.default;
      if (value === undefined) return undefined;
      if (opts.maxLength && value.length > opts.maxLength)
        fail(ctx, `must be at most ${opts.maxLength} characters (got ${value.length})`);
      if (opts.pattern && !opts.pattern.test(value))
        fail(ctx, `must be ${opts.expected ?? `of the form ${opts.pattern}`} (got ${show(value)})`);
      return value;
    });
  },

  requiredText(
    opts: { pattern?: RegExp; expected?: string; example?: string; maxLength?: number } = {},
  ): Field<string> {
    return rawField((v, ctx) => {
      const value = v?.trim();
      if (!value) return fail(ctx, `is required${opts.example ? `, for example ${show(opts.example)}` : ""}`);
      if (opts.maxLength && value.length > opts.maxLength)
        fail(ctx, `must be at most ${opts.maxLength} characters (got ${value.length})`);
      if (opts.pattern && !opts.pattern.test(value))
        fail(ctx, `must be ${opts.expected ?? `of the form ${opts.pattern}`} (got ${show(value)})`);
      return value;
    });
  },

  /** A secret: never echoed in a message. Registered with the agent by `readInputs`. */
  secret(opts: { required?: boolean } = {}): Field<string | undefined> {
    return rawField((v, ctx) => {
      const value = v?.trim();
      if (!value && opts.required)
        return fail(ctx, "is required (pass it as a secret variable, e.g. $(teamsWebhookUrl))");
      return value || undefined;
    });
  },

  integer(opts: { min: number; max: number; default?: number; unit?: string }): Field<number> {
    const whole = { ...opts, integer: true };
    return rawField((v, ctx) => {
      const raw = v?.trim();
      if (!raw) return opts.default ?? fail(ctx, `is required: ${describeRange(whole)}`);
      return parseNumber(raw, whole, ctx);
    });
  },

  /** A number that may have a fraction (`0.5` minutes), with a default when blank. */
  number(opts: { min: number; max: number; default: number; unit?: string }): Field<number> {
    return rawField((v, ctx) => {
      const raw = v?.trim();
      return raw ? parseNumber(raw, opts, ctx) : opts.default;
    });
  },

  optionalNumber(opts: NumberRange): Field<number | undefined> {
    return rawField((v, ctx) => {
      const raw = v?.trim();
      return raw ? parseNumber(raw, opts, ctx) : undefined;
    });
  },

  choice<const C extends readonly string[]>(choices: C, defaultValue?: C[number]): Field<C[number]> {
    return rawField((v, ctx) => {
      const raw = v?.trim();
      if (!raw) return defaultValue ?? fail(ctx, `is required: one of ${choices.join(", ")}`);
      const match = choices.find((c) => c.toLowerCase() === raw.toLowerCase());
      return match ?? fail(ctx, `must be one of ${choices.join(", ")} (got ${show(raw)})`);
    });
  },

  boolean(defaultValue: boolean): Field<boolean> {
    return rawField((v, ctx) => {
      const raw = v?.trim().toLowerCase();
      if (!raw) return defaultValue;
      if (raw === "true") return true;
      if (raw === "false") return false;
      return fail(ctx, `must be true or false (got ${show(v ?? "")})`);
    });
  },

  /** One value a line; blank lines and lines starting with # are skipped. */
  lines(opts: { check?: (line: string) => string | undefined; max?: number } = {}): Field<string[]> {
    return rawField((v, ctx) => {
      const lines = (v ?? "")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
      if (opts.max !== undefined && lines.length > opts.max)
        fail(ctx, `has ${lines.length} lines; at most ${opts.max} are allowed`);
      lines.forEach((line, i) => {
        const problem = opts.check?.(line);
        if (problem) fail(ctx, `line ${i + 1} ${show(line)}: ${problem}`);
      });
      return lines;
    });
  },
};

export interface ReadInputsOptions<T> {
  /** Inputs whose values are secret: registered with the agent before anything else happens. */
  secrets?: string[];
  /** Rules across inputs; return [input, message] pairs. */
  check?: (settings: T) => Array<[input: string, message: string]>;
}

/** The typed settings `readInputs` returns for a shape. */
export type InputValues<S extends Record<string, Field<unknown>>> = {
  [K in keyof S]: S[K] extends Field<infer T> ? T : never;
};

/**
 * Reads every input the shape names, validates them together and returns the typed settings,
 * or throws one InputError listing each bad input, its problem and the valid form.
 */
export function readInputs<S extends Record<string, Field<unknown>>>(
  agent: TaskAgent,
  shape: S,
  options: ReadInputsOptions<InputValues<S>> = {},
): InputValues<S> {
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    raw[name] = agent.getInput(name);
    if (options.secrets?.includes(name) && raw[name]) agent.setSecret(raw[name]!.trim());
  }
  const problems: string[] = [];
  // Azure Pipelines leaves $(name) as written when no variable of that name exists.
  for (const [name, value] of Object.entries(raw)) {
    const unexpanded = [...new Set((value ?? "").match(/\$\([A-Za-z_][\w.]*\)/g) ?? [])];
    if (unexpanded.length > 0)
      problems.push(
        `Input '${name}' holds ${unexpanded.join(", ")}: ${unexpanded.length > 1 ? "these variables are" : "that variable is"} not defined in this run (Azure Pipelines leaves an unknown $(name) as written). Define it (pipeline or stage variables, a variable group, an output variable of an earlier step that ran), or check its spelling.`,
      );
  }
  if (problems.length) throw new InputError(problems.join(" "));
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(shape)) {
    const ctx: Ctx = { problems: [] };
    values[name] = f.read(raw[name], ctx);
    for (const problem of ctx.problems) problems.push(`Input '${name}' ${problem}.`);
  }
  if (problems.length === 0) {
    for (const [name, message] of options.check?.(values as InputValues<S>) ?? [])
      problems.push(`Input '${name}' ${message}.`);
  }
  if (problems.length) throw new InputError(problems.join(" "));
  return values as InputValues<S>;
}
