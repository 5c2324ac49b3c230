/**
 * Judges a stage on production requests: per region, the new version against a baseline (the
 * same region on the previous version before the rollout, or the regions still on the old
 * version in the same window).
 *
 * - Latency: one-sided Mann-Whitney U (new slower?) with the Hodges-Lehmann shift and its
 *   interval as the effect. A regression counts only when it is significant AND larger than the
 *   tolerance: the shift above (`latencyTolerance` - 1) times the baseline's median (1.1: the
 *   typical request more than 10% slower). The shift is far steadier than a p95 of a few hundred
 *   requests; a p95 rule is a threshold line (`p95 < 1.1x baseline`).
 * - Errors: one-sided two-proportion z test (new fails more?); a regression when significant AND
 *   the error rate is more than `errorRateTolerance` percentage points above the baseline's.
 * - Each of the two tests runs at alpha / 2 (Bonferroni), so a region on the same service as its
 *   baseline is failed at most alpha of the time.
 * - Absolute limits in the threshold language of StressTestStage (`p95 < 800ms`,
 *   `error_rate < 1%`, `p95 < 1.2x baseline`, `eastus: p99 < 2s`).
 * - Too few requests on either side is Inconclusive, never Pass.
 *
 * Rows are streamed in: each side of each region keeps counts, a latency histogram weighted by
 * ItemCount, and a weighted reservoir sample (at most `reservoirSize` latencies) for the rank
 * test, so memory does not grow with the number of rows. The reservoir is drawn with weights
 * (Efraimidis-Spirakis), so a row standing for 10 sampled requests is 10 times as likely to be
 * in it: sampling is honoured in the test as in the percentiles.
 */
import { seededRandom } from "../random";
import {
  createLatencyHistogram,
  HIGHEST_LATENCY_US,
  summarizeLatency,
  type LatencyHistogram,
} from "../stress/histogram";
import {
  evaluateThresholds,
  formatMetricValue,
  thresholdCondition,
  type StressThreshold,
  type ThresholdObservables,
  type ThresholdVerdict,
} from "../stress/thresholds";
import type { RequestRow } from "./log-analytics";
import { pText } from "./p-text";
import type { BaselineKind } from "./settings";
import { hodgesLehmannShift, mannWhitneyU, twoProportionZTest } from "./statistics";

export type TelemetryVerdictKind = "Pass" | "Fail" | "Inconclusive";

export interface JudgeSettings {
  /** Significance level of both tests (default 0.05). */
  alpha: number;
  /** A latency regression needs the new p95 above this times the baseline's (1.1 = 10% tolerated). */
  latencyTolerance: number;
  /** An error regression needs the new error rate more than this many percentage points above the baseline's. */
  errorRateTolerance: number;
  /** Fewest request rows on each side for a verdict. */
  minSamples: number;
  /** Absolute limits (and limits relative to the baseline) in the threshold language. */
  thresholds: readonly StressThreshold[];
  /** The window's length, for `rps` limits. */
  windowSeconds: number;
  /** Latencies kept per side and region for the rank test (default 10,000). */
  reservoirSize?: number;
  /** Seed of the reservoir's draws: the same rows give the same verdict. */
  seed?: number;
}

/** Counts, a weighted histogram and a weighted reservoir of one side of one region. */
export class RequestSample {
  rows = 0;
  requests = 0;
  failedRequests = 0;
  readonly histogram: LatencyHistogram = createLatencyHistogram();
  private readonly keys: Float64Array;
  private readonly values: Float64Array;
  private size = 0;

