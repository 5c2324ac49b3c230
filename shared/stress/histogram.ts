/**
 * Latency histograms: HdrHistogram (hdr-histogram-js, plain JS, 32-bit counts) in microseconds.
 *
 * Chosen over node:perf_hooks' createHistogram, which records faster (≈30 ns vs ≈100 ns a value,
 * both far below the ≈20 µs a request costs) but cannot be serialised: results of parallel jobs
 * must merge exactly, so the bucket counts travel in the result file (HdrHistogram's compressed
 * V2 encoding, base64, readable by every HdrHistogram port).
 *
 * Only the JS histogram modules are loaded, not the package index, which also loads the
 * WebAssembly build: start-up is paid on every task run.
 */
import Int32Histogram from "hdr-histogram-js/dist/Int32Histogram";
import TypedArrayHistogram from "hdr-histogram-js/dist/TypedArrayHistogram";
import type { JsHistogram } from "hdr-histogram-js/dist/JsHistogram";
import { decompress, doDecode } from "hdr-histogram-js/dist/JsHistogram.encoding";
import ulp from "hdr-histogram-js/dist/ulp";

export type LatencyHistogram = JsHistogram;
type HistogramCounts = TypedArrayHistogram["_counts"];

/** One hour: any longer answer is recorded as one hour (timeouts end requests far sooner). */
export const HIGHEST_LATENCY_US = 3_600_000_000;
const SIGNIFICANT_DIGITS = 3;

/** Same layout everywhere so that adding two histograms is a plain sum of counts. */
export function createLatencyHistogram(): LatencyHistogram {
  return new Int32Histogram(1, HIGHEST_LATENCY_US, SIGNIFICANT_DIGITS);
}

/**
 * Counts latencies by bucket for a histogram, at a few nanoseconds a value instead of the
 * ≈150 ns of HdrHistogram's recordValue (a log2, two powers and a floor), and adds them to it
 * when asked: the histogram then holds exactly the counts recording each value would have
 * given. Its exact minimum and maximum become their buckets' lowest values, which the figures
 * never see: they read bucket bounds (see summarizeLatency).
 */
export class LatencyCounter {
  private readonly counts: Uint32Array;
  private readonly halfCountMagnitude: number;
  private pending = 0;
  /** The lowest and highest bucket counted into since the last flush. */
  private low = Number.MAX_SAFE_INTEGER;
  private high = -1;

  private readonly histogramCounts: HistogramCounts;

  constructor(readonly histogram: LatencyHistogram = createLatencyHistogram()) {
    if (histogram.unitMagnitude !== 0) throw new Error("latency histograms count from 1 us");
    if (!(histogram instanceof TypedArrayHistogram))
      throw new Error("latency histograms are typed-array ones");
    this.histogramCounts = histogram._counts;
    this.counts = new Uint32Array(histogram.countsArrayLength);
    this.halfCountMagnitude = histogram.subBucketHalfCountMagnitude;
  }

  /** A whole number of microseconds, 0 to HIGHEST_LATENCY_US. */
  record(us: number): void {
    if (us >= 0x80000000) {
      // Beyond 31 bits (35 minutes and more): rare enough for the histogram's own way.
      this.histogram.recordValue(us);
      return;
    }
    // HdrHistogram's index: bucket = floor(log2(us)) - log2(half a sub-bucket count), at
    // least 0; then the value's sub-bucket within it.
    const bucket = Math.max(31 - Math.clz32(us) - this.halfCountMagnitude, 0);
    const index = (bucket << this.halfCountMagnitude) + (us >>> bucket);
    this.counts[index]++;
    this.pending++;
    if (index < this.low) this.low = index;
    if (index > this.high) this.high = index;
  }

  /** The histogram with every latency counted so far in it. */
  flush(): LatencyHistogram {
    if (this.pending === 0) return this.histogram;
    const histogram = this.histogram;
    // Counts go straight into their buckets (recording each bucket's lowest value cost an index
    // computation a bucket: about half the CPU a one-endpoint run spent after its load). Then
    // the extremes and the total as that recording would have left them.
    const lowestNonZero = moveCounts(this.counts, this.histogramCounts, this.low, this.high);
    // A count of 0 moves only the minimum (above 0 µs) and the maximum.
    if (lowestNonZero >= 0)
      histogram.recordValueWithCount(lowestValueOfBucket(lowestNonZero, this.halfCountMagnitude), 0);
    histogram.recordValueWithCount(lowestValueOfBucket(this.high, this.halfCountMagnitude), 0);
    histogram.setTotalCount(histogram.totalCount + this.pending);
    this.pending = 0;
    this.low = Number.MAX_SAFE_INTEGER;
    this.high = -1;
    return histogram;
  }
}

