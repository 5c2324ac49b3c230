/**
 * The result document of a stress test (`schemaVersion: 1`): figures per endpoint and overall,
 * threshold verdicts, and the latency histograms encoded so that results of parallel jobs
 * merge exactly. Fields added within version 1 are optional, so older files stay readable.
 */
import { compareWithBaseline, type BaselineComparison, type BaselineSource } from "./baseline";
import type { HttpMethod, StatusRange, StressEndpoint } from "./endpoints";
import { addTotals, statsFromTotals, type EndpointTotals, type StressStats } from "./measurements";
import type { StressLoadSettings } from "./settings";
import type { EarlyAbort, WindowFigures } from "./sliding-window";
import { evaluateThresholds, type StressThreshold, type ThresholdVerdict } from "./thresholds";

export const STRESS_RESULT_SCHEMA_VERSION = 1;
export const STRESS_RESULT_KIND = "stressTestResult";

export interface StressLoadDescription {
  model: "closed" | "open";
  /** Over all jobs when merged. */
  connections: number;
  /** Open model: requests per second asked for, over all endpoints (and jobs when merged). */
  rate?: number;
  pipelining: number;
  durationSeconds: number;
  /** Measured request count asked for, when the run was bounded by count. */
  requests?: number;
  warmupSeconds: number;
  timeoutMs: number;
}

export interface EndpointResult extends StressStats {
  name: string;
  url: string;
  /** The URL as written, when it had `{region}` or `{stage}`: matches endpoints across stages. */
  template?: string;
  method: HttpMethod;
  expectedStatus: StatusRange[];
}

/** An endpoint that never answered with an expected status within the readiness timeout. */
export interface NotReadyEndpoint {
  /** The endpoint's name (its URL unless it was named). */
  endpoint: string;
  url: string;
  /** What the readiness check said: "endpoint <url> never became ready within 60 s (last attempt: …)". */
  message: string;
  /** Set in a merge: the result file of the job whose endpoint never became ready. */
  resultFile?: string;
}

export interface StressResultDocument {
  schemaVersion: typeof STRESS_RESULT_SCHEMA_VERSION;
  kind: typeof STRESS_RESULT_KIND;
  /** Every threshold held, every endpoint became ready and the run was not aborted. */
  passed: boolean;
  /** Cancelled before the end: the figures cover the part that ran. */
  aborted: boolean;
  /**
   * A threshold `over <window> abort` breached and stopped the load: which line, in which scope,
   * when, and the time to detect. The run did not pass; the figures cover the part that ran.
   */
  earlyAbort?: EarlyAbort;
  /**
   * Endpoints that never became ready, so nothing was sent (in a merge: in any of the jobs).
   * The run did not pass, whatever the thresholds say. Absent when every endpoint was ready,
   * and in files written before this field was added.
   */
  notReady?: NotReadyEndpoint[];
  startedAt: string;
  finishedAt: string;
  /** Seconds the figures cover (warm-up excluded); the longest job's when merged. */
  measuredSeconds: number;
  /** How many runs the document combines (1 unless merged). */
  jobs: number;
  load: StressLoadDescription;
  overall: StressStats;
  endpoints: EndpointResult[];
  /** The threshold lines the verdicts come from, to evaluate them again after a merge. */
  thresholdDefinitions: { line: number; text: string }[];
  thresholds: ThresholdVerdict[];
  /** Set when the run was compared with a baseline run: changes per scope and the distribution test. */
  baseline?: BaselineComparison;
}

export interface ResultInputs {
  endpoints: readonly Pick<StressEndpoint, "name" | "url" | "template" | "method" | "expectedStatus">[];
  /** Per endpoint, in the same order. */
  totals: readonly EndpointTotals[];
  thresholds: readonly StressThreshold[];
  load: StressLoadDescription;
  aborted: boolean;
  earlyAbort?: EarlyAbort;
  /** Sliding-window figures of lines `over <window>`, by windowKey; from the run's watch or, merged, the jobs' verdicts. */
  windows?: ReadonlyMap<string, WindowFigures>;
  /** Endpoints that never became ready: the document does not pass. */
  notReady?: readonly NotReadyEndpoint[];
  startedAt: string;
  finishedAt: string;
  measuredSeconds: number;
  jobs: number;
  /** Compare with this run: relative thresholds are judged against it. */
  baseline?: BaselineSource;
}

