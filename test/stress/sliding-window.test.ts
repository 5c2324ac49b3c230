import assert from "node:assert/strict";
import {
  SecondCounts,
  ScopeWindow,
  ThresholdWatch,
  describeEarlyAbort,
  windowFigure,
  type EarlyAbort,
} from "../../shared/stress/sliding-window";
import {
  checkStressTestOptions,
  completeEndpoint,
  evaluateThresholds,
  mergeResults,
  parseResultDocument,
  parseThresholds,
  validateLoadSettings,
  type StressResultDocument,
  type ThresholdObservables,
} from "../../shared/stress";
import { buildResultDocument, describeLoad } from "../../shared/stress/result";
import { EndpointRecorder } from "../../shared/stress/measurements";
import { windowKey } from "../../shared/stress/thresholds";

/** One synthetic second of one endpoint: requests, failures among them, and latencies (ms) of some. */
interface Second {
  requests: number;
  failures?: number;
  latenciesMs?: number[];
}

function fill(counts: SecondCounts, s: Second): void {
  const latencies = s.latenciesMs ?? [];
  const failures = s.failures ?? 0;
  for (let i = 0; i < s.requests; i++) {
    const failed = i < failures;
    if (i < latencies.length) counts.recordResponse(failed, Math.round(latencies[i] * 1000));
    else if (failed) counts.recordError();
    else counts.recordResponse(false, 1000);
  }
}

const endpoints = [
  { name: "eastus", url: "http://127.0.0.1:1/eastus" },
  { name: "westus", url: "http://127.0.0.1:1/westus" },
];

/** Feeds whole seconds (each a list per endpoint) to a watch; returns the first abort and when. */
function play(text: string, seconds: Second[][], targets = endpoints.slice(0, seconds[0].length)) {
  const watch = ThresholdWatch.create(parseThresholds(text), targets);
  assert.ok(watch, "a windowed line makes a watch");
  let abort: EarlyAbort | undefined;
  let closed = 0;
  for (const second of seconds) {
    second.forEach((s, i) => fill(watch.seconds[i], s));
    closed++;
    abort = watch.closeSecond(1);
    if (abort) break;
  }
  watch.finish(0);
  return { abort, closed, figures: watch.figures() };
}

const ok = (requests = 100): Second => ({ requests });
const failing = (failures: number, requests = 100): Second => ({ requests, failures });