/**
 * Adds counts[low..high] into the histogram's counts and zeroes them; returns the lowest index
 * above 0 that had a count, or -1. A leaf on two arrays: V8 optimises it on its own, cheaply
 * (with the histogram's methods inlined, optimising the flush took ~25 ms of compilation).
 */
function moveCounts(counts: Uint32Array, into: HistogramCounts, low: number, high: number): number {
  let lowestNonZero = -1;
  for (let i = low; i <= high; i++) {
    const count = counts[i];
    if (count === 0) continue;
    if (lowestNonZero < 0 && i > 0) lowestNonZero = i;
    const sum = into[i] + count;
    if (sum > 0x7fffffff) throw new Error(`latency bucket ${i} would count beyond 2^31 - 1`);
    into[i] = sum;
    counts[i] = 0;
  }
  return lowestNonZero;
}

export function encodeHistogram(histogram: LatencyHistogram): string {
  return histogram.encodeIntoCompressedBase64();
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  const histogram = doDecode(decompress(Buffer.from(encoded, "base64")), 32, HIGHEST_LATENCY_US);
  if (
    histogram.numberOfSignificantValueDigits !== SIGNIFICANT_DIGITS ||
    histogram.lowestDiscernibleValue !== 1
  ) {
    throw new Error(
      `histogram was recorded with ${histogram.numberOfSignificantValueDigits} significant digits from ${histogram.lowestDiscernibleValue} us; expected ${SIGNIFICANT_DIGITS} from 1 us`,
    );
  }
  return histogram;
}

/**
 * A sum of histograms, in a new one; the one histogram itself when there is only one (sums are
 * read, never recorded into: a copy would cost a walk over every bucket for nothing).
 */
export function sumHistograms(histograms: readonly LatencyHistogram[]): LatencyHistogram {
  if (histograms.length === 1) return histograms[0];
  const sum = createLatencyHistogram();
  for (const h of histograms) sum.add(h);
  return sum;
}

/** Latency figures in milliseconds, microsecond precision. */
export interface LatencySummary {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p99_9: number;
  max: number;
  stdev: number;
}

const us = (value: number) => Math.round(value) / 1000;

const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

/**
 * The count a percentile reaches, as HdrHistogram computes it: rounded up, without letting the
 * float error of `p / 100 * total` (at most one ulp) skip a count.
 */
function countAtPercentile(percentile: number, totalCount: number): number {
  const fp = (Math.min(percentile, 100) / 100) * totalCount;
  return Math.max(Math.ceil(fp - ulp(fp)), 1);
}

/*
 * HdrHistogram's bucket arithmetic for a histogram counting from 1 (unit magnitude 0): index i
 * is sub-bucket i mod half-count (plus half-count) of bucket i / half-count - 1, or the value i
 * itself in the first buckets. The same numbers as its valueFromIndex, lowestEquivalentValue and
 * sizeOfEquivalentValueRange, without a Math.pow and a log2 each.
 */
function lowestValueOfBucket(index: number, halfCountMagnitude: number): number {
  const bucket = (index >>> halfCountMagnitude) - 1;
  if (bucket < 0) return index;
  return ((index & ((1 << halfCountMagnitude) - 1)) + (1 << halfCountMagnitude)) * 2 ** bucket;
}

function sizeOfBucket(index: number, halfCountMagnitude: number): number {
  const bucket = (index >>> halfCountMagnitude) - 1;
  return bucket < 0 ? 1 : 2 ** bucket;
}

/**
 * The histogram's bucket counts, indexed as getCountAtIndex is. Every histogram here is one of
 * hdr-histogram-js's typed-array ones (created here, or decoded as 32-bit); others are copied.
 */
function countsOf(histogram: LatencyHistogram): ArrayLike<number> {
  if (histogram instanceof TypedArrayHistogram) return histogram._counts;
  return Array.from({ length: histogram.countsArrayLength }, (_, i) => histogram.getCountAtIndex(i));
}