  constructor(
    private readonly capacity: number,
    private readonly random: () => number,
  ) {
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  add(row: RequestRow): void {
    const weight = row.itemCount;
    this.rows++;
    this.requests += weight;
    if (!row.success) this.failedRequests += weight;
    const us = Math.min(HIGHEST_LATENCY_US, Math.max(1, Math.round(row.durationMs * 1000)));
    this.histogram.recordValueWithCount(us, Math.max(1, Math.round(weight)));
    // Efraimidis-Spirakis A-Res: key u^(1/w), kept as log(u)/w; the largest keys stay.
    const key = Math.log(this.random() || Number.MIN_VALUE) / weight;
    if (this.size < this.capacity) {
      this.keys[this.size] = key;
      this.values[this.size] = row.durationMs;
      this.siftUp(this.size++);
    } else if (key > this.keys[0]) {
      this.keys[0] = key;
      this.values[0] = row.durationMs;
      this.siftDown(0);
    }
  }

  /** The reservoir's latencies (ms). */
  latencies(): Float64Array {
    return this.values.slice(0, this.size);
  }

  errorRatePercent(): number | null {
    return this.requests > 0 ? (100 * this.failedRequests) / this.requests : null;
  }

  observables(windowSeconds: number): ThresholdObservables {
    const s = summarizeLatency(this.histogram);
    const errorRate = this.errorRatePercent();
    return {
      errorRatePercent: errorRate,
      successRatePercent: errorRate === null ? null : 100 - errorRate,
      requestsPerSecond: windowSeconds > 0 ? this.requests / windowSeconds : 0,
      latencyMs: s && {
        min: s.min,
        mean: s.mean,
        p50: s.p50,
        p90: s.p90,
        p95: s.p95,
        p99: s.p99,
        p99_9: s.p99_9,
        max: s.max,
      },
    };
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.keys[parent] <= this.keys[i]) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < this.size && this.keys[l] < this.keys[smallest]) smallest = l;
      if (r < this.size && this.keys[r] < this.keys[smallest]) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const k = this.keys[a];
    this.keys[a] = this.keys[b];
    this.keys[b] = k;
    const v = this.values[a];
    this.values[a] = this.values[b];
    this.values[b] = v;
  }
}

export interface SampleCounts {
  /** Rows the query answered (each an observed request). */
  rows: number;
  /** Requests they stand for (the sum of ItemCount). */
  requests: number;
}

export interface LatencyComparison {
  test: "Mann-Whitney U, one-sided (new slower)";
  u: number;
  pValue: number;
  method: "exact" | "asymptotic";
  /** Latencies the test ranked on each side (the reservoirs). */
  ranked: { new: number; baseline: number };
  /** Hodges-Lehmann shift of the new latencies over the baseline's (ms), with its interval. */
  shiftMs: { estimate: number; lower: number; upper: number; confidence: number };
  medianMs: { new: number; baseline: number };
  p95Ms: { new: number; baseline: number; ratio: number };
  tolerance: number;
  /** The largest shift tolerated: (tolerance - 1) x the baseline's median. */
  allowedShiftMs: number;
  /** The level the p-value is held to (alpha / 2: two tests a region). */
  alpha: number;
  regression: boolean;
}

export interface ErrorComparison {
  test: "two-proportion z test, one-sided (new fails more)";
  z: number;
  pValue: number;
  errorRatePercent: { new: number; baseline: number };
  /** New minus baseline, percentage points, with its interval. */
  differencePercent: { estimate: number; lower: number; upper: number };
  tolerancePercent: number;
  /** The level the p-value is held to (alpha / 2: two tests a region). */
  alpha: number;
  regression: boolean;
}

export interface RegionVerdict {
  region: string;
  verdict: TelemetryVerdictKind;
  /** One line: what decided it. */
  reason: string;
  samples: { new: SampleCounts; baseline: SampleCounts };
  latency?: LatencyComparison;
  errors?: ErrorComparison;
  thresholds: ThresholdVerdict[];
}

export interface TelemetryVerdict {
  verdict: TelemetryVerdictKind;
  regions: RegionVerdict[];
  /** One line for logs, comments and cards. */
  summary: string;
}

export class TelemetryJudge {
  private readonly candidate = new Map<string, RequestSample>();
  private readonly baseline = new Map<string, RequestSample>();
  private readonly random: () => number;
  private readonly settings: Required<JudgeSettings>;

  constructor(
    settings: JudgeSettings,
    readonly baselineKind: BaselineKind,
  ) {
    this.settings = { reservoirSize: 10_000, seed: 1, ...settings };
    this.random = seededRandom(this.settings.seed);
  }

