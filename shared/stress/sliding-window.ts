/**
 * Thresholds over a sliding window (`error_rate < 1% over 30s abort`), watched while the load runs.
 *
 * Cheap by construction: the hot path adds each completed request to its endpoint's counters of
 * the current second (a count, a failure count and, when a windowed line needs latencies, a small
 * log-linear histogram: 32 sub-buckets per power of two, percentiles within about 3%). Once a
 * second the engine closes the second: it joins a ring of the last seconds per scope (each
 * endpoint, and overall as their sum; only the latency buckets it used are kept: a 10-minute
 * window over 50 endpoints measured under 30 MB of RSS, not the 100 MB whole histograms take),
 * running sums per window length are updated (the second that leaves the window is
 * subtracted), and every windowed line is judged on its window. No latency is ever kept on its
 * own.
 *
 * A window trips only when it is full (as many closed seconds as it is long): a partial window's
 * rate or percentile can still change either way. The one exception is a breach that is certain:
 * `max < 2s` (or `min > 1ms`) broken by a request already in the window stays broken in every
 * window that holds it.
 */
import {
  formatMetricValue,
  holds,
  thresholdCondition,
  windowKey,
  type LimitThreshold,
  type StressThreshold,
  type ThresholdMetric,
  type ThresholdOperator,
  type ThresholdTarget,
  type ThresholdUnit,
  type ThresholdWindow,
  type WindowBreach,
  type WindowFigures,
} from "./thresholds";

export type { WindowBreach, WindowFigures };

/** log2 of the sub-buckets in half a power of two: 32 per half, 3% at worst. */
const HALF_MAGNITUDE = 5;
const SUB_BUCKET_MASK = (1 << HALF_MAGNITUDE) - 1;
/** Latencies above 35 minutes are counted as 35 minutes (requests time out long before). */
const HIGHEST_US = 0x7fffffff;
/** Enough buckets for every value up to HIGHEST_US. */
export const WINDOW_HISTOGRAM_LENGTH = (31 - HALF_MAGNITUDE + 1) << HALF_MAGNITUDE;

function bucketIndex(us: number): number {
  const value = us < 0 ? 0 : us > HIGHEST_US ? HIGHEST_US : us;
  const bucket = Math.max(31 - Math.clz32(value) - HALF_MAGNITUDE, 0);
  return (bucket << HALF_MAGNITUDE) + (value >>> bucket);
}

function lowestOfBucket(index: number): number {
  const bucket = (index >>> HALF_MAGNITUDE) - 1;
  if (bucket < 0) return index;
  return ((index & SUB_BUCKET_MASK) + (1 << HALF_MAGNITUDE)) * 2 ** bucket;
}

function highestOfBucket(index: number): number {
  const bucket = (index >>> HALF_MAGNITUDE) - 1;
  return lowestOfBucket(index) + (bucket < 0 ? 1 : 2 ** bucket) - 1;
}

/** What completed in one second (or, as a running sum, in a window) of one scope. */
export class SecondCounts {
  requests = 0;
  failures = 0;
  latencyCount = 0;
  latencySumUs = 0;
  /** Latency counts by bucket; absent when no windowed line reads latencies. */
  readonly latency: Uint32Array | undefined;

  constructor(withLatency: boolean) {
    this.latency = withLatency ? new Uint32Array(WINDOW_HISTOGRAM_LENGTH) : undefined;
  }

  /** An answer (any status; `failed` when it was not an expected one), its latency in whole microseconds. */
  recordResponse(failed: boolean, us: number): void {
    this.requests++;
    if (failed) this.failures++;
    const latency = this.latency;
    if (latency !== undefined) {
      latency[bucketIndex(us)]++;
      this.latencyCount++;
      this.latencySumUs += us;
    }
  }

  /** A request that failed in transport: no latency. */
  recordError(): void {
    this.requests++;
    this.failures++;
  }

