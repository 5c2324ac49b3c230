/**
 * The statistics a telemetry gate decides with: a Mann-Whitney U test on latencies (as Kayenta
 * does), a Hodges-Lehmann shift estimate with its confidence interval (the effect size), and a
 * two-proportion z test on error rates. Plain functions over numbers; tested against SciPy.
 */

export type Alternative = "two-sided" | "greater" | "less";

export interface MannWhitneyResult {
  /** U of the first sample: pairs where x beats y, ties counting one half (SciPy's `statistic`). */
  u: number;
  /** The p-value under the chosen alternative. */
  pValue: number;
  /** "exact" (no ties, a sample of 8 or fewer, small enough to count) or "asymptotic". */
  method: "exact" | "asymptotic";
  /** The normal deviate of the asymptotic method (continuity and tie corrected); undefined when exact. */
  z?: number;
  n1: number;
  n2: number;
}

/**
 * Mann-Whitney U test of x against y. `greater`: x tends to be larger than y. Chooses the method as
 * SciPy's `method="auto"` does (exact when there are no ties and one sample has 8 or fewer values),
 * except that the exact distribution is counted only while its number of arrangements fits a double
 * exactly (larger samples use the normal approximation, with tie and continuity corrections).
 */
export function mannWhitneyU(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  alternative: Alternative = "two-sided",
  method: "auto" | "exact" | "asymptotic" = "auto",
): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("Mann-Whitney U needs at least one value in each sample");
  const { rankSumX, tieTerm } = rankSums(x, y);
  const u1 = rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const exactPossible = tieTerm === 0 && exactCountFits(n1, n2);
  const useExact =
    method === "exact" ? exactPossible : method === "auto" && exactPossible && Math.min(n1, n2) <= 8;
  if (method === "exact" && !exactPossible) {
    throw new RangeError(
      "the exact Mann-Whitney distribution needs samples without ties and of countable size",
    );
  }
  if (useExact) {
    const dist = exactUDistribution(n1, n2);
    const sf = (u: number) => upperTail(dist, u); // P(U >= u)
    let p: number;
    if (alternative === "greater") p = sf(u1);
    else if (alternative === "less") p = sf(u2);
    else p = Math.min(1, 2 * sf(Math.max(u1, u2)));
    return { u: u1, pValue: p, method: "exact", n1, n2 };
  }
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const u = alternative === "greater" ? u1 : alternative === "less" ? u2 : Math.max(u1, u2);
  const z = sigma === 0 ? 0 : (u - mu - 0.5) / sigma;
  const p = sigma === 0 ? 1 : alternative === "two-sided" ? Math.min(1, 2 * normalSf(z)) : normalSf(z);
  return { u: u1, pValue: p, method: "asymptotic", z, n1, n2 };
}

/** Sum of x's ranks in the pooled sample (mid-ranks for ties) and sum(t^3 - t) over tie groups. */
function rankSums(x: ArrayLike<number>, y: ArrayLike<number>): { rankSumX: number; tieTerm: number } {
  const n1 = x.length;
  const n = n1 + y.length;
  const values = new Float64Array(n);
  for (let i = 0; i < n1; i++) values[i] = x[i];
  for (let j = 0; j < y.length; j++) values[n1 + j] = y[j];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a] - values[b]);
  let rankSumX = 0;
  let tieTerm = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const t = end - start;
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (order[k] < n1) rankSumX += midRank;
    if (t > 1) tieTerm += t * t * t - t;
    start = end;
  }
  return { rankSumX, tieTerm };
}

/** True when C(n1+n2, min) is below 2^53, so the exact counts stay exact integers in doubles. */
function exactCountFits(n1: number, n2: number): boolean {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  let c = 1;
  for (let i = 1; i <= m; i++) {
    c = (c * (n + i)) / i;
    if (c > 2 ** 52) return false;
  }
  return true;
}

/**
 * Counts of U = 0..n1*n2 over all arrangements: the coefficients of the Gaussian binomial
 * [n1+n2 choose m]_q, built as prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). After each step the
 * polynomial is [n+i choose i]_q, whose coefficients are integers no larger than C(n+i, i).
 */
function exactUDistribution(n1: number, n2: number): Float64Array {
  const m = Math.min(n1, n2);
  const n = Math.max(n1, n2);
  const c = new Float64Array(m * n + 1);
  c[0] = 1;
  let degree = 0;
  for (let i = 1; i <= m; i++) {
    const k = n + i;
    degree += n;
    for (let d = degree; d >= k; d--) c[d] -= c[d - k]; // multiply by (1 - q^k)
    for (let d = i; d <= degree; d++) c[d] += c[d - i]; // divide by (1 - q^i)
  }
  return c;
}

function upperTail(counts: Float64Array, u: number): number {
  let total = 0;
  let tail = 0;
  const from = Math.ceil(u - 1e-9);
  for (let d = 0; d < counts.length; d++) {
    total += counts[d];
    if (d >= from) tail += counts[d];
  }
  return tail / total;
}

export interface ShiftEstimate {
  /** Hodges-Lehmann estimate of y - x: the median of all pairwise differences. */
  shift: number;
  /** Confidence interval of the shift (Moses' distribution-free interval from the U distribution). */
  lower: number;
  upper: number;
  confidence: number;
}

