/**
 * The threshold language: one condition a line, optionally for one endpoint.
 *
 *   error_rate < 1%        p95 < 500ms        rps > 100
 *   https://x/health: p95 < 200ms
 *
 * and, against a baseline run (see baseline.ts):
 *
 *   p95 < 1.2x baseline    error_rate < baseline + 0.5%    latency not slower than baseline
 *
 * A line without an endpoint is checked overall and, when there are several endpoints, for each
 * of them too (a region twice as slow as the rest must not hide in the average); `rps` only
 * overall, since each endpoint's throughput is just its share of the configured load.
 *
 * A fixed limit may hold over a sliding window instead of the whole run (sliding-window.ts):
 *
 *   error_rate < 1% over 30s          p95 < 500ms over 1m abort
 *
 * `over 30s`: every full 30 s window of the run must hold it; `abort` also stops the load at the
 * first window that breaches it.
 */
import {
  DISTRIBUTION_ALPHA,
  NEGLIGIBLE_EFFECT,
  describeDistribution,
  type DistributionComparison,
} from "./distribution";
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
/** Canonical units the limits are kept in; "δ" is Cliff's delta, the distribution test's effect size. */
export type ThresholdUnit = "ms" | "%" | "req/s" | "δ";

interface ThresholdLine {
  /** 1-based line in the thresholds text. */
  line: number;
  /** The line as written, trimmed. */
  text: string;
  /** Endpoint name or URL the line is limited to; unset = overall (and each endpoint). */
  endpoint?: string;
  /** `over 30s [abort]`: judged on sliding windows of whole seconds instead of the whole run. */
  window?: ThresholdWindow;
}

export interface ThresholdWindow {
  seconds: number;
  /** Stop the load as soon as a window breaches the limit. */
  abort: boolean;
}

/** When and how a window broke its line. Times are seconds into the measured load (after warm-up).
 * The figures sliding-window.ts leaves for a verdict. */
export interface WindowBreach {
  /** The window's figure when it broke the limit. */
  observed: number;
  /** When the breach was seen: the end of the breaching window's newest second. */
  atSeconds: number;
  /** The start of the first second (in that window) that broke the limit on its own. */
  firstFailingSecond: number;
  /** atSeconds - firstFailingSecond: from the first failing second to detection. */
  timeToDetectSeconds: number;
}

/** How a windowed line fared in one scope: the figures the verdict, summary and JUnit show. */
export interface WindowFigures {
  seconds: number;
  abort: boolean;
  /** Full windows judged (once a second). */
  windows: number;
  /**
   * The figure that decides: the first breaching window's; else the worst full window's; with
   * no full window, the figure over the part that ran. null: nothing to measure.
   */
  observed: number | null;
  /** Seconds into the load at which that window ended. */
  endedAtSeconds: number | null;
  /** No window filled: `observed` covers these seconds only. */
  partialSeconds?: number;
  breach?: WindowBreach;
}

/** Longest window: the longest run (durationSeconds at most 600). */
export const MAX_WINDOW_SECONDS = 600;

/** A limit on one figure: fixed (`p95 < 500ms`) or relative to the baseline (`p95 < 1.2x baseline`). */
export interface LimitThreshold extends ThresholdLine {
  metric: ThresholdMetric;
  operator: ThresholdOperator;
  /**
   * In `unit`: ms for latencies, percent for rates, requests per second for rps. With
   * `baseline` set, what is added to the baseline's share (`baseline + 0.5%` → 0.5).
   */
  limit: number;
  unit: ThresholdUnit;
  /**
   * Relative to a baseline run: the limit is `factor` times the baseline's figure of the same
   * metric and scope, plus `limit`. `p95 < 1.2x baseline` → factor 1.2, limit 0.
   */
  baseline?: { factor: number };
}

/**
 * `latency not slower than baseline` (or `than 1.1x baseline`): the latency distributions
 * compared whole (one-sided Mann-Whitney U against the baseline's latencies times `factor`).
 * Fails only when the run is slower both significantly (p < `alpha`) and by more than a
 * negligible effect (Cliff's delta of at least `limit`).
 */