  /** A request of the new version. */
  addNew(row: RequestRow): void {
    this.sampleOf(this.candidate, row.region.toLowerCase()).add(row);
  }

  /** A request of the baseline: kept per region, or pooled when other regions are the baseline. */
  addBaseline(row: RequestRow): void {
    const key = this.baselineKind === "previousVersion" ? row.region.toLowerCase() : "*";
    this.sampleOf(this.baseline, key).add(row);
  }

  verdict(regions: readonly string[]): TelemetryVerdict {
    const verdicts = regions.map((r) => this.judgeRegion(r));
    const verdict: TelemetryVerdictKind = verdicts.some((v) => v.verdict === "Fail")
      ? "Fail"
      : verdicts.length === 0 || verdicts.some((v) => v.verdict === "Inconclusive")
        ? "Inconclusive"
        : "Pass";
    const deciding = verdicts.filter((v) => v.verdict === verdict);
    const summary =
      verdicts.length === 0
        ? "Inconclusive: no region to judge"
        : `${verdict}: ${deciding.map((v) => `${v.region}: ${v.reason}`).join("; ")}`;
    return { verdict, regions: verdicts, summary };
  }

  private sampleOf(map: Map<string, RequestSample>, key: string): RequestSample {
    let s = map.get(key);
    if (!s) {
      s = new RequestSample(this.settings.reservoirSize, this.random);
      map.set(key, s);
    }
    return s;
  }

  private judgeRegion(region: string): RegionVerdict {
    const st = this.settings;
    const empty = new RequestSample(1, this.random);
    const fresh = this.candidate.get(region.toLowerCase()) ?? empty;
    const base =
      this.baseline.get(this.baselineKind === "previousVersion" ? region.toLowerCase() : "*") ?? empty;
    const samples = {
      new: { rows: fresh.rows, requests: fresh.requests },
      baseline: { rows: base.rows, requests: base.requests },
    };
    const baselineName =
      this.baselineKind === "previousVersion" ? "the previous version" : "the regions on the old version";
    if (fresh.rows < st.minSamples)
      return {
        region,
        verdict: "Inconclusive",
        reason: `too few requests of the new version (${fresh.rows}, at least ${st.minSamples} needed)`,
        samples,
        thresholds: [],
      };
    const baseEnough = base.rows >= st.minSamples;
    const thresholds = this.thresholdsFor(region, fresh, baseEnough ? base : undefined);
    const broken = thresholds.filter((t) => !t.passed);
    if (!baseEnough) {
      return {
        region,
        verdict: broken.length ? "Fail" : "Inconclusive",
        reason: broken.length
          ? broken.map((t) => t.message).join("; ")
          : `too few requests of ${baselineName} to compare with (${base.rows}, at least ${st.minSamples} needed)`,
        samples,
        thresholds,
      };
    }
    const latency = this.compareLatency(fresh, base);
    const errors = this.compareErrors(fresh, base);
    const findings: string[] = [];
    if (latency.regression)
      findings.push(
        `slower than ${baselineName}: shift +${ms(latency.shiftMs.estimate)} [${ms(latency.shiftMs.lower)}, ${ms(latency.shiftMs.upper)}] on a median of ${ms(latency.medianMs.baseline)} (tolerance ${st.latencyTolerance}x: +${ms(latency.allowedShiftMs)}), Mann-Whitney p ${pText(latency.pValue)}; p95 ${ms(latency.p95Ms.new)} vs ${ms(latency.p95Ms.baseline)} (${latency.p95Ms.ratio.toFixed(2)}x)`,
      );
    if (errors.regression)
      findings.push(
        `more errors than ${baselineName}: ${pct(errors.errorRatePercent.new)} vs ${pct(errors.errorRatePercent.baseline)} (tolerance +${errors.tolerancePercent} points), z test p ${pText(errors.pValue)}`,
      );
    findings.push(...broken.map((t) => t.message));
    if (findings.length)
      return { region, verdict: "Fail", reason: findings.join("; "), samples, latency, errors, thresholds };
    return {
      region,
      verdict: "Pass",
      reason: `as ${baselineName}: p95 ${ms(latency.p95Ms.new)} vs ${ms(latency.p95Ms.baseline)} (Mann-Whitney p ${pText(latency.pValue)}), errors ${pct(errors.errorRatePercent.new)} vs ${pct(errors.errorRatePercent.baseline)} (p ${pText(errors.pValue)})`,
      samples,
      latency,
      errors,
      thresholds,
    };
  }