  /** Adds (sign 1) or subtracts (sign -1) another's counts. */
  add(other: SecondCounts, sign: 1 | -1): void {
    this.requests += sign * other.requests;
    this.failures += sign * other.failures;
    this.latencyCount += sign * other.latencyCount;
    this.latencySumUs += sign * other.latencySumUs;
    const mine = this.latency;
    const theirs = other.latency;
    if (mine === undefined || theirs === undefined || other.latencyCount === 0) return;
    for (let i = 0; i < mine.length; i++) if (theirs[i] !== 0) mine[i] += sign * theirs[i];
  }

  /** Adds (sign 1) or subtracts (sign -1) a closed second kept sparse. */
  addClosed(other: ClosedSecond, sign: 1 | -1): void {
    this.requests += sign * other.requests;
    this.failures += sign * other.failures;
    this.latencyCount += sign * other.latencyCount;
    this.latencySumUs += sign * other.latencySumUs;
    const mine = this.latency;
    if (mine === undefined) return;
    const { indices, counts } = other;
    for (let k = 0; k < indices.length; k++) mine[indices[k]] += sign * counts[k];
  }

  clear(): void {
    this.requests = 0;
    this.failures = 0;
    this.latencyCount = 0;
    this.latencySumUs = 0;
    this.latency?.fill(0);
  }
}

/** The count a percentile reaches, rounded up (as HdrHistogram and summarizeLatency count). */
function latencyAt(counts: Uint32Array, total: number, percentile: number): number {
  const target = Math.max(Math.ceil((percentile / 100) * total - 1e-9), 1);
  let reached = 0;
  for (let i = 0; i < counts.length; i++) {
    reached += counts[i];
    if (reached >= target) return highestOfBucket(i);
  }
  return highestOfBucket(counts.length - 1);
}

const PERCENTILE_OF: Partial<Record<ThresholdMetric, number>> = {
  p50: 50,
  p90: 90,
  p95: 95,
  p99: 99,
  "p99.9": 99.9,
};

/** A metric over counts covering `seconds`, in the threshold's unit; null when there is nothing to measure. */
export function windowFigure(metric: ThresholdMetric, c: SecondCounts, seconds: number): number | null {
  switch (metric) {
    case "error_rate":
      return c.requests > 0 ? (100 * c.failures) / c.requests : null;
    case "success_rate":
      return c.requests > 0 ? 100 - (100 * c.failures) / c.requests : null;
    case "rps":
      return seconds > 0 ? c.requests / seconds : null;
    default:
      break;
  }
  const counts = c.latency;
  if (counts === undefined || c.latencyCount === 0) return null;
  if (metric === "avg") return c.latencySumUs / c.latencyCount / 1000;
  if (metric === "min") {
    const first = counts.findIndex((n) => n > 0);
    return lowestOfBucket(first) / 1000;
  }
  if (metric === "max") {
    const last = counts.findLastIndex((n) => n > 0);
    return highestOfBucket(last) / 1000;
  }
  return latencyAt(counts, c.latencyCount, PERCENTILE_OF[metric]!) / 1000;
}

function needsLatency(metric: ThresholdMetric): boolean {
  return metric !== "error_rate" && metric !== "success_rate" && metric !== "rps";
}

/** `max < 2s` or `min > 1ms`: one request in a window decides every window that holds it. */
function breachIsCertainEarly(t: LimitThreshold): boolean {
  return (
    (t.metric === "max" && (t.operator === "<" || t.operator === "<=")) ||
    (t.metric === "min" && (t.operator === ">" || t.operator === ">="))
  );
}

/**
 * A second once closed, its latency counts kept sparse (only the buckets it used: latencies
 * cluster in a few dozen of the 864), so a 10-minute window of 50 endpoints stays small.
 */
export interface ClosedSecond {
  requests: number;
  failures: number;
  latencyCount: number;
  latencySumUs: number;
  indices: Uint16Array;
  counts: Uint32Array;
}

