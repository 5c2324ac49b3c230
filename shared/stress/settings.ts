/**
 * The safety limits and the validated load settings of a stress test. The task turns its inputs
 * into a plain object and calls `validateLoadSettings`; every message names the input and the
 * valid range, so the pipeline log says what to change.
 */
import { checkNumber, type NumberRange } from "../number-range";
import { StressInputError } from "./errors";

export const STRESS_LIMITS = {
  connections: { min: 1, max: 1000 },
  rate: { max: 100_000 },
  durationSeconds: { max: 600 },
  warmupSeconds: { max: 300 },
  requests: { max: 60_000_000 },
  timeoutMs: { min: 1, max: 600_000 },
  readinessTimeoutSeconds: { max: 3600 },
  pipelining: { min: 1, max: 16 },
  endpoints: { max: 50 },
} as const;

const L = STRESS_LIMITS;

export const STRESS_DEFAULTS = {
  connections: 10,
  /** Without `requests`. With a request count the duration is only a cap, so it defaults to the longest allowed. */
  durationSeconds: 30,
  warmupSeconds: 0,
  timeoutMs: 10_000,
  readinessTimeoutSeconds: 60,
  pipelining: 1,
} as const;

/** How much load, for how long. `rate` set means the open model; unset, the closed model. */
export interface StressLoadSettings {
  /** Keep-alive connections (closed model) or the most connections in use at once (open model). */
  connections: number;
  /** Requests per second over all endpoints, sent at a constant arrival rate (open model). */
  rate?: number;
  /** Measured seconds; with `requests` the longest the run may take. Warm-up comes on top. */
  durationSeconds: number;
  /** Stop after this many measured requests (over all endpoints) instead of after the duration. */
  requests?: number;
  /** Seconds of load before measuring starts; those requests are not in the results. */
  warmupSeconds: number;
  /** Per request: the longest wait for the answer's headers, and between body chunks. */
  timeoutMs: number;
  /** Each endpoint must answer with an expected status within this; 0 skips the check. */
  readinessTimeoutSeconds: number;
  /** Requests in flight on one connection (HTTP/1.1 pipelining); 1 = none. */
  pipelining: number;
}

/**
 * The range of each number setting. The task's inputs are read against these same ranges
 * (`field.optionalNumber(STRESS_RANGES.connections)`), through the one number check.
 */
export const STRESS_RANGES = {
  connections: { min: L.connections.min, max: L.connections.max, integer: true },
  rate: { min: 0, max: L.rate.max, exclusiveMin: true },
  durationSeconds: { min: 0, max: L.durationSeconds.max, exclusiveMin: true },
  requests: { min: 1, max: L.requests.max, integer: true },
  warmupSeconds: { min: 0, max: L.warmupSeconds.max },
  timeoutMs: { min: L.timeoutMs.min, max: L.timeoutMs.max, integer: true },
  readinessTimeoutSeconds: { min: 0, max: L.readinessTimeoutSeconds.max },
  pipelining: { min: L.pipelining.min, max: L.pipelining.max, integer: true },
} as const satisfies Record<string, NumberRange>;

/** Only http and https, with a host; anything else names the input and the URL. */
export function checkEndpointUrl(url: string, input = "endpoints"): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StressInputError(
      `${input}: "${url}" is not a URL; expected e.g. https://contoso.com/api/health`,
      input,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new StressInputError(
      `${input}: "${url}" uses ${parsed.protocol.slice(0, -1)}; only http and https URLs can be loaded`,
      input,
    );
  }
  if (parsed.username || parsed.password) {
    throw new StressInputError(
      `${input}: "${parsed.host}${parsed.pathname}" carries credentials in the URL; pass a bearer token or an Authorization header instead`,
      input,
    );
  }
}

export function checkEndpointCount(count: number, input = "endpoints"): void {
  if (count < 1)
    throw new StressInputError(`${input}: no endpoint given; give 1 to ${L.endpoints.max} URLs`, input);
  if (count > L.endpoints.max) {
    throw new StressInputError(
      `${input}: ${count} endpoints given; at most ${L.endpoints.max} are allowed`,
      input,
    );
  }
}

/** The settings in the order they are checked (and reported); a default stands for an unset one. */
const SETTINGS: ReadonlyArray<[keyof typeof STRESS_RANGES, number | undefined]> = [
  ["connections", STRESS_DEFAULTS.connections],
  ["rate", undefined],
  ["durationSeconds", undefined],
  ["requests", undefined],
  ["warmupSeconds", STRESS_DEFAULTS.warmupSeconds],
  ["timeoutMs", STRESS_DEFAULTS.timeoutMs],
  ["readinessTimeoutSeconds", STRESS_DEFAULTS.readinessTimeoutSeconds],
  ["pipelining", STRESS_DEFAULTS.pipelining],
];

/**
 * Validates settings read from the task's inputs (numbers, or numeric strings from code that
 * calls the library directly; other fields are left out); throws one StressInputError listing
 * every problem. Plain checks, no zod schema: the task runs this before its first request, and
 * building one cost more than the check.
 */
export function validateLoadSettings(raw: unknown): StressLoadSettings {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new StressInputError("settings must be an object of load settings", "settings");
  const given = raw as Record<string, unknown>;
  const settings: Record<string, number | undefined> = {};
  const problems: Array<[input: string, message: string]> = [];
  for (const [input, defaultValue] of SETTINGS) {
    const value = given[input];
    if (value === undefined) {
      // As given: an unset optional setting present in `raw` stays, as undefined.
      if (defaultValue !== undefined) settings[input] = defaultValue;
      else if (input in given) settings[input] = undefined;
      continue;
    }
    const checked = checkNumber(value, STRESS_RANGES[input]);
    if ("value" in checked) settings[input] = checked.value;
    else problems.push([input, `${input} ${checked.problem}`]);
  }
  if (problems.length)
    throw new StressInputError(problems.map(([, message]) => message).join("; "), problems[0][0]);
  const s = settings as unknown as Omit<StressLoadSettings, "durationSeconds"> & { durationSeconds?: number };
  return {
    ...s,
    durationSeconds:
      s.durationSeconds ??
      (s.requests === undefined ? STRESS_DEFAULTS.durationSeconds : L.durationSeconds.max),
  };
}