describe("sliding windows: window maths on synthetic seconds", () => {
  const cases: {
    name: string;
    text: string;
    seconds: Second[][];
    /** Seconds closed when the load stops (all of them when it never trips). */
    closed: number;
    abort?: Partial<EarlyAbort>;
  }[] = [
    {
      name: "errors from the third second trip a full 3 s window at 3 s, 1 s after the first failing second",
      text: "error_rate < 10% over 3s abort",
      seconds: [[ok()], [ok()], [failing(50)], [failing(50)], [failing(50)]],
      closed: 3,
      abort: { atSeconds: 3, firstFailingSecond: 2, timeToDetectSeconds: 1, observed: 50 / 3 },
    },
    {
      name: "a failing first second cannot trip before the window is full",
      text: "error_rate < 10% over 3s abort",
      seconds: [[failing(100)], [ok()], [ok()], [ok()]],
      closed: 3,
      abort: { atSeconds: 3, firstFailingSecond: 0, timeToDetectSeconds: 3, observed: 100 / 3 },
    },
    {
      name: "a spike diluted by the window never trips",
      text: "error_rate < 10% over 2s abort",
      seconds: [[ok()], [failing(15)], [ok()], [ok()]],
      closed: 4,
    },
    {
      name: "the same spike trips a 1 s window",
      text: "error_rate < 10% over 1s abort",
      seconds: [[ok()], [failing(15)], [ok()], [ok()]],
      closed: 2,
      abort: { atSeconds: 2, firstFailingSecond: 1, timeToDetectSeconds: 1, observed: 15 },
    },
    {
      name: "success_rate below its floor",
      text: "success_rate >= 99% over 2s abort",
      seconds: [[ok()], [failing(2)], [failing(2)]],
      closed: 3,
      abort: { atSeconds: 3, firstFailingSecond: 1, timeToDetectSeconds: 2, observed: 98 },
    },
    {
      name: "throughput collapsing: rps over the window",
      text: "rps > 50 over 2s abort",
      seconds: [[ok()], [ok()], [ok(20)], [ok(20)], [ok(20)]],
      closed: 4,
      abort: { atSeconds: 4, firstFailingSecond: 2, timeToDetectSeconds: 2, observed: 20 },
    },
    {
      name: "max < 50ms is certain at once: one slow request trips a window not yet full",
      text: "max < 50ms over 10s abort",
      seconds: [[ok()], [{ requests: 10, latenciesMs: [60] }], [ok()]],
      closed: 2,
      abort: { atSeconds: 2, firstFailingSecond: 1, timeToDetectSeconds: 1 },
    },
    {
      name: "p95 within the limit when 5% are slow",
      text: "p95 < 100ms over 1s abort",
      seconds: [[{ requests: 100, latenciesMs: [...Array(95).fill(10), ...Array(5).fill(200)] }]],
      closed: 1,
    },
    {
      name: "p95 over the limit when 10% are slow",
      text: "p95 < 100ms over 1s abort",
      seconds: [[{ requests: 100, latenciesMs: [...Array(90).fill(10), ...Array(10).fill(200)] }]],
      closed: 1,
      abort: { atSeconds: 1, firstFailingSecond: 0, timeToDetectSeconds: 1 },
    },
    {
      name: "without abort the breach is recorded but the load goes on",
      text: "error_rate < 10% over 1s",
      seconds: [[failing(50)], [ok()], [ok()]],
      closed: 3,
    },
    {
      name: "a region failing alone trips its endpoint's window, named in the abort",
      text: "error_rate < 10% over 2s abort",
      seconds: [
        [ok(), ok()],
        [ok(), failing(40)],
        [ok(), failing(40)],
      ],
      closed: 2,
      abort: {
        scope: "endpoint",
        endpoint: "westus",
        atSeconds: 2,
        firstFailingSecond: 1,
        timeToDetectSeconds: 1,
      },
    },
    {
      name: "an endpoint-scoped line watches that endpoint only",
      text: "eastus: error_rate < 10% over 1s abort",
      seconds: [
        [ok(), failing(90)],
        [ok(), failing(90)],
      ],
      closed: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { abort, closed } = play(c.text, c.seconds);
      assert.equal(closed, c.closed);
      if (!c.abort) {
        assert.equal(abort, undefined);
        return;
      }
      assert.ok(abort, "the load is stopped");
      for (const [key, value] of Object.entries(c.abort)) {
        const actual: unknown = abort[key as keyof EarlyAbort];
        if (typeof value === "number")
          assert.ok(Math.abs((actual as number) - value) < 1e-4, `${key}: ${String(actual)}`);
        else assert.equal(actual, value, key);
      }
    });
  }

  it("a breach without abort stays in the figures: the first breach, not a later better window", () => {
    const { figures } = play("error_rate < 10% over 1s", [[failing(50)], [ok()], [failing(20)]]);
    const f = figures.get(windowKey({ text: "error_rate < 10% over 1s" }));
    assert.ok(f?.breach);
    assert.equal(f.breach.atSeconds, 1);
    assert.equal(f.observed, 50);
  });

  it("no breach: the worst full window and when it ended", () => {
    const { figures } = play("error_rate < 10% over 2s", [[ok()], [failing(4)], [failing(6)], [ok()]]);
    const f = figures.get(windowKey({ text: "error_rate < 10% over 2s" }))!;
    assert.equal(f.breach, undefined);
    assert.equal(f.windows, 3);
    assert.equal(f.observed, 5);
    assert.equal(f.endedAtSeconds, 3);
  });

  it("no full window: the part that ran is reported as partial", () => {
    const { figures } = play("error_rate < 10% over 5s", [[failing(2)], [ok()]]);
    const f = figures.get(windowKey({ text: "error_rate < 10% over 5s" }))!;
    assert.equal(f.windows, 0);
    assert.equal(f.partialSeconds, 2);
    assert.equal(f.observed, 1);
  });

  it("running sums equal the sum of the last seconds, whatever was subtracted", () => {
    const window = new ScopeWindow([3, 5], true);
    const history: SecondCounts[] = [];
    for (let k = 0; k < 12; k++) {
      const second = new SecondCounts(true);
      fill(second, { requests: 10 + k, failures: k % 4, latenciesMs: [k + 1, 2 * k + 1, 50] });
      history.push(second);
      window.push(second, k + 1);
      for (const length of [3, 5]) {
        const expected = new SecondCounts(true);
        for (const s of history.slice(-length)) expected.add(s, 1);
        const { counts, seconds } = window.window(length);
        assert.equal(counts.requests, expected.requests);
        assert.equal(counts.failures, expected.failures);
        assert.equal(counts.latencySumUs, expected.latencySumUs);
        assert.deepEqual([...counts.latency!], [...expected.latency!]);
        assert.equal(seconds, Math.min(length, k + 1));
      }
    }
  });

  it("window percentiles stay within 3.2% of the exact ones (32 sub-buckets per power of two)", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const spread of [1, 30, 3000]) {
      const latencies = Array.from({ length: 5000 }, () => 0.05 + random() ** 3 * spread);
      const counts = new SecondCounts(true);
      fill(counts, { requests: latencies.length, latenciesMs: latencies });
      const sorted = latencies.map((v) => Math.round(v * 1000) / 1000).sort((a, b) => a - b);
      for (const [metric, p] of [
        ["p50", 50],
        ["p90", 90],
        ["p95", 95],
        ["p99", 99],
        ["p99.9", 99.9],
      ] as const) {
        const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1];
        const approx = windowFigure(metric, counts, 1)!;
        assert.ok(
          approx >= exact * (1 - 1e-9) && approx <= exact * 1.032 + 0.001,
          `${metric} ${approx} vs ${exact}`,
        );
      }
      const max = windowFigure("max", counts, 1)!;
      assert.ok(max >= sorted.at(-1)! && max <= sorted.at(-1)! * 1.032 + 0.001);
      const avg = latencies.reduce((a, b) => a + Math.round(b * 1000), 0) / latencies.length / 1000;
      assert.ok(Math.abs(windowFigure("avg", counts, 1)! - avg) < 1e-9);
    }
  });

  it("nothing to measure is null, not zero", () => {
    const empty = new SecondCounts(true);
    for (const metric of ["error_rate", "success_rate", "p95", "avg", "max"] as const)
      assert.equal(windowFigure(metric, empty, 1), null, metric);
    assert.equal(windowFigure("rps", empty, 2), 0);
  });

  it("no windowed line: no watch, nothing recorded per second", () => {
    assert.equal(ThresholdWatch.create(parseThresholds("error_rate < 1%\np95 < 1s"), endpoints), undefined);
  });

  it("the recorder feeds the current second: answers by expected status, transport errors", () => {
    const watch = ThresholdWatch.create(
      parseThresholds("error_rate < 10% over 1s abort"),
      endpoints.slice(0, 1),
    )!;
    const recorder = new EndpointRecorder([{ min: 200, max: 299 }], false, watch.seconds[0]);
    for (let i = 0; i < 8; i++) recorder.recordResponse(200, 1, 1);
    recorder.recordResponse(503, 1, 1);
    recorder.recordError("timeout");
    const abort = watch.closeSecond(1);
    assert.ok(abort);
    assert.equal(abort.observed, 20);
    assert.equal(watch.seconds[0].requests, 0, "the second starts again empty");
  });
});

