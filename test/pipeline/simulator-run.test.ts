import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPipeline } from "../../pipeline/runner";
import { startSimulatedServices, type SimulatedServices } from "../../pipeline/simulated-services";
import { builtTasksDirectory } from "../../pipeline/task-process";
import type { DeploymentReport } from "../../shared/report/deployment-report";
import { startTeamsSink, type TeamsSink } from "../../sim/teams-sink";
import { SERVICE_PATH, call, startBody } from "../sim/ev2-http";
import { recorder } from "./fake-tasks";

const triggerStep = (environment: string) => `    - task: TriggerEv2Rollout@1
      name: trigger
      inputs:
        ev2Connection: ev2-orders-ppe
        serviceGroupName: Microsoft.Contoso.Orders
        serviceId: orders-api
        stageMapName: OrdersStageMap
        environment: ${environment}`;

// Only documented inputs, as a user writes them.
const pipeline = `
variables:
  environment: PPE
stages:
- stage: Start
  jobs:
  - job: start
    steps:
${triggerStep("$(environment)")}
        createTrackingBranch: true
- stage: Follow
  jobs:
  - job: follow
    variables:
      rolloutId: $[ stageDependencies.Start.start.outputs['trigger.rolloutId'] ]
    steps:
    - task: FollowRollout@1
      name: follow
      inputs:
        ev2Connection: ev2-orders-ppe
        rolloutId: $(rolloutId)
        until: completion
- stage: Failed
  condition: failed()
  jobs:
  - job: never
    steps:
    - task: FollowRollout@1
      inputs:
        ev2Connection: ev2-orders-ppe
        rolloutId: none
`;