export interface DistributionThreshold extends ThresholdLine {
  metric: "latency";
  operator: "<";
  /** The smallest Cliff's delta that counts as slower. */
  limit: number;
  unit: "δ";
  alpha: number;
  /** A margin on the baseline: 1.1 tolerates latencies up to 10% above it. */
  factor: number;
}

export type StressThreshold = LimitThreshold | DistributionThreshold;

export function isDistributionThreshold(t: StressThreshold): t is DistributionThreshold {
  return t.metric === "latency";
}

export function isRelativeThreshold(
  t: StressThreshold,
): t is LimitThreshold & { baseline: { factor: number } } {
  return !isDistributionThreshold(t) && t.baseline !== undefined;
}

/** Thresholds that need a baseline run to be judged. */
export function needsBaseline(t: StressThreshold): boolean {
  return isDistributionThreshold(t) || t.baseline !== undefined;
}

/** Applied when the thresholds input is empty. */
export const DEFAULT_THRESHOLDS_TEXT = "success_rate >= 95%\np95 < 500ms";

export const THRESHOLD_FORMS =
  "valid forms: '<metric> <op> <value><unit>' or '<endpoint name or URL>: <metric> <op> <value><unit>'; " +
  "metrics: error_rate, success_rate (unit %), avg|mean, min, max, p50, p90, p95, p99, p99.9 (unit us, ms or s), rps (no unit); " +
  "operators: <, <=, >, >=; e.g. 'error_rate < 1%', 'p95 < 500ms', 'p99 < 1s', 'rps > 100', 'https://contoso.com/health: p95 < 200ms'; " +
  "against a baseline: '<metric> <op> <factor>x baseline', '<metric> <op> baseline + <value><unit>' (or both), 'latency not slower than [<factor>x] baseline'; " +
  "e.g. 'p95 < 1.2x baseline', 'error_rate < baseline + 0.5%', 'rps > 0.9x baseline'; " +
  "over a sliding window, stopping the load at the first breach with 'abort': '<metric> <op> <value><unit> over <n>s|<n>m [abort]', " +
  "e.g. 'error_rate < 1% over 30s abort', 'p95 < 500ms over 1m'";

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

const METRIC = String.raw`([a-z_]+|p\d+(?:\.\d+)?)`;
const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const CONDITION = new RegExp(
  String.raw`^${METRIC}\s*(<=|>=|<|>|==|=)\s*(-?\d+(?:\.\d+)?|\.\d+)\s*([a-zµ%/]*)$`,
  "i",
);
/** `p95 < 1.2x baseline`, `error_rate < baseline + 0.5%`, `p95 < 1.1x baseline + 5ms`. */
const RELATIVE = new RegExp(
  String.raw`^${METRIC}\s*(<=|>=|<|>|==|=)\s*(?:${NUMBER}\s*[x×*]\s*)?baseline(?:\s*([+-])\s*${NUMBER}\s*([a-zµ%/]*))?$`,
  "i",
);
const DISTRIBUTION = new RegExp(
  String.raw`^(\S+)\s+(?:is\s+)?not\s+slower\s+than\s+(?:${NUMBER}\s*[x×*]\s*)?(?:the\s+)?baseline$`,
  "i",
);
const SCOPED = /^(.+?)\s*:\s*([^:]+)$/;
/** `... over 30s abort`: the window part at the end of a condition, its duration checked apart. */
const WINDOW_SUFFIX = /\s+over\s+(\d+(?:\.\d+)?(?:\s*(?!abort\b)[a-z]+)?|\S+)(\s+abort)?$/i;
const ABORT_SUFFIX = /\s+abort$/i;
const WINDOW_UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
};

/** The condition without its window part, and the window part's pieces as written. */
function splitWindow(text: string): { condition: string; duration?: string; abort: boolean } {
  const m = WINDOW_SUFFIX.exec(text);
  if (m) return { condition: text.slice(0, m.index).trim(), duration: m[1], abort: m[2] !== undefined };
  const abort = ABORT_SUFFIX.exec(text);
  if (abort) return { condition: text.slice(0, abort.index).trim(), abort: true };
  return { condition: text, abort: false };
}

