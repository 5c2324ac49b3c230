import type { StressStats } from "../stress/measurements";
import type { StressResultDocument } from "../stress/result";
import type { ThresholdVerdict } from "../stress/thresholds";
import { formatMs, formatPercent, formatRate } from "./card-text";

/** Latency percentiles, error rate and throughput of one endpoint or of all of them. */
export interface StressFiguresForCard {
  /** Milliseconds; null when no request was answered. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Percent of requests that failed, 0-100 (as the StressTestStage `errorRate` output); null when none completed. */
  errorRate: number | null;
  /** Requests per second achieved. */
  rps: number;
}

export interface StressEndpointForCard extends StressFiguresForCard {
  /** A short label; the URL is shown when absent. */
  name?: string;
  url?: string;
}

export interface StressThresholdForCard {
  /** As the user wrote it: `p95 < 500ms`. */
  expression: string;
  passed: boolean;
  /** The measured value, e.g. `412 ms` or 412. */
  observed?: string | number;
}

/** What a stress-test card shows: the minimum the stress engine's result has to provide. */
export interface StressSummaryForCard {
  passed: boolean;
  /** Stopped before the end (the pipeline was cancelled): the figures cover the part that ran. */
  aborted?: boolean;
  /** All endpoints together. */
  overall?: StressFiguresForCard;
  endpoints: StressEndpointForCard[];
  thresholds: StressThresholdForCard[];
  /** The stage whose endpoints were loaded, when known. */
  stageName?: string;
  durationSeconds?: number;
  /** A windowed `abort` threshold stopped the load: where, which line, when, and the time to detect. */
  earlyAbort?: string;
}

/**
 * The card's view of a StressTestStage result document (`schemaVersion` 1). The document's
 * reader checks what a merge needs; the figures and verdicts read here are taken as optional,
 * so a file from a run that measured nothing still makes a card.
 */
export function stressSummaryFromResult(doc: StressResultDocument): StressSummaryForCard {
  const thresholds: readonly Partial<ThresholdVerdict>[] = Array.isArray(doc.thresholds)
    ? doc.thresholds
    : [];
  return {
    passed: doc.passed === true,
    aborted: doc.aborted === true,
    overall: doc.overall ? figuresOf(doc.overall) : undefined,
    endpoints: (doc.endpoints ?? []).map((e) => ({
      name: e.name || undefined,
      url: e.url || undefined,
      ...figuresOf(e),
    })),
    thresholds: thresholds.map(thresholdForCard),
    durationSeconds: typeof doc.measuredSeconds === "number" ? doc.measuredSeconds : undefined,
    earlyAbort: earlyAbortForCard(doc.earlyAbort),
  };
}

const seconds = (value: number) => `${Number(value.toFixed(1))} s`;

/** `westus: error_rate < 5% over 2s abort at 2 s; time to detect 1 s (from the first failing second)` */
function earlyAbortForCard(e: StressResultDocument["earlyAbort"]): string | undefined {
  if (!e || typeof e.threshold !== "string" || typeof e.atSeconds !== "number") return undefined;
  const where = e.scope === "endpoint" && e.endpoint ? `${e.endpoint}: ` : "";
  const detect =
    typeof e.timeToDetectSeconds === "number"
      ? `; time to detect ${seconds(e.timeToDetectSeconds)} (from the first failing second)`
      : "";
  return `${where}${e.threshold} breached at ${seconds(e.atSeconds)}${detect}`;
}

function figuresOf(stats: Partial<StressStats>): StressFiguresForCard {
  const latency = stats.latencyMs ?? null;
  return {
    p50Ms: numberOrNull(latency?.p50),
    p95Ms: numberOrNull(latency?.p95),
    p99Ms: numberOrNull(latency?.p99),
    errorRate: numberOrNull(stats.errorRatePercent),
    rps: numberOrNull(stats.requestsPerSecond) ?? 0,
  };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `https://x/health: p95 < 200ms`, observed `212 ms`; a threshold with nothing to measure fails with `nothing measured`. */
function thresholdForCard(v: Partial<ThresholdVerdict>): StressThresholdForCard {
  const condition = v.threshold ?? "";
  const expression = v.scope === "endpoint" && v.endpoint ? `${v.endpoint}: ${condition}` : condition;
  const observed = numberOrNull(v.observed);
  return {
    expression: expression || (v.message ?? "threshold"),
    passed: v.passed === true,
    observed: observed === null ? "nothing measured" : observedText(observed, v.unit),
  };
}

function observedText(value: number, unit: ThresholdVerdict["unit"] | undefined): string {
  switch (unit) {
    case "ms":
      return formatMs(value);
    case "%":
      return formatPercent(value);
    case "req/s":
      return formatRate(value);
    default:
      return String(value);
  }
}
