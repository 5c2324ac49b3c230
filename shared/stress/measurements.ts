/**
 * What a run measures per endpoint, in constant memory whatever the request count: fixed-size
 * counters and histograms, no per-request records.
 */
import { ERROR_KINDS, type ErrorKind, type TransportErrorKind } from "./errors";
import type { StatusRange } from "./endpoints";
import type { SecondCounts } from "./sliding-window";
import {
  HIGHEST_LATENCY_US,
  LatencyCounter,
  decodeHistogram,
  encodeHistogram,
  summarizeLatency,
  sumHistograms,
  type LatencyHistogram,
  type LatencySummary,
} from "./histogram";

const ERROR_INDEX: Record<ErrorKind, number> = Object.fromEntries(
  ERROR_KINDS.map((k, i) => [k, i]),
) as Record<ErrorKind, number>;
const UNEXPECTED_STATUS = ERROR_INDEX.unexpected_status;

/** Open-model bookkeeping of the send schedule (measured window only). */
export interface OpenModelCounters {
  /** Requests per second asked for (this endpoint's share). */
  requestedRate: number;
  /** Sends the schedule called for in the measured window. */
  scheduledSends: number;
  /** Sends that went out. */
  sentRequests: number;
  /** Sends that left more than `lateToleranceMs` after their intended time. */
  lateSends: number;
  /** Scheduled sends that never went out: no connection came free before the run ended. */
  droppedSends: number;
  lateToleranceMs: number;
}

/** Raw totals of one endpoint: everything the figures and a merge are computed from. */
export interface EndpointTotals {
  /** Requests that completed: answered, or failed in transport. */
  requests: number;
  statusCodes: Record<string, number>;
  errors: Record<ErrorKind, number>;
  /** Latency from the intended send time (open model: corrected for coordinated omission). */
  histogram: LatencyHistogram;
  /** Open model: latency from the actual send time. */
  uncorrectedHistogram?: LatencyHistogram;
  measuredSeconds: number;
  requestsPerSecond: number;
  open?: OpenModelCounters;
}

/**
 * The hot-path recorder of one endpoint. Called once per completed request; allocation-free.
 */
export class EndpointRecorder {
  private readonly latencies = new LatencyCounter();
  private readonly uncorrectedLatencies: LatencyCounter | undefined;
  private readonly statusCounts = new Float64Array(600);
  private readonly errorCounts = new Float64Array(ERROR_KINDS.length);
  private readonly expected = new Uint8Array(600);
  requests = 0;
  failures = 0;
  // Open model schedule counters, kept by the engine.
  sentRequests = 0;
  lateSends = 0;

  constructor(
    expectedStatus: readonly StatusRange[],
    openModel: boolean,
    /** The current second of a sliding-window watch (thresholds `over 30s`), when there is one. */
    private readonly second?: SecondCounts,
  ) {
    for (const r of expectedStatus) this.expected.fill(1, r.min, r.max + 1);
    this.uncorrectedLatencies = openModel ? new LatencyCounter() : undefined;
  }

  /** Latencies in milliseconds (performance.now differences). */
  recordResponse(status: number, latencyMs: number, uncorrectedLatencyMs: number): void {
    this.requests++;
    this.statusCounts[status < 600 ? status : 0]++;
    const failed = this.expected[status] !== 1;
    if (failed) {
      this.failures++;
      this.errorCounts[UNEXPECTED_STATUS]++;
    }
    const us = toMicros(latencyMs);
    this.latencies.record(us);
    if (this.uncorrectedLatencies !== undefined)
      this.uncorrectedLatencies.record(toMicros(uncorrectedLatencyMs));
    if (this.second !== undefined) this.second.recordResponse(failed, us);
  }

  recordError(kind: TransportErrorKind): void {
    this.requests++;
    this.failures++;
    this.errorCounts[ERROR_INDEX[kind]]++;
    if (this.second !== undefined) this.second.recordError();
  }

  totals(
    measuredSeconds: number,
    open?: Omit<OpenModelCounters, "sentRequests" | "lateSends">,
  ): EndpointTotals {
    const statusCodes = statusCodesOf(this.statusCounts);
    const errors = Object.fromEntries(ERROR_KINDS.map((k, i) => [k, this.errorCounts[i]])) as Record<
      ErrorKind,
      number
    >;
    return {
      requests: this.requests,
      statusCodes,
      errors,
      histogram: this.latencies.flush(),
      ...(this.uncorrectedLatencies ? { uncorrectedHistogram: this.uncorrectedLatencies.flush() } : {}),
      measuredSeconds,
      requestsPerSecond: measuredSeconds > 0 ? this.requests / measuredSeconds : 0,
      ...(open ? { open: { ...open, sentRequests: this.sentRequests, lateSends: this.lateSends } } : {}),
    };
  }
}

/**
 * Answers by status code, from counts indexed by code. A leaf of its own: its loop makes V8
 * optimise it, cheaply alone, not totals() with a histogram flush inlined (~25 ms of compiling).
 */
function statusCodesOf(counts: Float64Array): Record<string, number> {
  const statusCodes: Record<string, number> = {};
  for (let s = 0; s < counts.length; s++) if (counts[s] > 0) statusCodes[String(s)] = counts[s];
  return statusCodes;
}

