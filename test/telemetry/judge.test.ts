import assert from "node:assert/strict";
import { TelemetryJudge, type JudgeSettings } from "../../shared/telemetry/judge";
import { telemetryThresholdProblem } from "../../shared/telemetry/settings";
import type { RequestRow } from "../../shared/telemetry/log-analytics";
import { parseThresholdLine } from "../../shared/stress/thresholds";
import { seededRandom as rng } from "../../sim/ev2/faults";

/** Log-normal latencies around `medianMs` (sigma 0.4), `errorShare` of them failed. */
function* requests(
  random: () => number,
  n: number,
  o: { region: string; version: string; medianMs: number; errorShare?: number; itemCount?: number },
): Generator<RequestRow> {
  for (let i = 0; i < n; i++) {
    const u1 = random() || 1e-12;
    const u2 = random();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    yield {
      region: o.region,
      version: o.version,
      durationMs: Math.round(o.medianMs * Math.exp(0.4 * z) * 10) / 10,
      success: random() >= (o.errorShare ?? 0.005),
      itemCount: o.itemCount ?? 1,
    };
  }
}

const settings = (more: Partial<JudgeSettings> = {}): JudgeSettings => ({
  alpha: 0.05,
  latencyTolerance: 1.1,
  errorRateTolerance: 0.5,
  minSamples: 100,
  thresholds: [],
  windowSeconds: 600,
  ...more,
});

function judgeOf(
  seed: number,
  fresh: { n: number; medianMs: number; errorShare?: number; itemCount?: number },
  base: { n: number; medianMs: number; errorShare?: number; itemCount?: number },
  more: Partial<JudgeSettings> = {},
) {
  const random = rng(seed);
  const judge = new TelemetryJudge(settings({ seed, ...more }), "previousVersion");
  for (const r of requests(random, base.n, { region: "eastus", version: "1.3.1", ...base }))
    judge.addBaseline(r);
  for (const r of requests(random, fresh.n, { region: "EastUS", version: "1.4.0", ...fresh }))
    judge.addNew(r);
  return judge.verdict(["eastus"]);
}