describe("sliding windows: verdicts, result, merge", () => {
  const figures = (requests: number, failures: number): ThresholdObservables => ({
    errorRatePercent: (100 * failures) / requests,
    successRatePercent: 100 - (100 * failures) / requests,
    requestsPerSecond: requests,
    latencyMs: null,
  });

  it("judges a windowed line on its windows, not on the whole run", () => {
    const lines = parseThresholds("error_rate < 10% over 1s abort");
    const { figures: windows } = play("error_rate < 10% over 1s abort", [[ok()], [failing(50)]]);
    // The whole run's 25% would also fail; 1% overall shows the window decides.
    const [v] = evaluateThresholds(lines, figures(200, 2), [], undefined, windows);
    assert.equal(v.passed, false);
    assert.equal(v.observed, 50);
    assert.equal(
      v.message,
      "error_rate 50% over the 1 s window ending at 2 s, limit < 10%; breached 1 s after the first failing second: the load was stopped",
    );
    assert.equal(v.window?.breach?.atSeconds, 2);
  });

  it("without window figures (a result with nothing measured) the line fails saying why", () => {
    const [v] = evaluateThresholds(parseThresholds("p95 < 1s over 10s"), figures(10, 0), []);
    assert.equal(v.passed, false);
    assert.match(v.message, /^p95: no 10 s window was measured/);
  });

  it("passes on the worst window, saying which and how many were judged", () => {
    const text = "error_rate < 10% over 2s";
    const { figures: windows } = play(text, [[ok()], [failing(4)], [failing(6)], [ok()]]);
    const [v] = evaluateThresholds(parseThresholds(text), figures(400, 10), [], undefined, windows);
    assert.equal(v.passed, true);
    assert.equal(v.message, "error_rate 5% in the worst 2 s window (ending at 3 s; 3 judged), limit < 10%");
  });

  const endpoint = completeEndpoint({ url: "http://127.0.0.1:1/eastus" });
  function docWith(text: string, seconds: Second[][], file: string): StressResultDocument {
    const { abort, figures: windows } = play(text, seconds);
    const settings = validateLoadSettings({ connections: 1, durationSeconds: 10 });
    const recorder = new EndpointRecorder(endpoint.expectedStatus, false);
    for (const s of seconds) {
      for (let i = 0; i < s[0].requests; i++) {
        if (i < (s[0].failures ?? 0)) recorder.recordError("timeout");
        else recorder.recordResponse(200, 1, 1);
      }
    }
    return buildResultDocument({
      endpoints: [endpoint],
      totals: [recorder.totals(seconds.length)],
      thresholds: parseThresholds(text),
      load: describeLoad(settings),
      aborted: false,
      earlyAbort: abort && { ...abort, resultFile: undefined },
      windows,
      startedAt: `2026-01-01T00:00:0${file}Z`,
      finishedAt: `2026-01-01T00:00:1${file}Z`,
      measuredSeconds: seconds.length,
      jobs: 1,
    });
  }

  it("an early abort fails the result and says when, where and the time to detect", () => {
    const doc = docWith(
      "error_rate < 10% over 2s abort",
      [[ok()], [failing(30)], [failing(30)], [ok()]],
      "1",
    );
    assert.equal(doc.passed, false);
    assert.equal(doc.aborted, false, "stopped by a threshold, not cancelled");
    assert.ok(doc.earlyAbort);
    assert.equal(
      describeEarlyAbort(doc.earlyAbort),
      "aborted early: overall: error_rate < 10% over 2s abort breached (error_rate 15%, limit < 10%) over 2 s at 2 s (time to detect 2 s after load start, 1 s after the first failing second)",
    );
  });

  it("a merge keeps the earliest early abort, naming its file, and the worst of the jobs' windows", () => {
    const text = "error_rate < 10% over 2s abort";
    const calm = docWith(text, [[ok()], [failing(4)], [failing(6)]], "1");
    const late = docWith(text, [[ok()], [ok()], [failing(60)], [failing(60)]], "2");
    const early = docWith(text, [[failing(60)], [failing(60)]], "3");
    const merged = mergeResults([calm, late, early], { sources: ["a.json", "b.json", "c.json"] });
    assert.equal(merged.passed, false);
    assert.equal(merged.earlyAbort?.resultFile, "c.json");
    assert.equal(merged.earlyAbort?.atSeconds, 2);
    const [v] = merged.thresholds;
    assert.equal(v.window?.breach?.atSeconds, 2);
    assert.equal(v.observed, 60);
    const calmOnly = mergeResults([calm, calm]);
    assert.equal(calmOnly.passed, true);
    assert.equal(calmOnly.thresholds[0].window?.windows, 4);
    assert.equal(calmOnly.thresholds[0].observed, 5);
  });

  it("a window longer than the run is refused before anything is sent", () => {
    assert.throws(
      () =>
        checkStressTestOptions({
          ...validateLoadSettings({ connections: 1, durationSeconds: 20 }),
          endpoints: [endpoint],
          thresholds: parseThresholds("error_rate < 1%\nerror_rate < 1% over 30s abort"),
        }),
      {
        name: "StressInputError",
        message:
          'thresholds line 2 "error_rate < 1% over 30s abort": the 30 s window is longer than the run (durationSeconds 20), so it could never fill; give a window of at most 20 s (e.g. over 6s)',
      },
    );
  });
});

