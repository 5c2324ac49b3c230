/**
 * Two latency distributions compared whole: the Mann-Whitney U test, computed exactly from the
 * two HdrHistograms (same bucket layout, so a bucket is a group of ties) in one pass over their
 * buckets, however many requests they hold.
 *
 * Percentile limits look at one point of each distribution; this says whether a request of the
 * current run tends to take longer than one of the baseline, using every request. Two cautions,
 * which is why it only fails a run when a threshold asks for it, and then needs both:
 * - requests of one load test are not independent (queues, caches, GC pauses come in runs), so
 *   the p-value is optimistic; with thousands of requests even a trivial shift is "significant";
 * - hence the effect size, Cliff's delta, decides whether a difference matters.
 */
import type { LatencyHistogram } from "./histogram";

/** Below this many answered requests on either side the normal approximation does not hold. */
export const MIN_DISTRIBUTION_SAMPLES = 20;
/**
 * Below this |Cliff's delta| a difference is negligible (Romano et al., 2006: 0.147, 0.33 and
 * 0.474 separate negligible, small, medium and large).
 */
export const NEGLIGIBLE_EFFECT = 0.147;
/** One-sided significance level of `latency not slower than baseline` and of the reported verdict. */
export const DISTRIBUTION_ALPHA = 0.01;

export interface DistributionComparison {
  test: "mann-whitney-u";
  /**
   * The baseline's latencies were multiplied by this before comparing (a margin: 1.05 asks
   * whether the run is slower than 5% above the baseline); 1 compares them as they are.
   */
  baselineFactor: number;
  /** Answered requests in each histogram. */
  currentCount: number;
  baselineCount: number;
  /** false: too few samples for the test (the figures are descriptive only, p-values null). */
  comparable: boolean;
  /** Why it is not comparable, or a caution about the comparison. */
  note?: string;
  /** Pairs (current, baseline) in which the current request took longer; ties count half. */
  u: number;
  /** The chance that a current request takes longer than a baseline one, ties counting half: 0.5 = alike. */
  probabilitySlower: number;
  /** Cliff's delta, 2 × probabilitySlower − 1: +1 when every current request is slower, −1 faster. */
  cliffsDelta: number;
  effect: "negligible" | "small" | "medium" | "large";
  /** Standardised U (tie-corrected variance). */
  z: number | null;
  /** One-sided p-values that the current run is slower, and that it is faster (normal approximation, continuity corrected). */
  pSlower: number | null;
  pFaster: number | null;
  /** At DISTRIBUTION_ALPHA and NEGLIGIBLE_EFFECT: "same" covers both "no significant" and "negligible" differences. */
  verdict: "slower" | "faster" | "same";
}

/** Recorded buckets as [value, count], ascending. */
function buckets(histogram: LatencyHistogram): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const iterator = histogram.recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const v = iterator.next();
    out.push([v.valueIteratedTo, v.countAtValueIteratedTo]);
  }
  return out;
}

const ERFC_COEFFICIENTS = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];

/** Complementary error function (Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (let k = ERFC_COEFFICIENTS.length - 1; k >= 0; k--) poly = ERFC_COEFFICIENTS[k] + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** P(Z > z) for a standard normal Z. */
function upperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

function effectOf(delta: number): DistributionComparison["effect"] {
  const d = Math.abs(delta);
  if (d < NEGLIGIBLE_EFFECT) return "negligible";
  if (d < 0.33) return "small";
  if (d < 0.474) return "medium";
  return "large";
}

/**
 * Is the current run's latency distribution shifted against the baseline's (its latencies
 * times `baselineFactor`)? Scaling keeps the order, so the buckets still merge in one pass.
 */
