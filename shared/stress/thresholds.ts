/**
 * The threshold language: one condition a line, optionally for one endpoint.
 *
 *   error_rate < 1%        p95 < 500ms        rps > 100
 *   https://x/health: p95 < 200ms
 *
 * A line without an endpoint is checked overall and, when there are several endpoints, for each
 * of them too (a region twice as slow as the rest must not hide in the average); `rps` only
 * overall, since each endpoint's throughput is just its share of the configured load.
 */
import { StressInputError } from "./errors";

export const THRESHOLD_METRICS = [
  "error_rate",
  "success_rate",
  "avg",
  "min",
  "max",
  "p50",
  "p90",
  "p95",
  "p99",
  "p99.9",
  "rps",
] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];
export type ThresholdOperator = "<" | "<=" | ">" | ">=";
/** Canonical units the limits are kept in. */
export type ThresholdUnit = "ms" | "%" | "req/s";

export interface StressThreshold {
  /** 1-based line in the thresholds text. */
  line: number;
  /** The line as written, trimmed. */
  text: string;
  /** Endpoint name or URL the line is limited to; unset = overall (and each endpoint). */
  endpoint?: string;
  metric: ThresholdMetric;
  operator: ThresholdOperator;
  /** In `unit`: ms for latencies, percent for rates, requests per second for rps. */
  limit: number;
  unit: ThresholdUnit;
}

/** Applied when the thresholds input is empty. */
export const DEFAULT_THRESHOLDS_TEXT = "success_rate >= 95%\np95 < 500ms";

export const THRESHOLD_FORMS =
  "valid forms: '<metric> <op> <value><unit>' or '<endpoint name or URL>: <metric> <op> <value><unit>'; " +
  "metrics: error_rate, success_rate (unit %), avg|mean, min, max, p50, p90, p95, p99, p99.9 (unit us, ms or s), rps (no unit); " +
  "operators: <, <=, >, >=; e.g. 'error_rate < 1%', 'p95 < 500ms', 'p99 < 1s', 'rps > 100', 'https://contoso.com/health: p95 < 200ms'";

export class ThresholdSyntaxError extends StressInputError {
  override name = "ThresholdSyntaxError";
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`thresholds line ${line} "${text}": ${reason}; ${THRESHOLD_FORMS}`, "thresholds");
  }
}

const CONDITION = /^([a-z_]+|p\d+(?:\.\d+)?)\s*(<=|>=|<|>|==|=)\s*(-?\d+(?:\.\d+)?|\.\d+)\s*([a-zµ%/]*)$/i;
const SCOPED = /^(.+?)\s*:\s*([^:]+)$/;

const LATENCY_METRICS = new Set<string>(["avg", "min", "max", "p50", "p90", "p95", "p99", "p99.9"]);
const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

function canonicalMetric(name: string): ThresholdMetric | undefined {
  const lower = name.toLowerCase();
  if (lower === "mean") return "avg";
  return (THRESHOLD_METRICS as readonly string[]).includes(lower) ? (lower as ThresholdMetric) : undefined;
}

/** Parses one line; `undefined` for blank lines and # comments. */
export function parseThresholdLine(raw: string, line: number): StressThreshold | undefined {
  const text = raw.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  let endpoint: string | undefined;
  let condition = text;
  let m = CONDITION.exec(text);
  if (!m) {
    const scoped = SCOPED.exec(text);
    if (scoped && CONDITION.test(scoped[2].trim())) {
      endpoint = scoped[1];
      condition = scoped[2].trim();
      m = CONDITION.exec(condition);
    }
  }
  if (!m) throw new ThresholdSyntaxError(line, text, "not a threshold");
  const [, metricText, operator, valueText, unitText] = m;
  const metric = canonicalMetric(metricText);
  if (!metric) throw new ThresholdSyntaxError(line, text, `unknown metric "${metricText}"`);
  if (operator === "=" || operator === "==") {
    throw new ThresholdSyntaxError(line, text, `"${operator}" is not an operator here (use <, <=, > or >=)`);
  }
  const value = Number(valueText);
  if (value < 0) throw new ThresholdSyntaxError(line, text, "the value must not be negative");
  const unit = unitText.toLowerCase();
  const base = {
    line,
    text,
    ...(endpoint === undefined ? {} : { endpoint }),
    metric,
    operator: operator as ThresholdOperator,
  };
  if (LATENCY_METRICS.has(metric)) {
    const factor = TIME_UNITS[unit];
    if (factor === undefined) {
      throw new ThresholdSyntaxError(
        line,
        text,
        `${metricText} needs a time unit: us, ms or s (e.g. ${metricText} < 500ms)`,
      );
    }
    return { ...base, limit: value * factor, unit: "ms" };
  }
  if (metric === "rps") {
    if (unit !== "" && unit !== "/s")
      throw new ThresholdSyntaxError(line, text, "rps takes a plain number (e.g. rps > 100)");
    return { ...base, limit: value, unit: "req/s" };
  }
  if (unit !== "%")
    throw new ThresholdSyntaxError(
      line,
      text,
      `${metricText} is a percentage: write e.g. ${metricText} ${operator} 1%`,
    );
  if (value > 100) throw new ThresholdSyntaxError(line, text, "a percentage is at most 100%");
  return { ...base, limit: value, unit: "%" };
}

/**
 * Parses the thresholds input. Empty (or only comments) → the defaults. Throws a
 * ThresholdSyntaxError naming the first malformed line.
 */
