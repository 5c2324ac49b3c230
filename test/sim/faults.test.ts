import assert from "node:assert/strict";
import { request } from "node:http";
import { startSimulator, type Simulator } from "../../sim/ev2";
import { call, freshKey, getRollout, SERVICE_PATH, startBody, startRollout } from "./ev2-http";

const VERSIONS = `${SERVICE_PATH}/artifactVersions`;
const HISTORY_COUNT = 3;

/** fetch reports a reset socket as a TypeError whose cause is the socket error. */
async function expectReset(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: Error & { cause?: { code?: string } }) => {
    assert.equal(error.name, "TypeError");
    assert.match(
      String(error.cause?.code ?? error.cause),
      /ECONNRESET|UND_ERR_SOCKET|other side closed|socket hang up/,
    );
    return true;
  });
}

describe("EV2 simulator: fault injection", () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ scenario: "small", clockSpeed: 0 });
  });
  afterEach(() => sim.close());

  it("status 429 with Retry-After in seconds, for the next `count` matching requests only", async () => {
    sim.addFault({ kind: "status", status: 429, retryAfter: 2, path: "/artifactVersions", count: 2 });
    const answers = [];
    for (let index = 0; index < 3; index++) answers.push(await call(sim, "GET", VERSIONS));
    assert.deepEqual(
      answers.map((a) => a.status),
      [429, 429, 200],
    );
    assert.equal(answers[0].headers.get("retry-after"), "2");
    assert.equal(answers[0].body.error.code, "TooManyRequests");
    assert.match(answers[0].headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(sim.faultsInjected(), 2);
    assert.deepEqual(
      sim.requests.map((r) => [r.status, r.fault]),
      [
        [429, "status"],
        [429, "status"],
        [200, undefined],
      ],
    );
  });

  it("Retry-After as an HTTP-date is sent as given", async () => {
    const date = "Wed, 21 Oct 2026 07:28:00 GMT";
    sim.addFault({ kind: "status", status: 503, retryAfter: date, count: 1 });
    const answer = await call(sim, "GET", VERSIONS);
    assert.equal(answer.status, 503);
    assert.equal(answer.body.error.code, "ServiceUnavailable");
    assert.equal(answer.headers.get("retry-after"), date);
  });

  const statusCodes: [number, string][] = [
    [408, "RequestTimeout"],
    [500, "InternalError"],
    [502, "BadGateway"],
    [503, "ServiceUnavailable"],
    [504, "GatewayTimeout"],
  ];
  for (const [status, code] of statusCodes) {
    it(`status ${status} answers the error body with code ${code}`, async () => {
      sim.addFault({ kind: "status", status, count: 1 });
      const answer = await call(sim, "GET", VERSIONS);
      assert.equal(answer.status, status);
      assert.equal(answer.body.error.code, code);
      assert.equal(answer.headers.get("retry-after"), null);
    });
  }

  it("reset destroys the connection without an answer and records status 0", async () => {
    sim.addFault({ kind: "reset", method: "GET", count: 1 });
    await expectReset(call(sim, "GET", VERSIONS));
    assert.equal((await call(sim, "GET", VERSIONS)).status, 200);
    assert.equal(sim.requests[0].status, 0);
    assert.equal(sim.requests[0].fault, "reset");
    assert.equal(sim.requests.length, 2);
  });

  it("a faulted POST creates no rollout; the retry with the same key creates exactly one", async () => {
    const key = freshKey();
    const post = () =>
      call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
    sim.addFault({ kind: "reset", method: "POST", path: "/rollouts", count: 1 });
    sim.addFault({ kind: "status", status: 503, method: "POST", path: "/rollouts", count: 1 });
    await expectReset(post());
    assert.equal((await post()).status, 503);
    assert.equal(sim.rollouts().length, HISTORY_COUNT);
    const created = await post();
    assert.equal(created.status, 201);
    const replay = await post();
    assert.equal(replay.status, 200);
    assert.equal(sim.rollouts().length, HISTORY_COUNT + 1);
    assert.deepEqual(
      sim.requests.map((r) => r.body),
      [startBody(), startBody(), startBody(), startBody()],
      "the body of every request is recorded, faulted ones too",
    );
    assert.equal(sim.requests[0].headers["idempotency-key"], key);
  });

  it("slow delays the answer, then answers normally", async () => {
    sim.addFault({ kind: "slow", delayMs: 300, count: 1 });
    const started = Date.now();
    const answer = await call(sim, "GET", VERSIONS);
    assert.ok(Date.now() - started >= 290, `took ${Date.now() - started} ms`);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.artifacts.length, 4);
    assert.equal(sim.requests[0].fault, "slow");
    assert.equal(sim.requests[0].status, 200);
    assert.equal(sim.faultsInjected(), 1);
  });

  it("a slow POST still starts the rollout once it answers", async () => {
    sim.addFault({ kind: "slow", delayMs: 50, method: "POST" });
    const id = await startRollout(sim);
    assert.equal((await getRollout(sim, id)).rolloutId, id);
  });

  it("malformed answers 200 with truncated JSON", async () => {
    sim.addFault({ kind: "malformed", path: /^\/rollouts\//, count: 1 });
    const id = await startRollout(sim);
    const response = await fetch(`${sim.url}/rollouts/${id}`, {
      headers: { authorization: "Bearer sim-token" },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    const text = await response.text();
    assert.throws(() => JSON.parse(text), SyntaxError);
    assert.equal((await getRollout(sim, id)).rolloutId, id);
  });

  it("html answers an HTML error page (502 by default, or the given status)", async () => {
    sim.addFault({ kind: "html", count: 1 });
    sim.addFault({ kind: "html", status: 504, count: 1 });
    for (const status of [502, 504]) {
      const response = await fetch(sim.url + VERSIONS, { headers: { authorization: "Bearer sim-token" } });
      assert.equal(response.status, status);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(await response.text(), /^<!DOCTYPE html>/);
    }
  });

  it("faults come before authentication: a request without a token still gets the fault", async () => {
    sim.addFault({ kind: "status", status: 503, count: 1 });
    assert.equal((await call(sim, "GET", VERSIONS, { auth: false })).status, 503);
    assert.equal((await call(sim, "GET", VERSIONS, { auth: false })).status, 401);
  });

  it("matches on method and path and leaves other requests alone", async () => {
    sim.addFault({ kind: "status", status: 500, method: "POST" });
    sim.addFault({ kind: "status", status: 502, path: "/stageMaps/" });
    assert.equal((await call(sim, "GET", VERSIONS)).status, 200);
    assert.equal((await call(sim, "GET", `${SERVICE_PATH}/stageMaps/OrdersStageMap/versions`)).status, 502);
    assert.equal((await call(sim, "POST", `/rollouts/x/cancel`)).status, 500);
    sim.clearFaults();
    assert.equal((await call(sim, "GET", `${SERVICE_PATH}/stageMaps/OrdersStageMap/versions`)).status, 200);
    assert.equal(sim.faultsInjected(), 2);
  });

  it("probability applies a fault to a seeded, repeatable share of requests", async () => {
    const pattern = async (seed: number) => {
      const seeded = await startSimulator({ scenario: "small", seed });
      try {
        seeded.addFault({ kind: "status", status: 503, probability: 0.5 });
        const statuses = [];
        for (let index = 0; index < 40; index++) statuses.push((await call(seeded, "GET", VERSIONS)).status);
        return { statuses, injected: seeded.faultsInjected() };
      } finally {
        await seeded.close();
      }
    };
    const first = await pattern(7);
    const again = await pattern(7);
    assert.deepEqual(again.statuses, first.statuses, "same seed, same faults");
    assert.ok(first.injected > 8 && first.injected < 32, `about half faulted (${first.injected})`);
    assert.equal(first.statuses.filter((s) => s === 503).length, first.injected);
  });

  it("rejects an invalid fault rule", () => {
    assert.throws(() => sim.addFault({ kind: "status" }), /kind "status" needs a status/);
    assert.throws(() => sim.addFault({ kind: "reset", probability: 2 }), /probability/);
  });

  it("close() ends a pending slow answer promptly", async () => {
    sim.addFault({ kind: "slow", delayMs: 10_000 });
    const pending = new Promise<string>((resolve) => {
      const req = request(sim.url + VERSIONS, { headers: { authorization: "Bearer sim-token" } }, (res) => {
        res.resume();
        res.on("end", () => resolve(`answered ${res.statusCode}`));
      });
      req.on("error", (error) => resolve(`error ${error.message}`));
      req.end();
    });
    while (sim.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = Date.now();
    await sim.close();
    assert.match(await pending, /^error/);
    assert.ok(Date.now() - started < 5000, "well before the 10 s answer");
  });
});