function closeCounts(second: SecondCounts): ClosedSecond {
  const latency = second.latency;
  let used = 0;
  if (latency !== undefined) for (let i = 0; i < latency.length; i++) if (latency[i] !== 0) used++;
  const indices = new Uint16Array(used);
  const counts = new Uint32Array(used);
  if (latency !== undefined) {
    for (let i = 0, k = 0; i < latency.length; i++) {
      if (latency[i] === 0) continue;
      indices[k] = i;
      counts[k++] = latency[i];
    }
  }
  const { requests, failures, latencyCount, latencySumUs } = second;
  return { requests, failures, latencyCount, latencySumUs, indices, counts };
}

/** The last seconds of one scope, and a running sum per window length. */
export class ScopeWindow {
  private readonly ring: (ClosedSecond | undefined)[];
  /**
   * Seconds into the load at which each of the last seconds ended, one more than the ring holds:
   * a full window starts where the second before it ended.
   */
  private readonly endsAt: Float64Array;
  private readonly sums = new Map<number, SecondCounts>();
  /** Seconds closed so far. */
  closed = 0;

  constructor(
    lengths: readonly number[],
    private readonly withLatency: boolean,
  ) {
    const capacity = Math.max(...lengths);
    this.ring = new Array<ClosedSecond | undefined>(capacity);
    this.endsAt = new Float64Array(capacity + 1);
    for (const length of lengths) this.sums.set(length, new SecondCounts(withLatency));
  }

  /** Adds a closed second that ended `endedAt` seconds into the load; `second` is copied. */
  push(second: SecondCounts, endedAt: number): void {
    const capacity = this.ring.length;
    const closed = closeCounts(second);
    for (const [length, sum] of this.sums) {
      if (this.closed >= length) sum.addClosed(this.ring[(this.closed - length) % capacity]!, -1);
      sum.addClosed(closed, 1);
    }
    this.ring[this.closed % capacity] = closed;
    this.endsAt[this.closed % this.endsAt.length] = endedAt;
    this.closed++;
  }

  /** The last `length` seconds (fewer while the window fills) and the time they cover. */
  window(length: number): { counts: SecondCounts; seconds: number; full: boolean } {
    const counts = this.sums.get(length)!;
    const filled = Math.min(length, this.closed);
    return {
      counts,
      seconds: this.endedAt() - this.startOf(this.closed - filled),
      full: this.closed >= length,
    };
  }

  /** Seconds into the load at which the newest closed second ended. */
  endedAt(): number {
    return this.closed === 0 ? 0 : this.endsAt[(this.closed - 1) % this.endsAt.length];
  }

  /** When second k (0-based since the load started) began. */
  private startOf(k: number): number {
    return k <= 0 ? 0 : this.endsAt[(k - 1) % this.endsAt.length];
  }

  /**
   * The start of the first second in the last `length` whose own figure breaks the limit: when
   * the trouble began, as far as one second tells. The window's start when no single second does.
   */
  firstFailingSecond(t: LimitThreshold, length: number): number {
    const from = Math.max(0, this.closed - length);
    const second = new SecondCounts(this.withLatency);
    for (let k = from; k < this.closed; k++) {
      second.clear();
      second.addClosed(this.ring[k % this.ring.length]!, 1);
      const seconds = this.endsAt[k % this.endsAt.length] - this.startOf(k);
      const value = windowFigure(t.metric, second, seconds);
      if (value !== null && !holds(value, t.operator, t.limit)) return this.startOf(k);
    }
    return this.startOf(from);
  }

  get hasLatency(): boolean {
    return this.withLatency;
  }
}

/** The early abort a windowed `abort` line caused: in the result document, summary, JUnit and record. */
export interface EarlyAbort extends WindowBreach {
  line: number;
  /** The condition as written, without the endpoint part: "error_rate < 1% over 30s abort". */
  threshold: string;
  scope: "overall" | "endpoint";
  /** The endpoint whose window tripped (scope endpoint). */
  endpoint?: string;
  metric: ThresholdMetric;
  operator: ThresholdOperator;
  limit: number;
  unit: ThresholdUnit;
  windowSeconds: number;
  /** In a merge: the result file of the job that stopped early. */
  resultFile?: string;
}

const seconds1 = (s: number) => `${Number(s.toFixed(1))} s`;