export function describeLoad(settings: StressLoadSettings): StressLoadDescription {
  return {
    model: settings.rate === undefined ? "closed" : "open",
    connections: settings.connections,
    ...(settings.rate === undefined ? {} : { rate: settings.rate }),
    pipelining: settings.pipelining,
    durationSeconds: settings.durationSeconds,
    ...(settings.requests === undefined ? {} : { requests: settings.requests }),
    warmupSeconds: settings.warmupSeconds,
    timeoutMs: settings.timeoutMs,
  };
}

/** Figures, overall totals and verdicts from per-endpoint totals: one path for runs and merges. */
export function buildResultDocument(inputs: ResultInputs): StressResultDocument {
  const endpoints: EndpointResult[] = inputs.endpoints.map((e, i) => ({
    name: e.name,
    url: e.url,
    ...(e.template === undefined ? {} : { template: e.template }),
    method: e.method,
    expectedStatus: e.expectedStatus.map((r) => ({ ...r })),
    ...statsFromTotals(inputs.totals[i]),
  }));
  const overallTotals = addTotals(inputs.totals);
  const overall = statsFromTotals(overallTotals);
  const compared =
    inputs.baseline &&
    compareWithBaseline(
      {
        overall: { stats: overall, histogram: overallTotals.histogram },
        endpoints: endpoints.map((e, i) => ({ ...e, stats: e, histogram: inputs.totals[i].histogram })),
        model: inputs.load.model,
      },
      inputs.baseline,
    );
  const thresholds = evaluateThresholds(
    inputs.thresholds,
    overall,
    endpoints.map((e) => ({ name: e.name, url: e.url, template: e.template, observed: e })),
    compared?.figures,
    inputs.windows,
  );
  const notReady = inputs.notReady?.map((n) => ({ ...n })) ?? [];
  return {
    schemaVersion: STRESS_RESULT_SCHEMA_VERSION,
    kind: STRESS_RESULT_KIND,
    passed:
      !inputs.aborted &&
      inputs.earlyAbort === undefined &&
      notReady.length === 0 &&
      thresholds.every((t) => t.passed),
    aborted: inputs.aborted,
    ...(inputs.earlyAbort ? { earlyAbort: { ...inputs.earlyAbort } } : {}),
    ...(notReady.length > 0 ? { notReady } : {}),
    startedAt: inputs.startedAt,
    finishedAt: inputs.finishedAt,
    measuredSeconds: Number(inputs.measuredSeconds.toFixed(3)),
    jobs: inputs.jobs,
    load: inputs.load,
    overall,
    endpoints,
    thresholdDefinitions: inputs.thresholds.map((t) => ({ line: t.line, text: t.text })),
    thresholds,
    ...(compared ? { baseline: compared.comparison } : {}),
  };
}

/** One line for the log, the summary and JUnit: the file (in a merge) and what the readiness check said. */
export function describeNotReady(n: NotReadyEndpoint): string {
  return `${n.resultFile ? `result file ${n.resultFile}: ` : ""}${n.message}`;
}

/** The task's output variables, from a result document. null where nothing was measured. */
export interface StressOutputs {
  passed: boolean;
  /** Percent 0-100. */
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  requestsPerSecond: number;
}

export function stressOutputs(doc: StressResultDocument): StressOutputs {
  const latency = doc.overall.latencyMs;
  return {
    passed: doc.passed,
    errorRate: doc.overall.errorRatePercent,
    p50Ms: latency?.p50 ?? null,
    p95Ms: latency?.p95 ?? null,
    p99Ms: latency?.p99 ?? null,
    requestsPerSecond: doc.overall.requestsPerSecond,
  };
}