describe("sliding windows: result files read back", () => {
  it("a result file with an early abort and window figures parses; a malformed early abort is refused", () => {
    const endpoint = completeEndpoint({ url: "http://127.0.0.1:1/eastus" });
    const watch = ThresholdWatch.create(parseThresholds("error_rate < 10% over 1s abort"), [endpoint])!;
    watch.seconds[0].recordError();
    const abort = watch.closeSecond(1)!;
    watch.finish(0);
    const recorder = new EndpointRecorder(endpoint.expectedStatus, false);
    recorder.recordError("timeout");
    const doc = buildResultDocument({
      endpoints: [endpoint],
      totals: [recorder.totals(1)],
      thresholds: parseThresholds("error_rate < 10% over 1s abort"),
      load: describeLoad(validateLoadSettings({ connections: 1, durationSeconds: 5 })),
      aborted: false,
      earlyAbort: abort,
      windows: watch.figures(),
      startedAt: "2026-01-01T00:00:00Z",
      finishedAt: "2026-01-01T00:00:01Z",
      measuredSeconds: 1,
      jobs: 1,
    });
    const text = JSON.stringify(doc);
    assert.equal(parseResultDocument(text, "ok.json").earlyAbort?.atSeconds, 1);
    const bad = JSON.stringify({ ...doc, earlyAbort: { ...doc.earlyAbort, atSeconds: "soon" } });
    assert.throws(
      () => parseResultDocument(bad, "bad.json"),
      /result file bad\.json: earlyAbort\.atSeconds: /,
    );
  });
});