export function compareDistributions(
  current: LatencyHistogram,
  baseline: LatencyHistogram,
  baselineFactor = 1,
): DistributionComparison {
  const a = buckets(current);
  const b = buckets(baseline).map(([value, count]): [number, number] => [value * baselineFactor, count]);
  const nA = a.reduce((n, [, c]) => n + c, 0);
  const nB = b.reduce((n, [, c]) => n + c, 0);
  let u = 0;
  let baselineBelow = 0;
  // Σ (t³ − t) over groups of equal values, for the tie-corrected variance.
  let ties = 0;
  for (let i = 0, j = 0; i < a.length || j < b.length;) {
    const value = Math.min(a[i]?.[0] ?? Infinity, b[j]?.[0] ?? Infinity);
    const countA = a[i]?.[0] === value ? a[i++][1] : 0;
    const countB = b[j]?.[0] === value ? b[j++][1] : 0;
    u += countA * (baselineBelow + countB / 2);
    baselineBelow += countB;
    const t = countA + countB;
    ties += t * t * t - t;
  }
  const pairs = nA * nB;
  const probabilitySlower = pairs > 0 ? u / pairs : 0.5;
  const cliffsDelta = 2 * probabilitySlower - 1;
  const described = {
    test: "mann-whitney-u" as const,
    baselineFactor,
    currentCount: nA,
    baselineCount: nB,
    u,
    probabilitySlower: Number(probabilitySlower.toFixed(6)),
    cliffsDelta: Number(cliffsDelta.toFixed(6)),
    effect: effectOf(cliffsDelta),
  };
  if (nA < MIN_DISTRIBUTION_SAMPLES || nB < MIN_DISTRIBUTION_SAMPLES) {
    return {
      ...described,
      comparable: false,
      note: `too few answered requests to test (${nA} now, ${nB} in the baseline; at least ${MIN_DISTRIBUTION_SAMPLES} each)`,
      z: null,
      pSlower: null,
      pFaster: null,
      verdict: "same",
    };
  }
  const n = nA + nB;
  const variance = (pairs / 12) * (n + 1 - ties / (n * (n - 1)));
  const sd = Math.sqrt(Math.max(0, variance));
  // Every request in one bucket: nothing to tell apart.
  const pSlower = sd > 0 ? upperTail((u - pairs / 2 - 0.5) / sd) : 1;
  const pFaster = sd > 0 ? 1 - upperTail((u - pairs / 2 + 0.5) / sd) : 1;
  const z = sd > 0 ? (u - pairs / 2) / sd : 0;
  const verdict =
    pSlower < DISTRIBUTION_ALPHA && cliffsDelta >= NEGLIGIBLE_EFFECT
      ? "slower"
      : pFaster < DISTRIBUTION_ALPHA && cliffsDelta <= -NEGLIGIBLE_EFFECT
        ? "faster"
        : "same";
  return {
    ...described,
    comparable: true,
    z: Number(z.toFixed(4)),
    pSlower: Math.min(1, Math.max(0, pSlower)),
    pFaster: Math.min(1, Math.max(0, pFaster)),
    verdict,
  };
}

export function formatPValue(p: number): string {
  return p < 0.0001 ? "p < 0.0001" : `p = ${Number(p.toPrecision(2))}`;
}

/** "δ +0.98 (large), P(slower) 0.99, one-sided p < 0.0001, 4,000 vs 3,900 requests" */
/** Cliff's delta with its sign: "+0.98", "−0.02", "0". */
export function formatDelta(delta: number, digits = 3): string {
  const text = String(Number(Math.abs(delta).toFixed(digits)));
  return `${delta > 0 ? "+" : delta < 0 ? "−" : ""}${text}`;
}

export function describeDistribution(d: DistributionComparison): string {
  const against = d.baselineFactor === 1 ? "" : ` against ${d.baselineFactor}x the baseline`;
  const counts = `${d.currentCount.toLocaleString("en-US")} vs ${d.baselineCount.toLocaleString("en-US")} requests${against}`;
  const head = `δ ${formatDelta(d.cliffsDelta)} (${d.effect}), P(slower) ${Number(d.probabilitySlower.toFixed(3))}`;
  if (!d.comparable || d.pSlower === null || d.pFaster === null)
    return `${head}, ${counts}; ${d.note ?? "not tested"}`;
  const p =
    d.cliffsDelta >= 0
      ? `one-sided ${formatPValue(d.pSlower)} (slower)`
      : `one-sided ${formatPValue(d.pFaster)} (faster)`;
  return `${head}, ${p}, ${counts}`;
}