describe("local pipeline runner: the built tasks against the EV2 simulator", function () {
  this.timeout(30_000);
  let services: SimulatedServices;
  let dir: string;

  before(function () {
    if (!existsSync(join(builtTasksDirectory, "FollowRollout", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });
  beforeEach(async () => {
    services = await startSimulatedServices({ scenario: "small", clockSpeed: 1200, buildId: 4242 });
    dir = mkdtempSync(join(tmpdir(), "pipeline-sim-"));
    writeFileSync(join(dir, "azure-pipelines.yml"), pipeline);
  });
  afterEach(() => services.close());

  const play = (out: string) => {
    const rec = recorder();
    const done = runPipeline({
      file: join(dir, "azure-pipelines.yml"),
      outputDirectory: join(dir, out),
      ...services.runOptions,
      onEvent: rec.onEvent,
    });
    return done.then((result) => ({ result, text: rec.text() }));
  };

  it("triggers in one stage and follows in the next to completion; a re-run of the build attaches", async () => {
    const { result, text } = await play("out");
    assert.equal(result.result, "Succeeded", text);
    const [start, follow, failed] = result.stages;
    const trigger = start.jobs[0].steps[0];
    const followStep = follow.jobs[0].steps[0];
    assert.equal(failed.result, "Skipped");
    assert.equal(failed.reason, "condition failed() is false");

    const rollouts = services.ev2.rollouts();
    assert.equal(rollouts.length, 4, "three from the scenario's history, one started");
    const started = rollouts.at(-1)!;
    assert.equal(trigger.outputs.rolloutId, started.rolloutId);
    assert.equal(started.status, "Completed");
    assert.equal(followStep.outputs.rolloutStatus, "Completed");
    assert.equal(followStep.outputs.completedStages, "Stage1-Canary,Stage2-Pilot,Stage3-Broad");
    assert.equal(trigger.outputs.trackingBranch, "ev2/PPE/1.3.2-4242");
    assert.equal(
      services.repository.refs.find((r) => r.name === "refs/heads/ev2/PPE/1.3.2-4242")?.objectId,
      services.commit,
    );

    assert.match(
      text,
      /Stage Start\n {2}Job start\n {4}▶ 1\. Trigger EV2 rollout of orders-api to PPE \[TriggerEv2Rollout@1 · trigger\]/,
    );
    assert.match(text, /↳ trigger\.rolloutId = [0-9a-f-]{36}/);
    assert.match(text, / {8}▾ Stage Stage2-Pilot\n/);
    assert.equal(result.files.records.length, 2);
    const records = result.files.records.map(
      (f) =>
        JSON.parse(readFileSync(f, "utf8")) as {
          task: string;
          run: { buildId: string; stageName: string; jobName: string };
        },
    );
    assert.deepEqual(
      records.map((r) => `${r.task} ${r.run.buildId} ${r.run.stageName}/${r.run.jobName}`),
      ["TriggerEv2Rollout 4242 Start/start", "FollowRollout 4242 Follow/follow"],
    );
    assert.match(readFileSync(result.files.summary!, "utf8"), /### EV2 rollout started[\s\S]*Stage3-Broad/);
    // Each job uploaded its own report; the runner adds one for the whole run.
    assert.deepEqual(result.files.jobReports.map((f) => f.split(/[\\/]/).at(-1)).sort(), [
      "deployment-report.Follow.follow.json",
      "deployment-report.Follow.follow.md",
      "deployment-report.Start.start.json",
      "deployment-report.Start.start.md",
    ]);
    const report = JSON.parse(readFileSync(result.files.report!.json, "utf8")) as DeploymentReport;
    assert.equal(report.outcome, "completed");
    assert.deepEqual(
      report.steps.map((s) => s.task),
      ["TriggerEv2Rollout", "FollowRollout"],
    );
    assert.deepEqual(
      report.rollouts.map((r) => [r.rolloutId, r.status, r.stages.length]),
      [[started.rolloutId, "Completed", 3]],
    );
    for (const secret of services.runOptions.secrets!) assert.ok(!text.includes(secret));

    // The same build again (a re-run): the trigger attaches to the rollout it started.
    const again = await play("out-again");
    assert.equal(again.result.result, "Succeeded", again.text);
    assert.equal(again.result.stages[0].jobs[0].steps[0].outputs.rolloutId, started.rolloutId);
    assert.equal(services.ev2.rollouts().length, 4);
  });
});

describe("examples/rollback-by-hand.yml against the EV2 simulator", function () {
  this.timeout(60_000);
  let services: SimulatedServices;
  let sink: TeamsSink;
  let dir: string;

  beforeEach(async () => {
    services = await startSimulatedServices({ scenario: "small", clockSpeed: 1200, buildId: 5151 });
    sink = await startTeamsSink();
    dir = mkdtempSync(join(tmpdir(), "pipeline-rollback-"));
  });
  afterEach(async () => {
    await Promise.all([services.close(), sink.close()]);
  });

  const play = (badRolloutId: string, out: string, buildId?: string) =>
    runPipeline({
      file: join(__dirname, "..", "..", "examples", "rollback-by-hand.yml"),
      outputDirectory: join(dir, out),
      ...services.runOptions,
      run: { ...services.runOptions.run, ...(buildId ? { buildId } : {}) },
      parameters: { badRolloutId },
      secretVariables: { teamsWebhookUrl: sink.url },
    });

  it("cancels the bad rollout, rolls out the last good version once, follows it and tells the team; a re-run starts nothing", async () => {
    const lastGood = services.ev2
      .rollouts()
      .filter((r) => r.status === "Completed")
      .sort((a, b) => b.createdTimestamp.localeCompare(a.createdTimestamp))[0];
    // The bad rollout, started outside this pipeline.
    const started = await call(services.ev2, "POST", `${SERVICE_PATH}/rollouts`, {
      body: startBody(),
      headers: {
        authorization: `Bearer ${services.runOptions.secrets![0]}`,
        "idempotency-key": "started-elsewhere",
      },
    });
    assert.equal(started.status, 201, started.text);
    const bad = (started.body as { rolloutId: string }).rolloutId;
    const before = services.ev2.rollouts().length;

    // The bad rollout must still be running when the pipeline cancels it, however slowly this
    // machine starts the tasks: the clock stands still until the cancel has landed.
    services.ev2.clock.speed = 0;
    const resumed = resumeClockOnceCancelled(services, bad, 1200);
    const result = await play(bad, "first");
    await resumed;
    assert.equal(result.result, "Succeeded", JSON.stringify(result.stages, null, 1));
    const steps = result.stages[0].jobs[0].steps;
    const rollbackId = steps[0].outputs.rolloutId;
    const rollouts = services.ev2.rollouts();
    assert.equal(rollouts.length, before + 1, "exactly one rollback rollout");
    assert.equal(rollouts.find((r) => r.rolloutId === bad)?.status, "Cancelled");
    const rollback = rollouts.find((r) => r.rolloutId === rollbackId)!;
    assert.equal(rollback.artifactVersionNumber, lastGood.artifactVersionNumber);
    assert.equal(rollback.status, "Completed");
    assert.equal(steps[1].outputs.rolloutStatus, "Completed");
    assert.equal(sink.received.length, 1);
    assert.match(JSON.stringify(sink.received[0].body), /Rolled back/);
    const report = JSON.parse(readFileSync(result.files.report!.json, "utf8")) as DeploymentReport;
    assert.equal(report.outcome, "rolledBack");
    assert.equal(report.rollbacks[0].rolledBackRolloutId, bad);

    // The same run again (Build.BuildId unchanged): it attaches to the rollback it started.
    const again = await play(bad, "again");
    assert.equal(again.result, "Succeeded");
    assert.equal(again.stages[0].jobs[0].steps[0].outputs.rolloutId, rollbackId);
    assert.equal(services.ev2.rollouts().length, before + 1);

    // Another run (queued again, or a hand rollback after the automatic one): the rollback is
    // found by its tag and attached to, not started a second time.
    const other = await play(bad, "other-run", "5252");
    assert.equal(other.result, "Succeeded");
    const otherTrigger = other.stages[0].jobs[0].steps[0];
    assert.equal(otherTrigger.outputs.rolloutId, rollbackId);
    assert.equal(otherTrigger.outputs.artifactVersion, lastGood.artifactVersionNumber);
    assert.equal(services.ev2.rollouts().length, before + 1);
  });
});

// A stage per EV2 wait action: the environment approval before Broad is the human decision.
const approvalPipeline = `
stages:
- stage: Canary
  jobs:
  - job: canary
    steps:
${triggerStep("PPE")}
    - task: FollowRollout@1
      name: toGate
      inputs:
        ev2Connection: ev2-orders-ppe
        rolloutId: $(trigger.rolloutId)
        until: waitAction
- stage: Broad
  dependsOn: Canary
  jobs:
  - deployment: broad
    environment: orders-prod
    variables:
      rolloutId: $[ stageDependencies.Canary.canary.outputs['trigger.rolloutId'] ]
    strategy:
      runOnce:
        deploy:
          steps:
          - task: GateApproval@1
            name: gate
            inputs:
              ev2Connection: ev2-orders-ppe
              rolloutId: $(rolloutId)
              decision: approve
- stage: Rejected
  dependsOn: [Canary, Broad]
  condition: failed('Broad')
  jobs:
  - job: reject
    variables:
      rolloutId: $[ stageDependencies.Canary.canary.outputs['trigger.rolloutId'] ]
    steps:
    - task: GateApproval@1
      name: gate
      inputs:
        ev2Connection: ev2-orders-ppe
        rolloutId: $(rolloutId)
        decision: reject
`;

describe("local pipeline runner: environment approvals, as a real run exposes them", function () {
  this.timeout(30_000);
  let services: SimulatedServices | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pipeline-approval-"));
    writeFileSync(join(dir, "azure-pipelines.yml"), approvalPipeline);
  });
  afterEach(() => services?.close());

  const play = async (approvals: Parameters<typeof startSimulatedServices>[0]["approvals"]) => {
    services = await startSimulatedServices({
      scenario: "gated",
      clockSpeed: 1200,
      buildId: 4343,
      approvals,
    });
    const rec = recorder();
    const result = await runPipeline({
      file: join(dir, "azure-pipelines.yml"),
      outputDirectory: join(dir, "out"),
      ...services.runOptions,
      onEvent: rec.onEvent,
    });
    const rollout = services.ev2
      .rollouts()
      .find((r) => r.waitActions.length > 0 && r.tags?.["ado.buildId"] !== "x");
    return { result, text: rec.text(), action: services.ev2.rollouts().at(-1)!.waitActions[0], rollout };
  };
  const stage = (r: Awaited<ReturnType<typeof play>>, name: string) =>
    r.result.stages.find((s) => s.name === name)!;

  it("the simulated release manager approves; GateApproval finds the approval and carries it into EV2", async () => {
    const run = await play({});
    assert.equal(stage(run, "Broad").result, "Succeeded", run.text);
    assert.equal(stage(run, "Rejected").result, "Skipped");
    assert.equal(run.action.status, "Approved");
    assert.match(run.action.decidedBy ?? "", /^Riley Release-Manager <riley\.release-manager@contoso\.com>$/);
    assert.match(
      run.action.comment ?? "",
      /^Approved for orders-prod \(simulated release manager\)\. \(Azure DevOps approval, /,
    );
    assert.match(run.text, /Stage Broad: environment 'orders-prod' approved by Riley Release-Manager/);
  });

  it("a rejection fails the stage unrun; the stage run on it rejects the EV2 wait action with the rejecter and comment", async () => {
    const run = await play({
      reject: "orders-prod",
      approver: "Sam Lead <sam@contoso.com>",
      comment: "Error budget spent",
    });
    assert.equal(stage(run, "Broad").result, "Failed", run.text);
    assert.equal(stage(run, "Broad").jobs.length, 0);
    assert.equal(stage(run, "Rejected").result, "Succeeded", run.text);
    assert.equal(run.action.status, "Rejected");
    assert.equal(run.action.decidedBy, "Sam Lead <sam@contoso.com>");
    assert.match(run.action.comment ?? "", /^Error budget spent \(Azure DevOps rejection, /);
  });
});

/** Sets the simulator's clock going at `speed` once `rolloutId` is cancelled (or after 60 s). */
async function resumeClockOnceCancelled(services: SimulatedServices, rolloutId: string, speed: number) {
  const until = Date.now() + 60_000;
  while (
    services.ev2.rollouts().find((r) => r.rolloutId === rolloutId)?.status !== "Cancelled" &&
    Date.now() < until
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
  services.ev2.clock.speed = speed;
}
