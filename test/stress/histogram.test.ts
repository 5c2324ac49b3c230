import assert from "node:assert/strict";
import { createLatencyHistogram, summarizeLatency } from "../../shared/stress/histogram";

describe("latency summary", () => {
  it("gives the histogram's own percentiles, mean and deviation, from one walk over the buckets", () => {
    // Deterministic spreads: one value, a narrow band, and wide long-tailed ones.
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const us = (value: number) => Math.round(value) / 1000;
    for (let run = 0; run < 60; run++) {
      const histogram = createLatencyHistogram();
      const count = run % 4 === 0 ? 1 + (run % 5) : 1 + Math.floor(random() * 20_000);
      const spread = 3 + (run % 8) * 2;
      for (let i = 0; i < count; i++) histogram.recordValue(Math.floor(Math.exp(random() * spread)));
      assert.deepEqual(summarizeLatency(histogram), {
        min: us(histogram.lowestEquivalentValue(histogram.minNonZeroValue)),
        mean: us(histogram.mean),
        p50: us(histogram.getValueAtPercentile(50)),
        p90: us(histogram.getValueAtPercentile(90)),
        p95: us(histogram.getValueAtPercentile(95)),
        p99: us(histogram.getValueAtPercentile(99)),
        p99_9: us(histogram.getValueAtPercentile(99.9)),
        max: us(histogram.highestEquivalentValue(histogram.maxValue)),
        stdev: us(histogram.stdDeviation),
      });
    }
    assert.equal(summarizeLatency(createLatencyHistogram()), null);
  });
});
