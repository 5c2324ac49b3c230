import assert from "node:assert/strict";
import { defaultRetryPolicy } from "../../shared/http/retry";
import type { Simulator } from "../../sim/ev2";
import { startBuiltTask } from "../support/run-built-task";
import { ev2Setup, simulator, startTestRollout } from "./ev2-fixture";

const startRollout = (sim: Simulator) => startTestRollout(sim, "follow-test");

// The FollowRollout tests that mostly wait (the real 30 s interval, the client's backoff during
// an outage): a file of their own, so a parallel run overlaps them with other files.
describe("FollowRollout polling and outages (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  afterEach(() => sim?.close());
  const gets = () => sim.requests.filter((r) => r.method === "GET" && r.path.startsWith("/rollouts/"));

  it("polls at the default interval of 30 s when nothing overrides it", async function () {
    this.timeout(120_000);
    // A frozen simulator clock: the rollout moves only when the test advances it.
    sim = await simulator("small", 0);
    const rolloutId = await startRollout(sim);
    const setup = ev2Setup(sim, { rolloutId, pollingIntervalSeconds: undefined }, { timeoutMs: 100_000 });
    const task = startBuiltTask("FollowRollout", setup);
    await task.waitForLine(/polling every/, 20_000);
    while (gets().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    sim.clock.advance(24 * 3600_000);
    const run = await task.done;
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.match(run.stdout, /polling every 30s\./);
    const polls = gets();
    assert.equal(polls.length, 2, "one poll in progress, the next after the interval sees it completed");
    // A lower bound only: a busy machine can make the gap longer, never shorter.
    assert.ok(polls[1].at - polls[0].at >= 29_500, `polled again after ${polls[1].at - polls[0].at} ms`);
  });

  it("writes log lines per change, not per poll: unchanged polls add no line at all", async function () {
    // A frozen simulator clock: nothing changes until the test advances it, however many polls.
    sim = await simulator("small", 0);
    const rolloutId = await startRollout(sim);
    const lines: string[] = [];
    const setup = ev2Setup(
      sim,
      { rolloutId },
      {
        variables: { "System.Debug": "false" },
        onLine: (line, stream) => stream === "stdout" && lines.push(line),
      },
    );
    const task = startBuiltTask("FollowRollout", setup);
    const polled = async (n: number) => {
      while (gets().length < n) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    // The first answer is logged before the second poll is sent; take the count a poll later.
    await polled(3);
    const afterFirst = lines.length;
    assert.ok(
      lines.some((l) => /^\[\d\d:\d\d:\d\dZ\]/.test(l)),
      lines.join("\n"),
    );
    await polled(9);
    assert.deepEqual(lines.slice(afterFirst), [], "six unchanged polls wrote lines");
    assert.ok(
      gets()
        .slice(1)
        .every((g) => g.status === 304),
    );
    sim.clock.advance(24 * 3600_000);
    const run = await task.done;
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    // The rest of the rollout, seen in one poll, is logged in one go: each region's end, each stage's.
    const events = lines.slice(afterFirst).filter((l) => /^\[\d\d:\d\d:\d\dZ\]/.test(l));
    assert.ok(events.length > 0 && events.length <= 6 * 2 + 3 * 2 + 4, events.join("\n"));
  });

  it("rides out an EV2 outage with a warning", async () => {
    sim = await simulator("small", 200);
    const rolloutId = await startRollout(sim);
    const task = startBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId }));
    // The outage starts once the rollout was seen (before that it would be "never answered").
    await task.waitForLine(/Rollout .*stages, status/);
    // Every attempt of one poll (the client's retries included) fails: the poll itself fails.
    sim.addFault({ kind: "status", status: 503, method: "GET", count: defaultRetryPolicy.maxAttempts });
    const run = await task.done;
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(
      run.warnings.filter((w) => /^EV2 is not answering well \(.*503/.test(w)).length,
      1,
      run.warnings.join("\n"),
    );
  });

  it("fails clearly when EV2 keeps answering outside its contract, instead of waiting for the timeout", async function () {
    this.timeout(120_000);
    sim = await simulator("small", 200);
    const rolloutId = await startRollout(sim);
    const task = startBuiltTask("FollowRollout", { ...ev2Setup(sim, { rolloutId }), timeoutMs: 100_000 });
    // Once the rollout was seen, a proxy's sign-in page where EV2 should be: 200 and HTML, on every GET.
    await task.waitForLine(/Rollout .*stages, status/);
    sim.addFault({ kind: "html", status: 200, method: "GET" });
    // Each poll is one call that the client has already retried with backoff: this takes a while.
    const run = await task.done;
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /3 polls in a row were answered with something that is not EV2's contract .*Check the connection's URL/,
    );
    assert.equal(
      run.warnings.filter((w) => /EV2 is not answering well/.test(w)).length,
      1,
      "the outage is announced once, not at every poll",
    );
  });
});