function isCondition(text: string): boolean {
  const { condition } = splitWindow(text);
  return CONDITION.test(condition) || RELATIVE.test(condition) || DISTRIBUTION.test(condition);
}

/** `30s`, `30 s`, `2m`, `90 seconds`. */
function parseWindow(duration: string, abort: boolean, fail: (reason: string) => never): ThresholdWindow {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(duration);
  if (!m) return fail(`"over ${duration}" is not a window: write e.g. over 30s or over 2m`);
  const factor = WINDOW_UNITS[m[2].toLowerCase()];
  if (factor === undefined) fail(`the window "${duration}" needs a unit, s or m (e.g. over 30s)`);
  const seconds = Number(m[1]) * factor;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
    fail(`the window is a whole number of seconds from 1 to ${MAX_WINDOW_SECONDS} (got ${duration})`);
  }
  return { seconds, abort };
}

const LATENCY_METRICS = new Set<string>(["avg", "min", "max", "p50", "p90", "p95", "p99", "p99.9"]);
const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

function canonicalMetric(name: string): ThresholdMetric | undefined {
  const lower = name.toLowerCase();
  if (lower === "mean") return "avg";
  return (THRESHOLD_METRICS as readonly string[]).includes(lower) ? (lower as ThresholdMetric) : undefined;
}

/** A value in a metric's canonical unit: ms for latencies, % for rates, req/s for rps. */
function canonicalValue(
  metric: ThresholdMetric,
  metricText: string,
  operator: string,
  value: number,
  unitText: string,
  fail: (reason: string) => never,
): { value: number; unit: ThresholdUnit } {
  const unit = unitText.toLowerCase();
  if (LATENCY_METRICS.has(metric)) {
    const factor = TIME_UNITS[unit];
    if (factor === undefined)
      fail(`${metricText} needs a time unit: us, ms or s (e.g. ${metricText} < 500ms)`);
    return { value: value * factor, unit: "ms" };
  }
  if (metric === "rps") {
    if (unit !== "" && unit !== "/s") fail("rps takes a plain number (e.g. rps > 100)");
    return { value, unit: "req/s" };
  }
  if (unit !== "%") fail(`${metricText} is a percentage: write e.g. ${metricText} ${operator} 1%`);
  if (value > 100) fail("a percentage is at most 100%");
  return { value, unit: "%" };
}

function checkOperator(operator: string, fail: (reason: string) => never): ThresholdOperator {
  if (operator === "=" || operator === "==")
    fail(`"${operator}" is not an operator here (use <, <=, > or >=)`);
  return operator as ThresholdOperator;
}