/** "aborted early: eastus: error_rate < 1% over 3s abort breached over 3 s at 3.1 s (time to detect ...)". */
export function describeEarlyAbort(e: EarlyAbort): string {
  const where = e.scope === "overall" ? "overall" : e.endpoint;
  return (
    `aborted early: ${where}: ${e.threshold} breached (${e.metric} ${formatMetricValue(e.observed, e.unit)}, limit ${e.operator} ${formatMetricValue(e.limit, e.unit)}) ` +
    `over ${e.windowSeconds} s at ${seconds1(e.atSeconds)} (time to detect ${seconds1(e.atSeconds)} after load start, ` +
    `${seconds1(e.timeToDetectSeconds)} after the first failing second)${e.resultFile ? ` in ${e.resultFile}` : ""}`
  );
}

type WindowedThreshold = LimitThreshold & { window: ThresholdWindow };

export function isWindowed(t: StressThreshold): t is WindowedThreshold {
  return t.window !== undefined && t.metric !== "latency";
}

interface Watched {
  t: WindowedThreshold;
  scope: ScopeWindow;
  /** Endpoint name; unset: overall. */
  endpoint?: string;
  figures: WindowFigures;
}

/**
 * The windowed lines of a run and the windows they are judged on. The engine records into
 * `seconds` (one per endpoint, in plan order), calls `closeSecond` about once a second and
 * stops the load when it returns an abort; `finish` closes the last part-second.
 */
export class ThresholdWatch {
  /** The current second of each endpoint, in plan order: what the hot path records into. */
  readonly seconds: SecondCounts[];
  private readonly endpointWindows: (ScopeWindow | undefined)[];
  private readonly overallWindow: ScopeWindow | undefined;
  private readonly overallSecond: SecondCounts | undefined;
  private readonly watched: Watched[] = [];
  private elapsed = 0;

  /** undefined when no line has a window: nothing to record. */
  static create(
    thresholds: readonly StressThreshold[],
    endpoints: readonly ThresholdTarget[],
  ): ThresholdWatch | undefined {
    const windowed = thresholds.filter(isWindowed);
    return windowed.length === 0 ? undefined : new ThresholdWatch(windowed, endpoints);
  }

  private constructor(windowed: readonly WindowedThreshold[], endpoints: readonly ThresholdTarget[]) {
    // Which lines watch which scope: the same rule as evaluateThresholds.
    const overall: WindowedThreshold[] = [];
    const perEndpoint = endpoints.map((): WindowedThreshold[] => []);
    for (const t of windowed) {
      if (t.endpoint !== undefined) {
        endpoints.forEach((e, i) => {
          if (e.name === t.endpoint || e.url === t.endpoint || e.template === t.endpoint)
            perEndpoint[i].push(t);
        });
        continue;
      }
      overall.push(t);
      if (endpoints.length > 1 && t.metric !== "rps") perEndpoint.forEach((lines) => lines.push(t));
    }
    const windowFor = (lines: WindowedThreshold[]) =>
      lines.length === 0
        ? undefined
        : new ScopeWindow(
            [...new Set(lines.map((t) => t.window.seconds))],
            lines.some((t) => needsLatency(t.metric)),
          );
    this.overallWindow = windowFor(overall);
    this.endpointWindows = perEndpoint.map(windowFor);
    const anyLatency =
      this.overallWindow?.hasLatency === true || this.endpointWindows.some((w) => w?.hasLatency === true);
    this.seconds = endpoints.map(() => new SecondCounts(anyLatency));
    this.overallSecond = this.overallWindow ? new SecondCounts(anyLatency) : undefined;
    // In threshold order, overall first, then endpoints: the order the verdicts come in.
    for (const t of windowed) {
      if (this.overallWindow && overall.includes(t)) this.watch(t, this.overallWindow);
      perEndpoint.forEach((lines, i) => {
        if (lines.includes(t)) this.watch(t, this.endpointWindows[i]!, endpoints[i].name);
      });
    }
  }