/**
 * Hodges-Lehmann shift of `y` over `x` (positive: y is larger) with a `confidence` interval.
 * The interval's bounds are the C-th smallest and C-th largest pairwise differences, with
 * C = floor(n1*n2/2 - z * sqrt(n1*n2*(n1+n2+1)/12)) (normal approximation of U's quantile).
 * Order statistics of the n1*n2 differences are found by counting, never by listing them,
 * so memory stays linear in the sample sizes.
 */
export function hodgesLehmannShift(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  confidence = 0.95,
): ShiftEstimate {
  if (x.length === 0 || y.length === 0) throw new RangeError("a shift estimate needs values in both samples");
  if (!(confidence > 0 && confidence < 1)) throw new RangeError("confidence must be between 0 and 1");
  const xs = Float64Array.from(x).sort();
  const ys = Float64Array.from(y).sort();
  const total = xs.length * ys.length;
  const kth = (k: number) => kthDifference(xs, ys, k);
  const shift = total % 2 === 1 ? kth((total + 1) / 2) : (kth(total / 2) + kth(total / 2 + 1)) / 2;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const c = Math.max(
    1,
    Math.floor(total / 2 - z * Math.sqrt((xs.length * ys.length * (xs.length + ys.length + 1)) / 12)),
  );
  return { shift, lower: kth(c), upper: kth(total + 1 - c), confidence };
}

/** Number of pairs with ys[j] - xs[i] <= d (both sorted ascending). */
function countAtMost(xs: Float64Array, ys: Float64Array, d: number): number {
  // For each y (ascending), the x's with x >= y - d; y - d rises, so the first such index only moves on.
  let count = 0;
  let i = 0;
  for (let j = 0; j < ys.length; j++) {
    const bound = ys[j] - d;
    while (i < xs.length && xs[i] < bound) i++;
    count += xs.length - i;
  }
  return count;
}

/** The largest difference ys[j] - xs[i] that is <= d, or -Infinity when none is. */
function largestAtMost(xs: Float64Array, ys: Float64Array, d: number): number {
  let best = -Infinity;
  let i = 0;
  for (let j = 0; j < ys.length; j++) {
    const bound = ys[j] - d;
    while (i < xs.length && xs[i] < bound) i++;
    if (i < xs.length) best = Math.max(best, ys[j] - xs[i]);
  }
  return best;
}

/** The k-th smallest (1-based) of all differences ys[j] - xs[i], by bisection on the value. */
function kthDifference(xs: Float64Array, ys: Float64Array, k: number): number {
  let lo = ys[0] - xs[xs.length - 1]; // the smallest difference: count(lo) >= 1
  let hi = ys[ys.length - 1] - xs[0]; // the largest: count(hi) = all
  if (countAtMost(xs, ys, lo) >= k) return lo;
  // Invariant: count(lo) < k <= count(hi).
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (countAtMost(xs, ys, mid) >= k) hi = mid;
    else lo = mid;
  }
  return largestAtMost(xs, ys, hi);
}

export interface TwoProportionResult {
  /** Observed proportions (errors / total) of each side. */
  p1: number;
  p2: number;
  /** Pooled z statistic of p1 - p2. */
  z: number;
  pValue: number;
  /** Difference p1 - p2 with an unpooled (Wald) confidence interval. */
  difference: number;
  lower: number;
  upper: number;
}

/**
 * Two-proportion z test (pooled variance) of x1/n1 against x2/n2; `greater`: the first proportion
 * is larger. Counts may be fractional (sampled telemetry weighs each row by its ItemCount).
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  alternative: Alternative = "two-sided",
  confidence = 0.95,
): TwoProportionResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError("a two-proportion test needs a positive count on each side");
  if (x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2)
    throw new RangeError("a proportion's count must be between 0 and its total");
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = se === 0 ? 0 : (p1 - p2) / se;
  const pValue =
    se === 0
      ? 1
      : alternative === "greater"
        ? normalSf(z)
        : alternative === "less"
          ? normalCdf(z)
          : Math.min(1, 2 * normalSf(Math.abs(z)));
  const zc = normalQuantile(1 - (1 - confidence) / 2);
  const seWald = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const difference = p1 - p2;
  return { p1, p2, z, pValue, difference, lower: difference - zc * seWald, upper: difference + zc * seWald };
}

// ---- the normal distribution, to double precision ----

const SQRT2 = Math.SQRT2;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erfc(x) for x >= 0: a series for small x, a continued fraction (modified Lentz) beyond. */
function erfcNonNegative(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n (2x^2)^n x / (1*3*...*(2n+1)): every term positive.
    let term = x;
    let sum = x;
    const x2 = 2 * x * x;
    for (let n = 1; n < 200; n++) {
      term *= x2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** P(Z > z) for a standard normal Z. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const t = z / SQRT2;
  return t >= 0 ? erfcNonNegative(t) / 2 : 1 - erfcNonNegative(-t) / 2;
}

/** P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/** The standard normal quantile: Acklam's approximation refined by one Halley step. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    throw new RangeError("a quantile's probability must be between 0 and 1");
  }
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}
