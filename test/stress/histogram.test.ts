import assert from "node:assert/strict";
import {
  HIGHEST_LATENCY_US,
  LatencyCounter,
  createLatencyHistogram,
  encodeHistogram,
  summarizeLatency,
} from "../../shared/stress/histogram";

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

describe("latency counter", () => {
  it("leaves the histogram with exactly the counts recording each value gives", () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const edges = [
      0,
      1,
      2,
      1023,
      1024,
      2047,
      2048,
      2049,
      4095,
      4096,
      0x7fffffff,
      0x80000000,
      HIGHEST_LATENCY_US,
    ];
    const values = [...edges, ...Array.from({ length: 50_000 }, () => Math.floor(Math.exp(random() * 22)))];
    const direct = createLatencyHistogram();
    const counter = new LatencyCounter();
    for (const v of values) {
      direct.recordValue(v);
      counter.record(v);
    }
    const counted = counter.flush();
    assert.equal(counted.totalCount, values.length);
    assert.equal(encodeHistogram(counted), encodeHistogram(direct));
    assert.deepEqual(summarizeLatency(counted), summarizeLatency(direct));
    for (let i = 0; i < direct.countsArrayLength; i++)
      assert.equal(counted.getCountAtIndex(i), direct.getCountAtIndex(i), `bucket ${i}`);

    // Counting goes on after a flush; the next one adds only what is new.
    counter.record(5);
    direct.recordValue(5);
    assert.equal(encodeHistogram(counter.flush()), encodeHistogram(direct));
  });
});
