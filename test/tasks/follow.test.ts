import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadScenario, startSimulator, type Simulator } from "../../sim/ev2";
import { recordArtifacts, runBuiltTask, startBuiltTask } from "../support/run-built-task";
import { TOKEN, ev2Setup, simulator, startTestRollout } from "./ev2-fixture";

const startRollout = (sim: Simulator) => startTestRollout(sim, "follow-test");

describe("FollowRollout (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  afterEach(() => sim?.close());
  const gets = () => sim.requests.filter((r) => r.method === "GET" && r.path.startsWith("/rollouts/"));

  it("follows a rollout to completion, logging each change once, grouped per stage", async () => {
    // 100x: about 12 s of 1 s polls over the 1210 simulated seconds, several polls per stage.
    sim = await simulator("small", 100);
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId }));
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.rolloutStatus, "Completed");
    assert.equal(run.outputs.completedStages, "Stage1-Canary,Stage2-Pilot,Stage3-Broad");
    assert.equal(run.outputs.pendingRegions, "");
    assert.equal(run.outputs.deployedRegions.split(",").length, 6);
    assert.equal(run.outputs.failedStage, "");
    const groups = run.stdout.split("\n").filter((l) => l.startsWith("##[group]"));
    assert.deepEqual(groups, [
      "##[group]Stage Stage1-Canary",
      "##[group]Stage Stage2-Pilot",
      "##[group]Stage Stage3-Broad",
    ]);
    assert.equal(run.stdout.split("\n").filter((l) => l === "##[endgroup]").length, 3);
    assert.match(run.stdout, /Stage Stage2-Pilot: Completed in \d+m \d+s/);
    assert.equal(run.progress.at(-1)?.value, 100);
    // one line per region start and end, plus stage lines: not one per poll
    const eventLines = run.logLines.filter((l) => /^\[\d\d:\d\d:\d\dZ\]/.test(l));
    assert.ok(eventLines.length <= 6 * 2 + 3 * 2 + 4, eventLines.join("\n"));
    assert.ok(
      gets().every((g) => g === gets()[0] || g.headers["if-none-match"]),
      "every poll after the first is conditional",
    );
    // Each change brings a new ETag, and the next poll asks with that one, not an older one.
    const polls = gets();
    for (let i = 1; i + 1 < polls.length; i++)
      if (polls[i].status === 200)
        assert.notEqual(
          polls[i + 1].headers["if-none-match"],
          polls[i].headers["if-none-match"],
          `poll ${i + 1} asks with the ETag of the answer before the change`,
        );
    assert.ok(polls.filter((g) => g.status === 304).length > 0, "unchanged polls answered 304");
    const summary = readFileSync(run.summaries[0], "utf8");
    assert.match(summary, /\| Stage3-Broad \| Completed \|/);
    // Each region with how long it took.
    assert.match(summary, /eastus2euap ✅ \d+m \d+s<br>centraluseuap ✅ \d+m \d+s/);
  });

  it("fails on a failed region naming the stage, region, error code and what to do", async () => {
    sim = await simulator("failing-region");
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId }));
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /^Stage Stage2-Pilot in uksouth failed: ServiceHealthCheckFailed: .+ The deployed service failed its health checks/,
    );
    assert.equal(run.outputs.failedStage, "Stage2-Pilot");
    assert.equal(run.outputs.rolloutStatus, "Failed");
  });

  it("onFailure: cancelRollout cancels the rollout as soon as a region fails, before the rest of its stage deploys", async () => {
    // 100x: a 1 s poll sees 100 s of the 240 s between uksouth failing and westcentralus completing.
    sim = await simulator("failing-region", 100);
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, onFailure: "cancelRollout" }));
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /^Stage Stage2-Pilot in uksouth failed: ServiceHealthCheckFailed: .+ The rest of the rollout was cancelled\./,
    );
    assert.equal(sim.requests.filter((r) => r.path.endsWith("/cancel")).length, 1);
    assert.equal(run.outputs.failedStage, "Stage2-Pilot");
    assert.equal(run.outputs.rolloutStatus, "Cancelled");
    const rollout = sim.rollouts().find((r) => r.rolloutId === rolloutId)!;
    assert.equal(rollout.status, "Cancelled");
    const pilot = rollout.stages.find((st) => st.name === "Stage2-Pilot")!;
    assert.notEqual(
      pilot.regions.find((g) => g.name === "westcentralus")?.status,
      "Completed",
      "westcentralus was still deploying when the rollout was cancelled",
    );
  });

  it("restarts a transient failure once with restartFailed and then completes", async () => {
    sim = await simulator("transient-failure");
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, restartFailed: true }));
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(sim.requests.filter((r) => r.path.endsWith("/restart")).length, 1);
    assert.match(run.stdout, /InternalTimeout .*restarting its failed regions once/);
  });

  it("restartFailed restarts once, even across a re-run: a region that fails again after its restart stays failed", async () => {
    const scenario = structuredClone(loadScenario("transient-failure"));
    scenario.name = "transient-twice";
    scenario.serviceGroups[0].services[0].stageMaps[0].failures![0].restartable = false;
    sim = await startSimulator({ scenario, clockSpeed: 600, tokens: [TOKEN] });
    const rolloutId = await startRollout(sim);
    const restarts = () => sim!.requests.filter((r) => r.path.endsWith("/restart")).length;

    const first = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, restartFailed: true }));
    assert.equal(first.result?.result, "Failed", first.stdout);
    assert.equal(restarts(), 1);
    // The job is re-run (a new process that knows nothing of the first): no second restart.
    const again = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, restartFailed: true }));
    assert.equal(again.result?.result, "Failed", again.stdout);
    assert.match(again.result!.message, /InternalTimeout/);
    assert.equal(restarts(), 1);
  });

  it("stops at the approval gate with until: waitAction and outputs its id", async () => {
    sim = await simulator("gated");
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, until: "waitAction" }));
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.waitActionId, "wait-1");
    assert.equal(run.outputs.waitingStage, "Stage3-Broad");
    assert.equal(run.outputs.rolloutStatus, "Waiting");
  });

  it("newRegions: the regions deployed since the last gate, by EV2's times, however late the step starts", async () => {
    const scenario = structuredClone(loadScenario("gated"));
    scenario.serviceGroups[0].services[0].stageMaps[0].waitActions = [
      { actionId: "wait-1", beforeStage: "Stage2-Pilot", reason: "ManualApproval" },
      { actionId: "wait-2", beforeStage: "Stage3-Broad", reason: "ManualApproval" },
    ];
    sim = await startSimulator({ scenario, clockSpeed: 1200, tokens: [TOKEN] });
    const rolloutId = await startRollout(sim);
    const follow = (until: string) => runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, until }));
    const approve = async (actionId: string) => {
      const decided = await fetch(`${sim.url}/rollouts/${rolloutId}/waitActions/${actionId}/decision`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ decision: "Approve", decidedBy: "Alice Approver", comment: "ok" }),
      });
      assert.equal(decided.status, 200);
    };

    const canary = await follow("waitAction");
    assert.equal(canary.outputs.waitActionId, "wait-1", canary.stdout);
    assert.equal(canary.outputs.newRegions, "eastus2euap,centraluseuap");
    await approve("wait-1");
    const pilot = await follow("waitAction");
    assert.equal(pilot.outputs.waitActionId, "wait-2", pilot.stdout);
    assert.equal(pilot.outputs.newRegions, "westcentralus,uksouth");
    assert.equal(pilot.outputs.deployedRegions.split(",").length, 4);
    // Started again later, in another job, with wait-2 still pending: the same answer.
    const latePilot = await follow("waitAction");
    assert.equal(latePilot.outputs.newRegions, "westcentralus,uksouth");
    await approve("wait-2");
    while (sim.rollouts().find((r) => r.rolloutId === rolloutId)?.status !== "Completed")
      await new Promise((resolve) => setTimeout(resolve, 50));
    const broad = await follow("completion");
    assert.equal(broad.outputs.rolloutStatus, "Completed", broad.stdout);
    assert.equal(broad.outputs.newRegions, "eastus,westeurope");
  });

  it("with until: completion, says an approval is pending once and keeps following until it is given", async () => {
    sim = await simulator("gated", 1200);
    const rolloutId = await startRollout(sim);
    const task = startBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, until: "completion" }));
    await task.waitForLine(
      /An approval is pending: gate wait-1 before stage Stage3-Broad\. Still following/,
      20_000,
    );
    const decided = await fetch(`${sim.url}/rollouts/${rolloutId}/waitActions/wait-1/decision`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ decision: "Approve", decidedBy: "Alice Approver", comment: "looks good" }),
    });
    assert.equal(decided.status, 200);
    const run = await task.done;
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.rolloutStatus, "Completed");
    assert.equal(run.stdout.match(/An approval is pending/g)?.length, 1, "said once, not at every poll");
  });

  it("follows until a named stage completes", async () => {
    // 150x: a 1 s poll sees about 150 of a stage's 400 simulated seconds.
    sim = await simulator("small", 150);
    const rolloutId = await startRollout(sim);
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(sim, { rolloutId, until: "stage", stageName: "Stage2-Pilot" }),
    );
    assert.equal(run.result?.result, "Succeeded");
    assert.match(run.outputs.completedStages, /Stage2-Pilot/);
    assert.doesNotMatch(run.outputs.completedStages, /Stage3-Broad/);
  });

  for (const [what, inputs, message] of [
    [
      "an out-of-range interval",
      { pollingIntervalSeconds: "0" },
      /Input 'pollingIntervalSeconds' must be a whole number from 1 to 300 seconds \(got 0\)/,
    ],
    ["until: stage without a stage", { until: "stage" }, /Input 'stageName' is required when until is stage/],
    ["an unknown until", { until: "forever" }, /Input 'until' must be one of completion, stage, waitAction/],
    ["a malformed rollout id", { rolloutId: "r 1" }, /Input 'rolloutId' must be an EV2 rollout id/],
  ] as const) {
    it(`fails on ${what} with nothing sent`, async () => {
      sim = await simulator("small");
      const run = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId: "r-1", ...inputs }));
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, message);
      assert.equal(sim.requests.length, 0);
    });
  }

  for (const onPipelineCancel of ["leaveRunning", "cancelRollout"] as const) {
    it(`on pipeline cancel stops within 5 s, writes the record and ${onPipelineCancel === "leaveRunning" ? "leaves the rollout running" : "cancels the rollout"}`, async () => {
      sim = await simulator("small", 10);
      const rolloutId = await startRollout(sim);
      const task = startBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId, onPipelineCancel }));
      await task.waitForLine(/Stage Stage1-Canary started/);
      const sentAt = Date.now();
      task.child.kill("SIGINT");
      const run = await task.done;
      assert.ok(Date.now() - sentAt < 5000, `exited after ${Date.now() - sentAt} ms`);
      assert.equal(run.result?.result, "Failed");
      assert.equal(recordArtifacts(run).length, 1, "the record is published");
      const status = sim.rollouts().find((r) => r.rolloutId === rolloutId)?.status;
      assert.equal(status, onPipelineCancel === "leaveRunning" ? "InProgress" : "Cancelled");
    });
  }
});