  private watch(t: WindowedThreshold, scope: ScopeWindow, endpoint?: string): void {
    this.watched.push({
      t,
      scope,
      endpoint,
      figures: {
        seconds: t.window.seconds,
        abort: t.window.abort,
        windows: 0,
        observed: null,
        endedAtSeconds: null,
      },
    });
  }

  /**
   * Closes the current second (it lasted `durationSeconds`) and judges every windowed line.
   * Returns the first breach of an `abort` line: the engine stops the load.
   */
  closeSecond(durationSeconds: number): EarlyAbort | undefined {
    this.elapsed += durationSeconds;
    const at = this.elapsed;
    this.overallSecond?.clear();
    this.seconds.forEach((second, i) => {
      this.endpointWindows[i]?.push(second, at);
      this.overallSecond?.add(second, 1);
      second.clear();
    });
    if (this.overallSecond) this.overallWindow!.push(this.overallSecond, at);
    // Every line is judged (their figures go in the verdicts); the abort names an endpoint whose
    // window broke rather than the overall one it drags along, so the report says which region.
    let abort: EarlyAbort | undefined;
    for (const w of this.watched) {
      const breach = this.judge(w);
      if (!breach || !w.t.window.abort) continue;
      if (abort === undefined || (abort.scope === "overall" && w.endpoint !== undefined))
        abort = this.earlyAbort(w, breach);
    }
    return abort;
  }

  /** The end of the run: the last part-second is closed; lines with no full window get the part that ran. */
  finish(durationSeconds: number): void {
    if (durationSeconds > 0) this.closeSecond(durationSeconds);
    for (const w of this.watched) {
      if (w.figures.windows > 0 || w.figures.breach) continue;
      const { counts, seconds } = w.scope.window(w.t.window.seconds);
      w.figures.observed = windowFigure(w.t.metric, counts, seconds);
      w.figures.endedAtSeconds = round3(w.scope.endedAt());
      w.figures.partialSeconds = Number(seconds.toFixed(3));
    }
  }

  /** Every windowed line's figures by windowKey. */
  figures(): Map<string, WindowFigures> {
    return new Map(this.watched.map((w) => [windowKey(w.t, w.endpoint), { ...w.figures }]));
  }

  private judge(w: Watched): WindowBreach | undefined {
    const { t, scope, figures } = w;
    if (figures.breach) return undefined;
    const { counts, seconds, full } = scope.window(t.window.seconds);
    if (!full && !breachIsCertainEarly(t)) return undefined;
    const value = windowFigure(t.metric, counts, seconds);
    if (value === null) return undefined;
    if (full) figures.windows++;
    const breached = !holds(value, t.operator, t.limit);
    if (!breached) {
      if (!full) return undefined;
      const worse =
        t.operator === "<" || t.operator === "<="
          ? value > (figures.observed ?? -Infinity)
          : value < (figures.observed ?? Infinity);
      if (figures.observed === null || worse) {
        figures.observed = value;
        figures.endedAtSeconds = round3(scope.endedAt());
      }
      return undefined;
    }
    const atSeconds = scope.endedAt();
    const firstFailingSecond = scope.firstFailingSecond(t, t.window.seconds);
    const breach = {
      observed: Number(value.toFixed(4)),
      atSeconds: round3(atSeconds),
      firstFailingSecond: round3(firstFailingSecond),
      timeToDetectSeconds: round3(atSeconds - firstFailingSecond),
    };
    figures.observed = breach.observed;
    figures.endedAtSeconds = round3(atSeconds);
    figures.breach = breach;
    return breach;
  }

  private earlyAbort(w: Watched, breach: WindowBreach): EarlyAbort {
    const t = w.t;
    return {
      line: t.line,
      threshold: thresholdCondition(t),
      ...(w.endpoint === undefined
        ? { scope: "overall" as const }
        : { scope: "endpoint" as const, endpoint: w.endpoint }),
      metric: t.metric,
      operator: t.operator,
      limit: t.limit,
      unit: t.unit,
      windowSeconds: t.window.seconds,
      ...breach,
    };
  }
}

const round3 = (v: number) => Number(v.toFixed(3));