describe("telemetry judge", () => {
  it("the same service on both sides passes, with the statistics that say so", () => {
    const v = judgeOf(3, { n: 2000, medianMs: 100 }, { n: 2000, medianMs: 100 });
    assert.equal(v.verdict, "Pass", v.summary);
    const r = v.regions[0];
    assert.deepEqual(r.samples, {
      new: { rows: 2000, requests: 2000 },
      baseline: { rows: 2000, requests: 2000 },
    });
    assert.equal(r.latency?.test, "Mann-Whitney U, one-sided (new slower)");
    assert.ok(r.latency!.pValue > 0.05);
    assert.ok(
      r.latency!.shiftMs.lower <= 0 && r.latency!.shiftMs.upper >= 0,
      JSON.stringify(r.latency!.shiftMs),
    );
    assert.match(v.summary, /^Pass: eastus: as the previous version: p95/);
  });

  it("a canary 30% slower fails on latency, naming p95s, the ratio, the p-value and the shift", () => {
    const v = judgeOf(4, { n: 1500, medianMs: 130 }, { n: 1500, medianMs: 100 });
    assert.equal(v.verdict, "Fail");
    const r = v.regions[0];
    assert.equal(r.latency?.regression, true);
    assert.ok(r.latency!.p95Ms.ratio > 1.2 && r.latency!.p95Ms.ratio < 1.4, String(r.latency!.p95Ms.ratio));
    assert.ok(
      r.latency!.shiftMs.lower > 15 && r.latency!.shiftMs.upper < 45,
      JSON.stringify(r.latency!.shiftMs),
    );
    assert.equal(r.errors?.regression, false);
    assert.match(
      r.reason,
      /slower than the previous version: shift \+[\d.]+ ms \[[\d.]+ ms, [\d.]+ ms\] on a median of [\d.]+ ms \(tolerance 1\.1x: \+[\d.]+ ms\), Mann-Whitney p < 0\.0001; p95 [\d.]+ ms vs [\d.]+ ms \(1\.\d\dx\)/,
    );
  });

  it("a significant slowdown within the tolerance is not a regression", () => {
    // 4% slower on 20,000 requests a side: the test sees it, the tolerance forgives it.
    const v = judgeOf(5, { n: 20_000, medianMs: 104 }, { n: 20_000, medianMs: 100 });
    assert.ok(v.regions[0].latency!.pValue < 0.05, "the shift is significant");
    assert.equal(v.regions[0].latency!.regression, false);
    assert.equal(v.verdict, "Pass", v.summary);
  });

  it("more errors than the baseline fails on the two-proportion test", () => {
    const v = judgeOf(
      6,
      { n: 3000, medianMs: 100, errorShare: 0.04 },
      { n: 3000, medianMs: 100, errorShare: 0.005 },
    );
    assert.equal(v.verdict, "Fail");
    const e = v.regions[0].errors!;
    assert.equal(e.regression, true);
    assert.ok(e.pValue < 1e-6);
    assert.ok(
      e.differencePercent.lower > 2 && e.differencePercent.upper < 5,
      JSON.stringify(e.differencePercent),
    );
    assert.match(v.regions[0].reason, /more errors than the previous version: [\d.]+% vs [\d.]+%/);
  });

  it("too few requests is Inconclusive, never Pass, on either side", () => {
    const few = judgeOf(7, { n: 60, medianMs: 100 }, { n: 5000, medianMs: 100 });
    assert.equal(few.verdict, "Inconclusive");
    assert.match(few.summary, /too few requests of the new version \(60, at least 100 needed\)/);
    const noBase = judgeOf(7, { n: 5000, medianMs: 100 }, { n: 10, medianMs: 100 });
    assert.equal(noBase.verdict, "Inconclusive");
    assert.match(noBase.summary, /too few requests of the previous version to compare with \(10/);
    const none = new TelemetryJudge(settings(), "otherRegions").verdict(["westus"]);
    assert.equal(none.verdict, "Inconclusive");
  });

  it("absolute limits in the threshold language fail a region even without a baseline", () => {
    const thresholds = ["p95 < 50ms", "eastus: error_rate < 5%", "westus: p50 < 1ms"].map((l, i) =>
      parseThresholdLine(l, i + 1)!,
    );
    const v = judgeOf(8, { n: 500, medianMs: 100 }, { n: 0, medianMs: 100 }, { thresholds });
    assert.equal(v.verdict, "Fail");
    const lines = v.regions[0].thresholds.map((t) => `${t.threshold} ${t.passed}`);
    assert.deepEqual(lines, ["p95 < 50ms false", "error_rate < 5% true"]);
    assert.match(v.summary, /eastus: p95 [\d.]+ ms, limit < 50 ms/);
  });

  it("a limit relative to the baseline is worked out from the baseline's figure", () => {
    const thresholds = [parseThresholdLine("p95 < 1.2x baseline", 1)!];
    const v = judgeOf(
      9,
      { n: 2000, medianMs: 140 },
      { n: 2000, medianMs: 100 },
      { thresholds, latencyTolerance: 10 },
    );
    assert.equal(v.verdict, "Fail");
    assert.match(v.regions[0].thresholds[0].message, /limit < [\d.]+ ms \(1\.2x baseline/);
  });

  it("the whole-distribution threshold line is refused: the judge compares distributions itself", () => {
    assert.match(
      telemetryThresholdProblem(parseThresholdLine("latency not slower than baseline", 1)!)!,
      /set latencyTolerance/,
    );
    assert.equal(telemetryThresholdProblem(parseThresholdLine("p95 < 500ms", 1)!), undefined);
  });

  it("a sliding-window line (StressTestStage's `over 30s abort`) is refused: the judge reads one query window", () => {
    assert.match(
      telemetryThresholdProblem(parseThresholdLine("error_rate < 1% over 30s abort", 1)!)!,
      /"error_rate < 1% over 30s abort": a sliding window \("over 30s"\) is for StressTestStage/,
    );
  });

  it("sampling is honoured: rows count by their ItemCount in rates and percentiles, not in sample sizes", () => {
    const judge = new TelemetryJudge(settings({ minSamples: 10 }), "otherRegions");
    // 100 fast successes standing for 1 request each, 100 slow failures standing for 9 each.
    for (let i = 0; i < 100; i++) {
      judge.addNew({ region: "eastus", version: "2", durationMs: 10, success: true, itemCount: 1 });
      judge.addNew({ region: "eastus", version: "2", durationMs: 500, success: false, itemCount: 9 });
      judge.addBaseline({ region: "westus", version: "1", durationMs: 10, success: true, itemCount: 1 });
    }
    const r = judge.verdict(["eastus"]).regions[0];
    assert.deepEqual(r.samples.new, { rows: 200, requests: 1000 });
    assert.equal(r.errors!.errorRatePercent.new, 90);
    assert.ok(Math.abs(r.latency!.p95Ms.new - 500) < 1, String(r.latency!.p95Ms.new));
  });

  it("other regions pooled are the baseline of each new region", () => {
    const random = rng(10);
    const judge = new TelemetryJudge(settings(), "otherRegions");
    for (const region of ["westus", "northeurope"])
      for (const r of requests(random, 800, { region, version: "1.3.1", medianMs: 100 }))
        judge.addBaseline(r);
    for (const r of requests(random, 800, { region: "eastus", version: "1.4.0", medianMs: 100 }))
      judge.addNew(r);
    for (const r of requests(random, 800, { region: "uksouth", version: "1.4.0", medianMs: 135 }))
      judge.addNew(r);
    const v = judge.verdict(["eastus", "uksouth"]);
    assert.deepEqual(
      v.regions.map((r) => [r.region, r.verdict, r.samples.baseline.rows]),
      [
        ["eastus", "Pass", 1600],
        ["uksouth", "Fail", 1600],
      ],
    );
    assert.match(v.summary, /^Fail: uksouth: slower than the regions on the old version/);
  });

  it("streams: a side keeps at most reservoirSize latencies however many rows arrive", () => {
    const random = rng(11);
    const judge = new TelemetryJudge(settings({ reservoirSize: 500 }), "previousVersion");
    for (const r of requests(random, 50_000, { region: "eastus", version: "1", medianMs: 100 }))
      judge.addBaseline(r);
    for (const r of requests(random, 50_000, { region: "eastus", version: "2", medianMs: 100 }))
      judge.addNew(r);
    const r = judge.verdict(["eastus"]).regions[0];
    assert.deepEqual(r.latency!.ranked, { new: 500, baseline: 500 });
    assert.deepEqual(r.samples.new, { rows: 50_000, requests: 50_000 });
  });

  const runs = 300;
  it(`A/A over ${runs} seeds: the same service is failed at most alpha (5%) of the time, both tests counted (no tolerance)`, () => {
    let failed = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const v = judgeOf(
        1000 + seed,
        { n: 200, medianMs: 100, errorShare: 0.05 },
        { n: 200, medianMs: 100, errorShare: 0.05 },
        { latencyTolerance: 1, errorRateTolerance: 0 },
      );
      if (v.verdict === "Fail") failed++;
    }
    assert.ok(failed / runs <= 0.05, `${failed} of ${runs} A/A runs failed`);
  });

  it(`power over ${runs} seeds: 20% slower with 200 requests a side fails at least 90% of the time (tolerance 1.1x)`, () => {
    let failed = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const v = judgeOf(5000 + seed, { n: 200, medianMs: 120 }, { n: 200, medianMs: 100 });
      if (v.verdict === "Fail") failed++;
    }
    assert.ok(failed / runs >= 0.9, `${failed} of ${runs} runs with a 20% shift failed`);
  });
});
