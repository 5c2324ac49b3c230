import assert from "node:assert/strict";
import { startSimulator, type Simulator } from "../../sim/ev2";
import { call, SERVICE_PATH, startRollout } from "./ev2-http";

const VERSIONS = `${SERVICE_PATH}/artifactVersions`;
const admin = (sim: Simulator, method: string, path: string, body?: unknown) =>
  call(sim, method, `/_sim/${path}`, { body, auth: false });

describe("EV2 simulator: /_sim admin endpoints", () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ scenario: "gated", clockSpeed: 0 });
  });
  afterEach(() => sim.close());

  it("adds faults by path substring or pathPattern, lists and clears them", async () => {
    const added = await admin(sim, "POST", "faults", {
      kind: "status",
      status: 429,
      retryAfter: 1,
      path: "/artifactVersions",
      count: 1,
    });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, { faults: 1 });
    assert.equal(
      (await admin(sim, "POST", "faults", { kind: "status", status: 500, pathPattern: "^/rollouts/[^/]+$" }))
        .status,
      201,
    );
    assert.deepEqual((await admin(sim, "GET", "faults")).body.faults, [
      { kind: "status", status: 429, retryAfter: 1, path: "/artifactVersions", count: 1 },
      { kind: "status", status: 500, pathPattern: new RegExp("^/rollouts/[^/]+$").source },
    ]);

    assert.equal((await call(sim, "GET", VERSIONS)).status, 429);
    const id = await startRollout(sim);
    assert.equal((await call(sim, "GET", `/rollouts/${id}`)).status, 500);
    assert.equal((await admin(sim, "DELETE", "faults")).status, 204);
    assert.equal((await call(sim, "GET", `/rollouts/${id}`)).status, 200);
    assert.equal(sim.faultsInjected(), 2);
  });

  const badRules: [string, unknown, string][] = [
    ["an unknown kind", { kind: "explode" }, "kind"],
    ["status without a status", { kind: "status" }, "status"],
    ["a probability above 1", { kind: "reset", probability: 1.5 }, "probability"],
    ["both path and pathPattern", { kind: "reset", path: "/a", pathPattern: "b" }, "pathPattern"],
    ["an unknown field", { kind: "reset", paht: "/a" }, "body"],
  ];
  for (const [what, rule, target] of badRules) {
    it(`rejects a fault rule with ${what}: 400 InvalidParameter ${target}`, async () => {
      const answer = await admin(sim, "POST", "faults", rule);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error.code, "InvalidParameter");
      assert.equal(answer.body.error.target, target);
      assert.deepEqual((await admin(sim, "GET", "faults")).body.faults, []);
    });
  }

  it("lists the recorded requests (not its own), and clears them", async () => {
    await call(sim, "GET", `${VERSIONS}?a=1&a=2`);
    await admin(sim, "GET", "state");
    const listed = await admin(sim, "GET", "requests");
    assert.equal(listed.status, 200);
    assert.equal(listed.body.requests.length, 1);
    const [recorded] = listed.body.requests;
    assert.equal(recorded.seq, 1);
    assert.equal(recorded.method, "GET");
    assert.equal(recorded.path, VERSIONS);
    assert.deepEqual(recorded.query, { a: ["1", "2"] });
    assert.equal(recorded.headers.authorization, "Bearer sim-token");
    assert.equal(recorded.status, 200);
    assert.ok(Math.abs(recorded.at - Date.now()) < 5000);
    assert.equal((await admin(sim, "DELETE", "requests")).status, 204);
    assert.equal(sim.requests.length, 0);
  });

  it("is never faulted and needs no token", async () => {
    sim.addFault({ kind: "reset" });
    assert.equal((await admin(sim, "GET", "state")).status, 200);
  });

  it("advances the clock, sets its speed and shows the state of every rollout", async () => {
    const id = await startRollout(sim);
    const before = sim.clock.now().getTime();
    const advanced = await admin(sim, "POST", "clock/advance", { ms: 30 * 60 * 1000 });
    assert.equal(advanced.status, 200);
    assert.equal(Date.parse(advanced.body.now), before + 30 * 60 * 1000);

    const state = await admin(sim, "GET", "state");
    assert.equal(state.body.scenario, "gated");
    assert.equal(state.body.speed, 0);
    assert.equal(state.body.now, advanced.body.now);
    assert.equal(state.body.rollouts.length, 4);
    const mine = state.body.rollouts.find((r: { rolloutId: string }) => r.rolloutId === id);
    assert.equal(mine.status, "Waiting");
    assert.deepEqual(mine, (await call(sim, "GET", `/rollouts/${id}`)).body);
    assert.deepEqual(
      sim.rollouts().map((r) => r.rolloutId),
      state.body.rollouts.map((r: { rolloutId: string }) => r.rolloutId),
    );

    const speed = await admin(sim, "POST", "clock/speed", { speed: 600 });
    assert.equal(speed.status, 200);
    assert.equal(sim.clock.speed, 600);
  });

  it("answers 400 for a bad clock body and 404 for an unknown admin path", async () => {
    const bad = await admin(sim, "POST", "clock/advance", { ms: -5 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.target, "ms");
    const notJson = await admin(sim, "POST", "clock/advance", "{");
    assert.equal(notJson.status, 400);
    const unknown = await admin(sim, "GET", "nothing");
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error.message, /\/_sim\/state/);
  });
});