/**
 * The walks of summarizeLatency over buckets first..last: percentiles (the highest value of the
 * bucket each target count is reached in, into `atPercentile`), then the mean and the sum of
 * squared deviations of the buckets' median values. A leaf on a plain array, apart from the
 * histogram's methods: V8 optimises this loop on its own (its loops make it hot in a run of
 * 20 endpoints), and optimising it inside summarizeLatency, with the histogram methods it
 * calls inlined, took ~30 ms of compilation, twice, more CPU than the walks themselves.
 */
function walkBuckets(
  counts: ArrayLike<number>,
  first: number,
  last: number,
  magnitude: number,
  total: number,
  targets: readonly number[],
  atPercentile: number[],
): [mean: number, squares: number] {
  let reached = 0;
  let sum = 0;
  let t = 0;
  for (let i = first; i <= last; i++) {
    const count = counts[i];
    if (count === 0) continue;
    const value = lowestValueOfBucket(i, magnitude);
    const size = sizeOfBucket(i, magnitude);
    reached += count;
    while (t < targets.length && reached >= targets[t]) atPercentile[t++] = value + size - 1;
    sum += (value + Math.floor(size / 2)) * count;
  }
  const mean = sum / total;
  let squares = 0;
  for (let i = first; i <= last; i++) {
    const count = counts[i];
    if (count === 0) continue;
    const median = lowestValueOfBucket(i, magnitude) + Math.floor(sizeOfBucket(i, magnitude) / 2);
    squares += (median - mean) * (median - mean) * count;
  }
  return [mean, squares];
}

/**
 * Figures from the histogram alone (not from running sums), so a merged histogram gives the
 * very figures one combined run would have. null when nothing was recorded.
 *
 * The same figures as the histogram's own getValueAtPercentile, mean and stdDeviation, in one
 * walk over the buckets instead of one per figure: these walks were most of what a run cost
 * besides its requests.
 */
export function summarizeLatency(histogram: LatencyHistogram): LatencySummary | null {
  const total = histogram.totalCount;
  if (total === 0) return null;
  const targets = PERCENTILES.map((p) => countAtPercentile(p, total));
  // Only the buckets from the lowest to the highest value recorded: latencies cluster.
  const last = Math.min(histogram.countsArrayIndex(histogram.maxValue), histogram.countsArrayLength - 1);
  const first =
    histogram.getCountAtIndex(0) > 0 || histogram.minNonZeroValue > histogram.maxValue
      ? 0
      : Math.min(histogram.countsArrayIndex(histogram.minNonZeroValue), last);
  const atPercentile: number[] = [];
  const [mean, squares] = walkBuckets(
    countsOf(histogram),
    first,
    last,
    histogram.subBucketHalfCountMagnitude,
    total,
    targets,
    atPercentile,
  );
  const [p50, p90, p95, p99, p99_9] = atPercentile;
  return {
    // Bucket bounds rather than the exact extremes a live histogram remembers: a decoded
    // (merged) histogram only has buckets, and both must give the same figures.
    min:
      histogram.getCountAtIndex(0) > 0 ? 0 : us(histogram.lowestEquivalentValue(histogram.minNonZeroValue)),
    mean: us(mean),
    p50: us(p50),
    p90: us(p90),
    p95: us(p95),
    p99: us(p99),
    p99_9: us(p99_9),
    max: us(histogram.highestEquivalentValue(histogram.maxValue)),
    stdev: us(Math.sqrt(squares / total)),
  };
}

/**
 * Counts per band: band i holds values in [edges[i], edges[i + 1]) microseconds, by each
 * bucket's highest equivalent value. One pass over the recorded buckets.
 */
export function countInBands(histogram: LatencyHistogram, edgesUs: readonly number[]): number[] {
  const counts = new Array<number>(Math.max(0, edgesUs.length - 1)).fill(0);
  const iterator = histogram.recordedValuesIterator;
  iterator.reset();
  let band = 0;
  while (iterator.hasNext()) {
    const v = iterator.next();
    while (band < counts.length - 1 && v.valueIteratedTo >= edgesUs[band + 1]) band++;
    counts[band] += v.countAtValueIteratedTo;
  }
  return counts;
}