function toMicros(ms: number): number {
  const value = Math.round(ms * 1000);
  return value < 0 ? 0 : value > HIGHEST_LATENCY_US ? HIGHEST_LATENCY_US : value;
}

/**
 * Totals of concurrent shares of load: counts and histograms add up, and so does throughput
 * (the shares ran side by side — endpoints of one run, or the jobs of a scale-out).
 */
export function addTotals(parts: readonly EndpointTotals[]): EndpointTotals {
  const statusCodes: Record<string, number> = {};
  const errors = Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>;
  let requests = 0;
  let requestsPerSecond = 0;
  let measuredSeconds = 0;
  const uncorrected: LatencyHistogram[] = [];
  let open: OpenModelCounters | undefined;
  for (const p of parts) {
    requests += p.requests;
    requestsPerSecond += p.requestsPerSecond;
    measuredSeconds = Math.max(measuredSeconds, p.measuredSeconds);
    for (const [code, n] of Object.entries(p.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    for (const k of ERROR_KINDS) errors[k] += p.errors[k];
    if (p.uncorrectedHistogram) uncorrected.push(p.uncorrectedHistogram);
    if (p.open) {
      open ??= {
        requestedRate: 0,
        scheduledSends: 0,
        sentRequests: 0,
        lateSends: 0,
        droppedSends: 0,
        lateToleranceMs: p.open.lateToleranceMs,
      };
      open.requestedRate += p.open.requestedRate;
      open.scheduledSends += p.open.scheduledSends;
      open.sentRequests += p.open.sentRequests;
      open.lateSends += p.open.lateSends;
      open.droppedSends += p.open.droppedSends;
    }
  }
  return {
    requests,
    statusCodes,
    errors,
    histogram: sumHistograms(parts.map((p) => p.histogram)),
    ...(uncorrected.length > 0 ? { uncorrectedHistogram: sumHistograms(uncorrected) } : {}),
    measuredSeconds,
    requestsPerSecond,
    ...(open ? { open } : {}),
  };
}

/** Figures of one endpoint or of all of them, as they appear in the result document. */
export interface StressStats {
  /** Completed requests: answered, or failed in transport. */
  requests: number;
  /** Requests that failed: transport errors plus answers with an unexpected status. */
  failures: number;
  /** Percent (0-100) of requests that failed; null when no request completed. */
  errorRatePercent: number | null;
  successRatePercent: number | null;
  requestsPerSecond: number;
  /** Answers by HTTP status code. */
  statusCodes: Record<string, number>;
  errors: Record<ErrorKind, number>;
  /** Open model: from each request's intended send time (coordinated omission corrected). */
  latencyMs: LatencySummary | null;
  /** Open model only: from each request's actual send time, for comparison. */
  uncorrectedLatencyMs?: LatencySummary | null;
  /** Open model only. */
  openModel?: OpenModelCounters & { achievedRate: number };
  /** HdrHistogram V2 compressed base64 of latencyMs' histogram, in microseconds. */
  histogram: string;
  uncorrectedHistogram?: string;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

export function statsFromTotals(t: EndpointTotals): StressStats {
  let failures = 0;
  for (const k of ERROR_KINDS) failures += t.errors[k];
  const errorRate = t.requests > 0 ? round((failures / t.requests) * 100, 4) : null;
  const stats: StressStats = {
    requests: t.requests,
    failures,
    errorRatePercent: errorRate,
    successRatePercent: errorRate === null ? null : round(100 - errorRate, 4),
    requestsPerSecond: round(t.requestsPerSecond, 3),
    statusCodes: t.statusCodes,
    errors: t.errors,
    latencyMs: summarizeLatency(t.histogram),
    histogram: encodeHistogram(t.histogram),
  };
  if (t.uncorrectedHistogram) {
    stats.uncorrectedLatencyMs = summarizeLatency(t.uncorrectedHistogram);
    stats.uncorrectedHistogram = encodeHistogram(t.uncorrectedHistogram);
  }
  if (t.open) {
    const achieved = t.measuredSeconds > 0 ? t.open.sentRequests / t.measuredSeconds : 0;
    stats.openModel = { ...t.open, achievedRate: round(t.open.requestedRate === 0 ? 0 : achieved, 3) };
  }
  return stats;
}

/** The raw totals behind figures read from a result document (histograms decoded), to add up again. */
export function totalsFromStats(stats: StressStats, measuredSeconds: number): EndpointTotals {
  return {
    requests: stats.requests,
    statusCodes: { ...stats.statusCodes },
    errors: { ...stats.errors },
    histogram: decodeHistogram(stats.histogram),
    ...(stats.uncorrectedHistogram
      ? { uncorrectedHistogram: decodeHistogram(stats.uncorrectedHistogram) }
      : {}),
    measuredSeconds,
    requestsPerSecond: stats.requestsPerSecond,
    ...(stats.openModel
      ? {
          open: {
            requestedRate: stats.openModel.requestedRate,
            scheduledSends: stats.openModel.scheduledSends,
            sentRequests: stats.openModel.sentRequests,
            lateSends: stats.openModel.lateSends,
            droppedSends: stats.openModel.droppedSends,
            lateToleranceMs: stats.openModel.lateToleranceMs,
          },
        }
      : {}),
  };
}
