import assert from "node:assert/strict";
import {
  HIGHEST_LATENCY_US,
  LatencyCounter,
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  sumHistograms,
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

  it("gives the same figures for a histogram decoded or summed as for the one recorded", () => {
    const zeroes = createLatencyHistogram();
    for (let i = 0; i < 5; i++) zeroes.recordValue(0);
    const spread = createLatencyHistogram();
    for (let v = 1; v < 3_000_000; v = Math.ceil(v * 1.37)) spread.recordValue(v);
    const narrow = createLatencyHistogram();
    for (let i = 0; i < 1000; i++) narrow.recordValue(4000 + (i % 17));
    for (const h of [zeroes, spread, narrow]) {
      assert.deepEqual(summarizeLatency(decodeHistogram(encodeHistogram(h))), summarizeLatency(h));
      const twice = createLatencyHistogram();
      twice.add(h);
      twice.add(h);
      const sum = sumHistograms([h, h]);
      assert.deepEqual(summarizeLatency(sum), summarizeLatency(twice));
      assert.equal(summarizeLatency(sum)!.p50, summarizeLatency(h)!.p50);
    }
    const all = sumHistograms([zeroes, spread, narrow]);
    const reference = createLatencyHistogram();
    for (const h of [zeroes, spread, narrow]) reference.add(h);
    assert.deepEqual(summarizeLatency(all), {
      min: 0,
      mean: Math.round(reference.mean) / 1000,
      p50: Math.round(reference.getValueAtPercentile(50)) / 1000,
      p90: Math.round(reference.getValueAtPercentile(90)) / 1000,
      p95: Math.round(reference.getValueAtPercentile(95)) / 1000,
      p99: Math.round(reference.getValueAtPercentile(99)) / 1000,
      p99_9: Math.round(reference.getValueAtPercentile(99.9)) / 1000,
      max: Math.round(reference.highestEquivalentValue(reference.maxValue)) / 1000,
      stdev: Math.round(reference.stdDeviation) / 1000,
    });
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
    // Extremes as recording each bucket's lowest value leaves them (values from 2^31 on are
    // recorded as they are).
    const lowest = createLatencyHistogram();
    for (const v of values) lowest.recordValue(v < 0x80000000 ? direct.lowestEquivalentValue(v) : v);
    assert.equal(counted.minNonZeroValue, lowest.minNonZeroValue);
    assert.equal(counted.maxValue, lowest.maxValue);
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
