import assert from "node:assert/strict";
import { startTargetService, type TargetService } from "../../sim/target-service";
import {
  StressInputError,
  StressReadinessError,
  completeEndpoint,
  decodeHistogram,
  mergeResults,
  notReadyResult,
  parseThresholds,
  renderJUnitXml,
  runStressTest,
  validateLoadSettings,
  type StressEndpoint,
  type StressTestOptions,
} from "../../shared/stress";

/** Short runs against the sample service on 127.0.0.1; timing bounds are loose on purpose. */
describe("stress test against the sample service", function () {
  this.timeout(30_000);
  let service: TargetService;
  const orders = (region: string): StressEndpoint =>
    completeEndpoint({ url: `${service.url}/${region}/api/orders` });
  const options = (
    endpoints: StressEndpoint[],
    settings: Record<string, unknown>,
    thresholds = "",
  ): StressTestOptions => ({
    ...validateLoadSettings({ readinessTimeoutSeconds: 5, ...settings }),
    endpoints,
    thresholds: parseThresholds(thresholds),
  });

  before(async () => {
    service = await startTargetService();
  });
  afterEach(() => service.resetBehaviour());
  after(async () => {
    await service.close();
  });

  it("passes a healthy service, with percentiles that follow the injected latency", async () => {
    // 100 ms: large against what a busy core adds, so the upper bounds below hold on a loaded machine.
    service.setBehaviour({ latencyMs: 100 });
    const progress: string[] = [];
    const doc = await runStressTest({
      ...options([orders("eastus"), orders("westus")], { connections: 4, durationSeconds: 1.5 }),
      onProgress: (p) => progress.push(`${p.phase} ${p.requests > 0}`),
    });
    assert.deepEqual(progress[0], "measuring true");
    assert.equal(doc.passed, true, JSON.stringify(doc.thresholds));
    assert.deepEqual(
      doc.thresholds.map((t) => [t.threshold, t.scope, t.passed]),
      [
        ["success_rate >= 95%", "overall", true],
        ["success_rate >= 95%", "endpoint", true],
        ["success_rate >= 95%", "endpoint", true],
        ["p95 < 500ms", "overall", true],
        ["p95 < 500ms", "endpoint", true],
        ["p95 < 500ms", "endpoint", true],
      ],
    );
    const latency = doc.overall.latencyMs!;
    assert.ok(latency.min >= 98, `min ${latency.min}`);
    assert.ok(latency.p50 >= 99 && latency.p50 < 300, `p50 ${latency.p50}`);
    assert.ok(latency.p99 >= latency.p50 && latency.max >= latency.p99, JSON.stringify(latency));
    assert.equal(doc.overall.errorRatePercent, 0);
    assert.deepEqual(Object.keys(doc.overall.statusCodes), ["200"]);
    // 2 connections per endpoint at ≥100 ms: at most ~20 req/s each.
    for (const e of doc.endpoints)
      assert.ok(e.requests > 10 && e.requestsPerSecond <= 21, `${e.name}: ${e.requests}`);
    assert.equal(doc.overall.requests, doc.endpoints[0].requests + doc.endpoints[1].requests);
    assert.equal(doc.overall.uncorrectedLatencyMs, undefined);
    assert.ok(doc.measuredSeconds >= 1.4 && doc.measuredSeconds < 3, String(doc.measuredSeconds));
  });

  it("fails error_rate < 1% on a region answering 5% 500s, and the JUnit says which case", async () => {
    service.setBehaviour({ errorShare: 0.05 }, "eastus");
    const doc = await runStressTest(
      options(
        [orders("eastus"), orders("westus")],
        { connections: 4, durationSeconds: 1 },
        "error_rate < 1%",
      ),
    );
    assert.equal(doc.passed, false);
    const [east, west] = doc.endpoints;
    assert.ok(east.errorRatePercent! >= 4 && east.errorRatePercent! <= 6, `east ${east.errorRatePercent}`);
    assert.equal(east.errors.unexpected_status, east.statusCodes["500"]);
    assert.equal(west.errorRatePercent, 0);
    assert.deepEqual(
      doc.thresholds.map((t) => [t.scope, t.endpoint ?? "", t.passed]),
      [
        ["overall", "", false],
        ["endpoint", east.name, false],
        ["endpoint", west.name, true],
      ],
    );
    const xml = renderJUnitXml(doc);
    assert.match(
      xml,
      new RegExp(
        `name="${east.name}: error_rate &lt; 1%" time="[\\d.]+">\\n {6}<failure message="error_rate [\\d.]+%, limit &lt; 1%"`,
      ),
    );
    assert.match(
      xml,
      new RegExp(
        `name="${west.name}: error_rate &lt; 1%" time="[\\d.]+">\\n {6}<system-out>error_rate 0%, limit &lt; 1%</system-out>`,
      ),
    );
  });

  it("open model: a stall shows in the corrected p99, far above the uncorrected one", async () => {
    // 1000 req/s for 2 s; the service freezes for 400 ms. About 400 of 2000 sends fall due in
    // the freeze, so p99 from the intended send time is ≈ 400 - 0.01 * 2000 = 380 ms, while only
    // the ≤10 requests in flight (0.5%) see the freeze from their actual send time.
    service.setBehaviour({ stall: { startsInMs: 600, durationMs: 400 } });
    const doc = await runStressTest(
      options([orders("eastus")], { connections: 10, rate: 1000, durationSeconds: 2 }),
    );
    const corrected = doc.overall.latencyMs!.p99;
    const uncorrected = doc.overall.uncorrectedLatencyMs!.p99;
    // Wide above: a busy machine delays answers after the freeze too, never shortens it.
    assert.ok(corrected > 250 && corrected < 1000, `corrected p99 ${corrected}`);
    assert.ok(uncorrected * 3 < corrected, `uncorrected p99 ${uncorrected} vs corrected ${corrected}`);
    const open = doc.overall.openModel!;
    assert.equal(open.requestedRate, 1000);
    assert.equal(open.scheduledSends, 2000);
    assert.ok(open.lateSends > 100, `late ${open.lateSends}`);
    // The freeze's backlog (≈400 sends) goes out once the service answers again. On a calm
    // machine all of it does before the run ends; a starved one (tests in parallel beside a busy
    // core) may leave a tail unsent, never most of the backlog.
    assert.ok(open.droppedSends < 200, `dropped ${open.droppedSends}`);
    assert.equal(open.sentRequests + open.droppedSends, 2000);
    assert.equal(doc.overall.requests, open.sentRequests);
  });

  it("merges two runs into exactly the sum of their histograms and counts", async () => {
    service.setBehaviour({ latencyMs: 2, latencyJitterMs: 6 });
    const run = () => runStressTest(options([orders("eastus")], { connections: 2, durationSeconds: 1 }));
    const a = await run();
    const b = await run();
    const merged = mergeResults([a, b]);
    assert.equal(merged.overall.requests, a.overall.requests + b.overall.requests);
    assert.equal(
      merged.overall.statusCodes["200"],
      a.overall.statusCodes["200"] + b.overall.statusCodes["200"],
    );
    const [ha, hb, hm] = [a, b, merged].map((d) => decodeHistogram(d.overall.histogram));
    assert.equal(hm.totalCount, ha.totalCount + hb.totalCount);
    for (let i = 0; i < hm.countsArrayLength; i++) {
      assert.equal(hm.getCountAtIndex(i), ha.getCountAtIndex(i) + hb.getCountAtIndex(i), `bucket ${i}`);
    }
    const combined = decodeHistogram(a.overall.histogram);
    combined.add(hb);
    assert.equal(merged.overall.latencyMs!.p99, Math.round(combined.getValueAtPercentile(99)) / 1000);
    assert.equal(merged.jobs, 2);
  });

  it("fails when an endpoint never becomes ready, naming it and the limit", async () => {
    service.setBehaviour({ available: false });
    const endpoint = orders("westus");
    await assert.rejects(
      runStressTest(options([endpoint], { durationSeconds: 1, readinessTimeoutSeconds: 0.5 })),
      (err: unknown) => {
        assert.ok(err instanceof StressReadinessError);
        assert.equal(
          err.message,
          `endpoint ${endpoint.url} never became ready within 0.5 s (last attempt: HTTP 503, expected 200-399)`,
        );
        return true;
      },
    );
  });

  it("records the endpoint that never became ready in the result, which then fails, merged or not", async () => {
    const healthy = await runStressTest(
      options([orders("eastus")], { connections: 1, durationSeconds: 0.3 }),
    );
    service.setBehaviour({ available: false });
    const endpoint = completeEndpoint({ url: `${service.url}/westus/api/orders`, name: "orders-westus" });
    const opts = options([endpoint], { durationSeconds: 1, readinessTimeoutSeconds: 0.3 });
    const startedAt = new Date();
    const err = await runStressTest(opts).then(
      () => assert.fail("the endpoint was not ready"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StressReadinessError);
    assert.equal(err.endpoint, "orders-westus");
    const doc = notReadyResult(opts, err, startedAt);
    assert.equal(doc.passed, false);
    assert.equal(doc.aborted, false);
    assert.equal(doc.overall.requests, 0);
    assert.equal(doc.startedAt, startedAt.toISOString());
    assert.deepEqual(doc.notReady, [{ endpoint: "orders-westus", url: endpoint.url, message: err.message }]);
    assert.match(
      renderJUnitXml(doc),
      /name="orders-westus: became ready"[^>]*>\n {6}<failure message="endpoint never became ready"/,
    );
    const merged = mergeResults([healthy, doc], { sources: ["a.json", "b.json"] });
    assert.equal(merged.passed, false);
    assert.equal(merged.notReady?.[0].resultFile, "b.json");
  });

  it("reports a refused endpoint the same way", async () => {
    const closed = await startTargetService();
    const url = `${closed.url}/eastus/api/orders`;
    await closed.close();
    await assert.rejects(
      runStressTest(
        options([completeEndpoint({ url })], { durationSeconds: 1, readinessTimeoutSeconds: 0.3 }),
      ),
      new RegExp(
        `^StressReadinessError: endpoint ${url} never became ready within 0.3 s \\(last attempt: refused: `,
      ),
    );
  });

  it("waits for an endpoint that becomes ready, telling about each wait", async () => {
    service.setBehaviour({ available: false });
    setTimeout(() => service.setBehaviour({ available: true }), 300);
    const waits: string[] = [];
    const doc = await runStressTest({
      ...options([orders("eastus")], { connections: 1, durationSeconds: 0.3 }),
      onNotReady: (_endpoint, outcome) => waits.push(outcome),
    });
    assert.ok(waits.length >= 1 && waits.every((w) => w === "HTTP 503, expected 200-399"), waits.join("; "));
    assert.ok(doc.overall.requests > 0);
  });

  it("stops promptly on abort and returns partial results marked aborted", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 400);
    const started = Date.now();
    const doc = await runStressTest({
      ...options([orders("eastus")], { connections: 2, durationSeconds: 30 }),
      signal: controller.signal,
    });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(doc.aborted, true);
    assert.equal(doc.passed, false);
    assert.ok(doc.overall.requests > 0);
    assert.ok(doc.measuredSeconds > 0.2 && doc.measuredSeconds < 5, String(doc.measuredSeconds));
  });

  it("abandons requests held by a frozen service on abort instead of waiting for their timeout", async () => {
    service.setBehaviour({ stall: { startsInMs: 0, durationMs: 20_000 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const doc = await runStressTest({
      ...options([orders("eastus")], {
        connections: 2,
        rate: 50,
        durationSeconds: 10,
        timeoutMs: 15_000,
        readinessTimeoutSeconds: 0,
      }),
      signal: controller.signal,
    });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(doc.aborted, true);
    assert.equal(doc.overall.requests, 0);
    assert.ok(doc.overall.openModel!.droppedSends > 0);
  });

  it("leaves warm-up requests out and stops at a request count", async () => {
    const before = service.stats().byRegion.eastus;
    const doc = await runStressTest(
      options([orders("eastus")], { connections: 2, requests: 300, warmupSeconds: 0.3 }),
    );
    assert.equal(doc.overall.requests, 300);
    assert.equal(doc.load.requests, 300);
    const served = service.stats().byRegion.eastus - before;
    assert.ok(served > 301, `served ${served}: warm-up requests should have been sent too`);

    const open = await runStressTest(
      options([orders("eastus")], { connections: 2, rate: 400, requests: 100 }),
    );
    assert.equal(open.overall.requests, 100);
    assert.equal(open.overall.openModel!.scheduledSends, 100);
    assert.ok(open.measuredSeconds >= 0.2 && open.measuredSeconds < 3, String(open.measuredSeconds));
  });

  it("loads 20 endpoints at once, one per region, recording every latency of each", async () => {
    const regions = Array.from({ length: 20 }, (_, i) => `region${i + 1}`);
    const many = await startTargetService({ regions });
    try {
      const endpoints = regions.map((r) => completeEndpoint({ name: r, url: `${many.url}/${r}/api/orders` }));
      const doc = await runStressTest(options(endpoints, { connections: 40, requests: 2000 }));
      assert.equal(doc.overall.requests, 2000);
      assert.equal(doc.overall.failures, 0);
      assert.deepEqual(
        doc.endpoints.map((e) => [e.name, e.requests, decodeHistogram(e.histogram).totalCount]),
        regions.map((r) => [r, 100, 100]),
      );
      assert.equal(decodeHistogram(doc.overall.histogram).totalCount, 2000);
      for (const r of regions)
        assert.ok(many.stats().byRegion[r] >= 100, `${r}: ${many.stats().byRegion[r]}`);
    } finally {
      await many.close();
    }
  });

  it("counts timeouts as errors of kind timeout", async () => {
    service.setBehaviour({ latencyMs: 400 });
    const doc = await runStressTest(
      options([orders("eastus")], {
        connections: 2,
        durationSeconds: 0.5,
        timeoutMs: 100,
        readinessTimeoutSeconds: 0,
      }),
    );
    assert.ok(doc.overall.errors.timeout > 0, JSON.stringify(doc.overall.errors));
    assert.equal(doc.overall.errorRatePercent, 100);
    assert.equal(doc.overall.latencyMs, null);
    assert.equal(doc.passed, false);
  });

  it("pipelines requests when asked", async () => {
    const doc = await runStressTest(
      options([orders("eastus")], { connections: 2, pipelining: 4, durationSeconds: 0.5 }),
    );
    assert.ok(doc.overall.requests > 10);
    assert.equal(doc.overall.failures, 0);
    assert.equal(doc.load.pipelining, 4);
  });

  it("refuses options it cannot honour before sending anything", async () => {
    const before = service.stats().requests;
    await assert.rejects(
      runStressTest(options([orders("eastus"), orders("westus")], { connections: 1 })),
      (err: unknown) =>
        err instanceof StressInputError &&
        err.message ===
          "connections (1) must be at least the number of endpoints (2): each endpoint gets connections of its own",
    );
    await assert.rejects(
      runStressTest(options([orders("eastus")], {}, "https://elsewhere/health: p95 < 1s")),
      /"https:\/\/elsewhere\/health" is none of the endpoints loaded/,
    );
    assert.equal(service.stats().requests, before);
  });
});