export function parseThresholds(text: string | undefined): StressThreshold[] {
  const parse = (source: string) =>
    source.split(/\r?\n/).flatMap((raw, i) => {
      const t = parseThresholdLine(raw, i + 1);
      return t ? [t] : [];
    });
  const thresholds = parse(text ?? "");
  return thresholds.length > 0 ? thresholds : parse(DEFAULT_THRESHOLDS_TEXT);
}

/** The condition part, as written: "p95 < 500ms" for "https://x: p95 < 500ms". */
export function thresholdCondition(t: StressThreshold): string {
  if (t.endpoint === undefined) return t.text;
  return t.text.slice(t.text.lastIndexOf(":") + 1).trim();
}

/** An endpoint a scoped threshold can refer to. */
export interface ThresholdTarget {
  name: string;
  url: string;
}

/** Every scoped line must name a loaded endpoint (by name or URL); throws naming the line. */
export function checkThresholdScopes(
  thresholds: readonly StressThreshold[],
  endpoints: readonly ThresholdTarget[],
): void {
  for (const t of thresholds) {
    if (t.endpoint === undefined) continue;
    if (!endpoints.some((e) => e.name === t.endpoint || e.url === t.endpoint)) {
      throw new StressInputError(
        `thresholds line ${t.line} "${t.text}": "${t.endpoint}" is none of the endpoints loaded (${endpoints.map((e) => e.name).join(", ")})`,
        "thresholds",
      );
    }
  }
}

/** The figures a threshold is checked against; latencies null when nothing answered. */
export interface ThresholdObservables {
  errorRatePercent: number | null;
  successRatePercent: number | null;
  requestsPerSecond: number;
  latencyMs: {
    min: number;
    mean: number;
    p50: number;
    p90: number;
    p95: number;
    p99: number;
    p99_9: number;
    max: number;
  } | null;
}

export interface ThresholdVerdict {
  line: number;
  /** The condition as written, without the endpoint part. */
  threshold: string;
  scope: "overall" | "endpoint";
  /** Set when scope is "endpoint". */
  endpoint?: string;
  metric: ThresholdMetric;
  operator: ThresholdOperator;
  limit: number;
  unit: ThresholdUnit;
  /** null when there was nothing to measure (no request answered): the threshold fails. */
  observed: number | null;
  passed: boolean;
  /** "p95 612.4 ms, limit < 500 ms" */
  message: string;
}

function observe(metric: ThresholdMetric, o: ThresholdObservables): number | null {
  switch (metric) {
    case "error_rate":
      return o.errorRatePercent;
    case "success_rate":
      return o.successRatePercent;
    case "rps":
      return o.requestsPerSecond;
    case "avg":
      return o.latencyMs?.mean ?? null;
    case "p99.9":
      return o.latencyMs?.p99_9 ?? null;
    default:
      return o.latencyMs?.[metric] ?? null;
  }
}

function holds(observed: number, operator: ThresholdOperator, limit: number): boolean {
  switch (operator) {
    case "<":
      return observed < limit;
    case "<=":
      return observed <= limit;
    case ">":
      return observed > limit;
    case ">=":
      return observed >= limit;
  }
}

export function formatMetricValue(value: number, unit: ThresholdUnit): string {
  const rounded = Number(value.toFixed(unit === "ms" ? 3 : 2)).toString();
  return unit === "%" ? `${rounded}%` : `${rounded} ${unit}`;
}

function verdict(
  t: StressThreshold,
  o: ThresholdObservables,
  scope: "overall" | { endpoint: string },
): ThresholdVerdict {
  const observed = observe(t.metric, o);
  const passed = observed !== null && holds(observed, t.operator, t.limit);
  const limitText = `${t.operator} ${formatMetricValue(t.limit, t.unit)}`;
  const message =
    observed === null
      ? `${t.metric}: nothing to measure (no request ${t.metric.endsWith("rate") ? "completed" : "answered"}), limit ${limitText}`
      : `${t.metric} ${formatMetricValue(observed, t.unit)}, limit ${limitText}`;
  return {
    line: t.line,
    threshold: thresholdCondition(t),
    ...(scope === "overall"
      ? { scope: "overall" as const }
      : { scope: "endpoint" as const, endpoint: scope.endpoint }),
    metric: t.metric,
    operator: t.operator,
    limit: t.limit,
    unit: t.unit,
    observed,
    passed,
    message,
  };
}

/**
 * Checks every threshold where it applies (see the module comment). Verdicts come in
 * threshold order, overall first, then endpoints in the order given.
 */
export function evaluateThresholds(
  thresholds: readonly StressThreshold[],
  overall: ThresholdObservables,
  endpoints: readonly (ThresholdTarget & { observed: ThresholdObservables })[],
): ThresholdVerdict[] {
  const verdicts: ThresholdVerdict[] = [];
  for (const t of thresholds) {
    if (t.endpoint !== undefined) {
      for (const e of endpoints) {
        if (e.name === t.endpoint || e.url === t.endpoint)
          verdicts.push(verdict(t, e.observed, { endpoint: e.name }));
      }
      continue;
    }
    verdicts.push(verdict(t, overall, "overall"));
    if (endpoints.length > 1 && t.metric !== "rps") {
      for (const e of endpoints) verdicts.push(verdict(t, e.observed, { endpoint: e.name }));
    }
  }
  return verdicts;
}
