import assert from "node:assert/strict";
import { startTargetService, type TargetService } from "../../sim/target-service";

describe("sample target service", () => {
  let service: TargetService;
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${service.url}${path}`, init);
    return { status: res.status, body: await res.text() };
  };

  before(async () => {
    service = await startTargetService();
  });
  afterEach(() => service.resetBehaviour());
  after(async () => {
    await service.close();
  });

  it("serves health, per-region health and orders on 127.0.0.1", async () => {
    assert.match(service.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await get("/health"), { status: 200, body: '{"status":"ok"}' });
    assert.deepEqual(await get("/westus/health"), { status: 200, body: '{"status":"ok"}' });
    const orders = await get("/eastus/api/orders");
    assert.equal(orders.status, 200);
    assert.equal(JSON.parse(orders.body).region, "eastus");
    assert.deepEqual(await get("/westeurope/api/orders", { method: "POST", body: "12345" }), {
      status: 201,
      body: '{"region":"westeurope","received":5}',
    });
    assert.equal((await get("/eastus/api/orders", { method: "PATCH" })).status, 405);
  });

  it("serves a pipeline's own paths as written: any path under a region, and outside every region", async () => {
    const before = service.stats().byRegion;
    assert.equal(JSON.parse((await get("/eastus/v2/payments?page=1")).body).region, "eastus");
    assert.deepEqual(await get("/westus/payments/healthz"), { status: 200, body: '{"status":"ok"}' });
    assert.equal(JSON.parse((await get("/api/orders")).body).region, "all");
    const after = service.stats().byRegion;
    assert.equal(after.eastus - before.eastus, 1);
    assert.equal(after.westus - before.westus, 1);
    assert.equal(after["*"] - (before["*"] ?? 0), 1);
  });

  it("a region that misbehaves does so on each of its paths, health included; /health stays the service's", async () => {
    service.setBehaviour({ errorShare: 1, errorStatus: 503 }, "westus");
    assert.equal((await get("/westus/health")).status, 503);
    assert.equal((await get("/westus/v2/payments")).status, 503);
    assert.equal((await get("/eastus/health")).status, 200);
    assert.equal((await get("/health")).status, 200);
    service.setBehaviour({ errorShare: 1, errorStatus: 500 });
    assert.equal((await get("/api/orders")).status, 500);
    assert.equal((await get("/health")).status, 200);
  });

  it("answers an exact, evenly spread share with the error status", async () => {
    const injectedBefore = service.stats().errorsInjected;
    service.setBehaviour({ errorShare: 0.05 });
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await get("/eastus/api/orders")).status);
    const failed = statuses.flatMap((s, i) => (s === 500 ? [i] : []));
    assert.deepEqual(failed, [19, 39, 59, 79, 99]);
    assert.equal(service.stats().errorsInjected - injectedBefore, 5);
  });

  it("spreads a region's errors evenly over each of its paths, however their requests interleave", async () => {
    service.setBehaviour({ errorShare: 0.5, errorStatus: 503 }, "westus");
    const statuses: Record<string, number[]> = { "/westus/api/orders": [], "/westus/health": [] };
    for (let i = 0; i < 8; i++)
      for (const path of Object.keys(statuses)) statuses[path].push((await get(path)).status);
    for (const [path, seen] of Object.entries(statuses))
      assert.equal(seen.filter((s) => s === 503).length, 4, `${path}: ${seen.join(",")}`);
  });

  it("applies a region's behaviour to that region only, until reset", async () => {
    service.setBehaviour({ errorShare: 1, errorStatus: 503 }, "westus");
    assert.equal((await get("/westus/api/orders")).status, 503);
    assert.equal((await get("/eastus/api/orders")).status, 200);
    service.resetBehaviour();
    assert.equal((await get("/westus/api/orders")).status, 200);
  });

  it("answers 503 everywhere while unavailable", async () => {
    service.setBehaviour({ available: false });
    assert.equal((await get("/health")).status, 503);
    assert.equal((await get("/eastus/api/orders")).status, 503);
  });

  it("adds the injected latency", async () => {
    service.setBehaviour({ latencyMs: 60 });
    const started = performance.now();
    await get("/eastus/api/orders");
    assert.ok(performance.now() - started >= 55);
  });

  it("holds every answer due during a stall until it ends", async () => {
    // A stall long against scheduler noise: the next answer comes well before another stall would end.
    service.setBehaviour({ stall: { startsInMs: 0, durationMs: 1000 } });
    const started = performance.now();
    await get("/eastus/api/orders");
    const held = performance.now() - started;
    assert.ok(held >= 950, `held ${held} ms`);
    const after = performance.now();
    await get("/eastus/api/orders");
    assert.ok(performance.now() - after < 500);
  });

  it("rejects behaviour it cannot have", () => {
    assert.throws(() => service.setBehaviour({ errorShare: 2 }), /errorShare must be within 0..1 \(got 2\)/);
    assert.throws(
      () => service.setBehaviour({ latencyMs: 1 }, "mars"),
      /unknown region "mars"; regions: eastus, westus, westeurope/,
    );
  });
});