/** Parses one line; `undefined` for blank lines and # comments. */
export function parseThresholdLine(raw: string, line: number): StressThreshold | undefined {
  const text = raw.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const fail = (reason: string): never => {
    throw new ThresholdSyntaxError(line, text, reason);
  };
  let endpoint: string | undefined;
  let condition = text;
  if (!isCondition(text)) {
    const scoped = SCOPED.exec(text);
    if (scoped && isCondition(scoped[2].trim())) {
      endpoint = scoped[1];
      condition = scoped[2].trim();
    }
  }
  const split = splitWindow(condition);
  condition = split.condition;
  let window: ThresholdWindow | undefined;
  if (split.duration !== undefined) window = parseWindow(split.duration, split.abort, fail);
  else if (split.abort) fail(`"abort" needs a window to watch: write e.g. ${condition} over 30s abort`);
  const base = {
    line,
    text,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(window === undefined ? {} : { window }),
  };

  const distribution = DISTRIBUTION.exec(condition);
  if (distribution && window) fail("a sliding window takes a fixed limit, not the baseline");
  if (distribution) {
    if (distribution[1].toLowerCase() !== "latency") {
      fail(
        `"not slower than baseline" compares whole latency distributions: write "latency not slower than baseline"; to bound one figure, write e.g. "${distribution[1]} < 1.1x baseline"`,
      );
    }
    const factor = distribution[2] === undefined ? 1 : Number(distribution[2]);
    if (!(factor > 0)) fail("the factor must be greater than 0 (e.g. latency not slower than 1.1x baseline)");
    return {
      ...base,
      metric: "latency",
      operator: "<",
      limit: NEGLIGIBLE_EFFECT,
      unit: "δ",
      alpha: DISTRIBUTION_ALPHA,
      factor,
    };
  }

  const relative = RELATIVE.exec(condition);
  if (relative && window) {
    fail(`a sliding window takes a fixed limit, not the baseline (e.g. ${relative[1]} < 500ms over 30s)`);
  }
  if (relative) {
    const [, metricText, operatorText, factorText, sign, offsetText, unitText] = relative;
    const metric = canonicalMetric(metricText) ?? fail(`unknown metric "${metricText}"`);
    const operator = checkOperator(operatorText, fail);
    const factor = factorText === undefined ? 1 : Number(factorText);
    if (!(factor > 0)) fail("the factor must be greater than 0 (e.g. 1.2x baseline)");
    if (offsetText === undefined) {
      const unit = LATENCY_METRICS.has(metric) ? "ms" : metric === "rps" ? "req/s" : "%";
      return { ...base, metric, operator, limit: 0, unit, baseline: { factor } };
    }
    const offset = canonicalValue(metric, metricText, operatorText, Number(offsetText), unitText, fail);
    return {
      ...base,
      metric,
      operator,
      limit: sign === "-" ? -offset.value : offset.value,
      unit: offset.unit,
      baseline: { factor },
    };
  }

  const m = CONDITION.exec(condition);
  if (!m) return fail("not a threshold");
  const [, metricText, operatorText, valueText, unitText] = m;
  const metric = canonicalMetric(metricText) ?? fail(`unknown metric "${metricText}"`);
  const operator = checkOperator(operatorText, fail);
  const value = Number(valueText);
  if (value < 0) fail("the value must not be negative");
  const limit = canonicalValue(metric, metricText, operatorText, value, unitText, fail);
  return { ...base, metric, operator, limit: limit.value, unit: limit.unit };
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

/** The key of a windowed line's figures in one scope: the line as written and the endpoint (none: overall). */
export function windowKey(t: Pick<StressThreshold, "text">, endpoint?: string): string {
  return `${t.text}\u0000${endpoint ?? ""}`;
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
  /** The URL as written (`https://orders-{region}.contoso.com/health`): a line may name that too. */
  template?: string;
}

/** A scoped line names an endpoint by its name, its URL, or its URL as written with tokens. */
function targets(t: StressThreshold, e: ThresholdTarget): boolean {
  return (
    e.name === t.endpoint || e.url === t.endpoint || (e.template !== undefined && e.template === t.endpoint)
  );
}

/** Every scoped line must name a loaded endpoint (by name or URL); throws naming the line. */
export function checkThresholdScopes(
  thresholds: readonly StressThreshold[],
  endpoints: readonly ThresholdTarget[],
): void {
  for (const t of thresholds) {
    if (t.endpoint === undefined) continue;
    if (!endpoints.some((e) => targets(t, e))) {
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
  metric: ThresholdMetric | "latency";
  operator: ThresholdOperator;
  /** The limit applied; for a relative threshold, worked out from the baseline (null: no baseline figure). */
  limit: number | null;
  unit: ThresholdUnit;
  /**
   * null when there was nothing to measure (no request answered): the threshold fails. For
   * `latency not slower than baseline`, Cliff's delta (current slower: towards 1).
   */
  observed: number | null;
  /** Relative thresholds: the baseline's figure the limit comes from (null: it had none). */
  baseline?: number | null;
  /** `latency not slower than baseline`: the test behind the verdict. */
  distribution?: DistributionComparison | null;
  /** `over 30s [abort]`: how the sliding windows fared; `observed` is the deciding window's figure. */
  window?: WindowFigures;
  passed: boolean;
  /** "p95 612.4 ms, limit < 500 ms" */
  message: string;
}

/** What a scope's baseline offers the thresholds: its figures and the distribution test against it. */
export interface ScopeBaseline {
  /** null when the baseline has nothing for this scope (an endpoint it did not load). */
  observed: ThresholdObservables | null;
  /** The latency test against the baseline's latencies times `factor`; null when either side has none. */
  compareLatency(factor: number): DistributionComparison | null;
}

/** The baseline of each scope: overall, and by the current run's endpoint names. */
export interface BaselineFigures {
  overall: ScopeBaseline;
  endpoints: ReadonlyMap<string, ScopeBaseline>;
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

export function holds(observed: number, operator: ThresholdOperator, limit: number): boolean {
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
  const rounded = Number(value.toFixed(unit === "ms" || unit === "δ" ? 3 : 2)).toString();
  if (unit === "δ") return rounded;
  return unit === "%" ? `${rounded}%` : `${rounded} ${unit}`;
}

type Scope = "overall" | { endpoint: string };

function verdictBase(t: StressThreshold, scope: Scope) {
  return {
    line: t.line,
    threshold: thresholdCondition(t),
    ...(scope === "overall"
      ? { scope: "overall" as const }
      : { scope: "endpoint" as const, endpoint: scope.endpoint }),
    metric: t.metric,
    operator: t.operator,
    unit: t.unit,
  };
}

function nothingMeasured(metric: ThresholdMetric): string {
  return `${metric}: nothing to measure (no request ${metric.endsWith("rate") ? "completed" : "answered"})`;
}

/** The baseline part of a relative limit, as written: "1.2x baseline 100 ms", "baseline 0.2% + 0.5%". */
function describeRelativeLimit(t: LimitThreshold & { baseline: { factor: number } }, base: number): string {
  const factor = t.baseline.factor === 1 ? "" : `${t.baseline.factor}x `;
  const offset =
    t.limit === 0 ? "" : ` ${t.limit < 0 ? "-" : "+"} ${formatMetricValue(Math.abs(t.limit), t.unit)}`;
  return `${factor}baseline ${formatMetricValue(base, t.unit)}${offset}`;
}

function limitVerdict(
  t: LimitThreshold,
  o: ThresholdObservables,
  scope: Scope,
  scopeBaseline: ScopeBaseline | undefined,
): ThresholdVerdict {
  const observed = observe(t.metric, o);
  let limit: number | null = t.limit;
  let relativeTo = "";
  let base: number | null | undefined;
  if (isRelativeThreshold(t)) {
    base = scopeBaseline?.observed ? observe(t.metric, scopeBaseline.observed) : null;
    limit = base === null ? null : t.baseline.factor * base + t.limit;
    if (base !== null) relativeTo = ` (${describeRelativeLimit(t, base)})`;
  }
  const passed = observed !== null && limit !== null && holds(observed, t.operator, limit);
  let message: string;
  if (limit === null) {
    message = `${t.metric}: the baseline has no ${t.metric} for ${scope === "overall" ? "the run" : "this endpoint"}, so there is no limit${observed === null ? "" : ` (observed ${formatMetricValue(observed, t.unit)})`}`;
  } else {
    const limitText = `${t.operator} ${formatMetricValue(limit, t.unit)}${relativeTo}`;
    message =
      observed === null
        ? `${nothingMeasured(t.metric)}, limit ${limitText}`
        : `${t.metric} ${formatMetricValue(observed, t.unit)}, limit ${limitText}`;
  }
  return {
    ...verdictBase(t, scope),
    limit,
    observed,
    ...(base === undefined ? {} : { baseline: base }),
    passed,
    message,
  };
}

const seconds = (s: number) => `${Number(s.toFixed(1))} s`;

/** A line `over 30s [abort]`, judged on its windows (`figures` undefined: no window was measured). */
function windowVerdict(
  t: LimitThreshold & { window: { seconds: number; abort: boolean } },
  scope: Scope,
  figures: WindowFigures | undefined,
): ThresholdVerdict {
  const base = { ...verdictBase(t, scope), limit: t.limit };
  const limitText = `limit ${t.operator} ${formatMetricValue(t.limit, t.unit)}`;
  if (figures === undefined) {
    return {
      ...base,
      observed: null,
      passed: false,
      message: `${t.metric}: no ${t.window.seconds} s window was measured (windows are judged while the load runs; a result without them, such as one cancelled before the load, cannot be judged), ${limitText}`,
    };
  }
  const observed = figures.observed;
  if (observed === null) {
    return {
      ...base,
      observed,
      window: figures,
      passed: false,
      message: `${nothingMeasured(t.metric)}, ${limitText}`,
    };
  }
  const value = `${t.metric} ${formatMetricValue(observed, t.unit)}`;
  const b = figures.breach;
  let message: string;
  if (b) {
    message =
      `${value} over the ${t.window.seconds} s window ending at ${seconds(b.atSeconds)}, ${limitText}; ` +
      `breached ${seconds(b.timeToDetectSeconds)} after the first failing second${t.window.abort ? ": the load was stopped" : ""}`;
  } else if (figures.partialSeconds !== undefined) {
    message = `${value} over the ${seconds(figures.partialSeconds)} measured (no full ${t.window.seconds} s window), ${limitText}`;
  } else {
    message = `${value} in the worst ${t.window.seconds} s window (ending at ${seconds(figures.endedAtSeconds ?? 0)}; ${figures.windows} judged), ${limitText}`;
  }
  return {
    ...base,
    observed,
    window: figures,
    passed: b === undefined && holds(observed, t.operator, t.limit),
    message,
  };
}

function distributionVerdict(
  t: DistributionThreshold,
  scope: Scope,
  scopeBaseline: ScopeBaseline | undefined,
): ThresholdVerdict {
  const d = scopeBaseline?.compareLatency(t.factor) ?? null;
  const base = { ...verdictBase(t, scope), limit: t.limit, distribution: d };
  if (d === null || !d.comparable) {
    const why =
      d?.note ?? `the baseline has no latencies for ${scope === "overall" ? "the run" : "this endpoint"}`;
    return {
      ...base,
      observed: null,
      passed: false,
      message: `latency: cannot be compared with the baseline: ${why}`,
    };
  }
  const slower = (d.pSlower ?? 1) < t.alpha && d.cliffsDelta >= t.limit;
  return {
    ...base,
    observed: d.cliffsDelta,
    passed: !slower,
    message: `latency ${describeDistribution(d)}; ${slower ? "slower than the baseline" : "not slower than the baseline"} (slower means p < ${t.alpha} and δ ≥ ${t.limit})`,
  };
}

/**
 * Checks every threshold where it applies (see the module comment). Verdicts come in
 * threshold order, overall first, then endpoints in the order given. Thresholds against the
 * baseline need `baseline`; without it they fail as having no limit. Lines with a window are
 * judged on `windows` (by windowKey), the figures the run's sliding windows left.
 */
export function evaluateThresholds(
  thresholds: readonly StressThreshold[],
  overall: ThresholdObservables,
  endpoints: readonly (ThresholdTarget & { observed: ThresholdObservables })[],
  baseline?: BaselineFigures,
  windows?: ReadonlyMap<string, WindowFigures>,
): ThresholdVerdict[] {
  const verdicts: ThresholdVerdict[] = [];
  const judge = (t: StressThreshold, o: ThresholdObservables, scope: Scope) => {
    const scopeBaseline = scope === "overall" ? baseline?.overall : baseline?.endpoints.get(scope.endpoint);
    const endpoint = scope === "overall" ? undefined : scope.endpoint;
    verdicts.push(
      isDistributionThreshold(t)
        ? distributionVerdict(t, scope, scopeBaseline)
        : t.window
          ? windowVerdict({ ...t, window: t.window }, scope, windows?.get(windowKey(t, endpoint)))
          : limitVerdict(t, o, scope, scopeBaseline),
    );
  };
  for (const t of thresholds) {
    if (t.endpoint !== undefined) {
      for (const e of endpoints) {
        if (targets(t, e)) judge(t, e.observed, { endpoint: e.name });
      }
      continue;
    }
    judge(t, overall, "overall");
    if (endpoints.length > 1 && t.metric !== "rps") {
      for (const e of endpoints) judge(t, e.observed, { endpoint: e.name });
    }
  }
  return verdicts;
}