  private compareLatency(fresh: RequestSample, base: RequestSample): LatencyComparison {
    const st = this.settings;
    const x = fresh.latencies();
    const y = base.latencies();
    const mw = mannWhitneyU(x, y, "greater");
    const hl = hodgesLehmannShift(y, x, 1 - st.alpha);
    const newMs = fresh.observables(st.windowSeconds).latencyMs!;
    const baseMs = base.observables(st.windowSeconds).latencyMs!;
    const ratio = baseMs.p95 > 0 ? newMs.p95 / baseMs.p95 : newMs.p95 > 0 ? Infinity : 1;
    const allowedShift = (st.latencyTolerance - 1) * baseMs.p50;
    return {
      test: "Mann-Whitney U, one-sided (new slower)",
      u: mw.u,
      pValue: mw.pValue,
      method: mw.method,
      ranked: { new: x.length, baseline: y.length },
      shiftMs: { estimate: hl.shift, lower: hl.lower, upper: hl.upper, confidence: hl.confidence },
      medianMs: { new: newMs.p50, baseline: baseMs.p50 },
      p95Ms: { new: newMs.p95, baseline: baseMs.p95, ratio },
      tolerance: st.latencyTolerance,
      allowedShiftMs: allowedShift,
      alpha: st.alpha / 2,
      regression: mw.pValue < st.alpha / 2 && hl.shift > allowedShift,
    };
  }

  private compareErrors(fresh: RequestSample, base: RequestSample): ErrorComparison {
    const st = this.settings;
    // The rates weigh rows by ItemCount; the test's sample size is the rows observed, not the
    // requests they stand for (sampling does not add evidence).
    const rateNew = fresh.failedRequests / fresh.requests;
    const rateBase = base.failedRequests / base.requests;
    const t = twoProportionZTest(
      rateNew * fresh.rows,
      fresh.rows,
      rateBase * base.rows,
      base.rows,
      "greater",
      1 - st.alpha,
    );
    const difference = 100 * t.difference;
    return {
      test: "two-proportion z test, one-sided (new fails more)",
      z: t.z,
      pValue: t.pValue,
      errorRatePercent: { new: 100 * rateNew, baseline: 100 * rateBase },
      differencePercent: { estimate: difference, lower: 100 * t.lower, upper: 100 * t.upper },
      tolerancePercent: st.errorRateTolerance,
      alpha: st.alpha / 2,
      regression: t.pValue < st.alpha / 2 && difference > st.errorRateTolerance,
    };
  }

  /** The lines that apply to the region (unscoped, or scoped to it), checked on its new requests. */
  private thresholdsFor(
    region: string,
    fresh: RequestSample,
    base: RequestSample | undefined,
  ): ThresholdVerdict[] {
    const st = this.settings;
    const lines = st.thresholds
      .filter((t) => t.endpoint === undefined || t.endpoint.toLowerCase() === region.toLowerCase())
      // Relative limits need a baseline with enough requests; without one they wait (Inconclusive).
      .filter((t) => base !== undefined || !("baseline" in t && t.baseline))
      .map((t) => ({ ...t, text: thresholdCondition(t), endpoint: undefined }));
    if (lines.length === 0) return [];
    const baseObserved = base?.observables(st.windowSeconds);
    return evaluateThresholds(
      lines,
      fresh.observables(st.windowSeconds),
      [],
      baseObserved
        ? { overall: { observed: baseObserved, compareLatency: () => null }, endpoints: new Map() }
        : undefined,
    ).map((v) => ({ ...v, scope: "endpoint" as const, endpoint: region }));
  }
}

const ms = (v: number) => formatMetricValue(v, "ms");
const pct = (v: number) => formatMetricValue(v, "%");
