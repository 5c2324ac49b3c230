/**
 * Classic release definitions played end to end: the built task bundles, each in its own Node
 * process, against the EV2 simulator and the Azure DevOps slice over real HTTP; approvals
 * recorded in the release approvals API, gates sampled on the simulator's clock.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareRelease, runRelease } from "../../../pipeline/classic/release-player";
import {
  simulatedRelease,
  type SimulatedReleaseApprovalOptions,
} from "../../../pipeline/classic/simulated-release";
import { ev2NamesOf, scenarioForPipeline } from "../../../pipeline/pipeline-world";
import { startSimulatedServices, type SimulatedServices } from "../../../pipeline/simulated-services";
import { builtTasksDirectory } from "../../../pipeline/task-process";
import { recorder } from "../fake-tasks";

const root = join(__dirname, "..", "..", "..");
const example = join(root, "examples", "classic-release.json");
const payments = join(__dirname, "fixtures", "payments-rings.json");

describe("classic release played against the EV2 simulator", function () {
  this.timeout(60_000);
  let services: SimulatedServices;
  let dir: string;

  before(function () {
    if (!existsSync(join(builtTasksDirectory, "GateApproval", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });
  afterEach(() => services?.close());

  /** Starts the simulator with the release's own EV2 names, as `npm run pipeline -- <file> --sim` does. */
  async function start(file: string, scenario: string, text = readFileSync(file, "utf8"), clockSpeed = 1200) {
    const names = ev2NamesOf(prepareRelease(text, {}).pipeline.definition);
    services = await startSimulatedServices({
      scenario: scenarioForPipeline(scenario, names),
      clockSpeed,
      buildId: 8080,
    });
    dir = mkdtempSync(join(tmpdir(), "classic-release-"));
  }

  async function play(file: string, approvals: SimulatedReleaseApprovalOptions = {}, text?: string) {
    const rec = recorder();
    const result = await runRelease({
      file,
      text,
      outputDirectory: join(dir, "out"),
      ...services.runOptions,
      ...simulatedRelease(services, approvals),
      onEvent: rec.onEvent,
    });
    return { result, text: rec.text() };
  }

  const started = () => services.ev2.rollouts().filter((r) => r.tags?.["ado.releaseId"] === "8080");

  it("plays examples/classic-release.json to success: one rollout, approved in EV2 by the release's approver, completed, gate passed", async () => {
    await start(example, "gated");
    const { result, text } = await play(example);
    assert.equal(result.result, "Succeeded", text);
    assert.deepEqual(
      result.stages.map((s) => [s.name, s.result]),
      [
        ["Canary", "Succeeded"],
        ["Broad", "Succeeded"],
      ],
    );
    const rollouts = started();
    assert.equal(rollouts.length, 1, "one rollout started by the release");
    const rollout = rollouts[0];
    assert.equal(rollout.status, "Completed");
    assert.equal(rollout.waitActions[0].status, "Approved");
    assert.match(rollout.waitActions[0].decidedBy ?? "", /^Sam Lead <sam\.lead@contoso\.com>/);
    // Broad left rolloutId empty and found the rollout Canary started, by the release's tag.
    const [approve, follow, rollback] = result.stages[1].jobs[0].steps;
    assert.equal(approve.outputs.decision, "approved");
    assert.equal(rollback.result, "Skipped", "the rollback runs only after a bad verdict");
    assert.equal(follow.outputs.rolloutStatus, "Completed");
    assert.match(
      text,
      /Input 'rolloutId' is empty: using rollout [0-9a-f-]{36} .*the newest rollout release 8080 started/,
    );
    // Approvals as Azure DevOps keeps them: Canary's automatic, Broad's by Sam Lead.
    assert.deepEqual(
      services.project.releaseApprovals.map((a) => [
        a.releaseEnvironment.name,
        a.approvalType,
        a.status,
        a.isAutomated,
        a.approvedBy?.displayName,
      ]),
      [
        ["Canary", "preDeploy", "approved", true, undefined],
        ["Canary", "postDeploy", "approved", true, undefined],
        ["Broad", "preDeploy", "approved", false, "Sam Lead"],
        ["Broad", "postDeploy", "approved", true, undefined],
      ],
    );
    assert.match(text, /The post-deployment gates of Broad: sample 1: EV2 rollout healthy passed/);
    assert.match(text, /The post-deployment gates of Broad: passed at sample 1/);
    // The records carry the release's identity.
    const records = result.files.records.map(
      (f) =>
        JSON.parse(readFileSync(f, "utf8")) as {
          task: string;
          run: { releaseId?: string; stageName?: string };
        },
    );
    assert.deepEqual(
      records.map((r) => `${r.task} ${r.run.releaseId} ${r.run.stageName}`),
      [
        "TriggerEv2Rollout 8080 Canary",
        "FollowRollout 8080 Canary",
        "GateApproval 8080 Broad",
        "FollowRollout 8080 Broad",
      ],
    );
    for (const secret of services.runOptions.secrets!) assert.ok(!text.includes(secret));
  });

  it("a rejected pre-deployment approval: Broad is not deployed and the EV2 wait action stays undecided", async () => {
    await start(example, "gated");
    const { result, text } = await play(example, { reject: "Broad", comment: "Not during the sale" });
    assert.equal(result.result, "Failed", text);
    const broad = result.stages[1];
    assert.equal(broad.result, "Failed");
    assert.equal(
      broad.reason,
      'the pre-deployment approval of Broad was rejected by Sam Lead: "Not during the sale"',
    );
    assert.deepEqual(broad.jobs, [], "no job of Broad ran");
    const rollout = started()[0];
    assert.equal(rollout.status, "Waiting");
    assert.equal(rollout.waitActions[0].status, "Waiting");
    assert.doesNotMatch(text, /post-deployment gates of Broad/);
  });

  it("plays a release written apart from the example (its own names, dev task ids, a group approver, gates before the approval)", async () => {
    await start(payments, "gated");
    const { result, text } = await play(payments);
    assert.equal(result.result, "Succeeded", text);
    // Environments by rank, whatever their order in the file.
    assert.deepEqual(
      result.stages.map((s) => [s.name, s.result]),
      [
        ["Ring 0 (canary)", "Succeeded"],
        ["Ring 1 (broad)", "Succeeded"],
      ],
    );
    const rollout = started()[0];
    assert.deepEqual(
      [rollout.serviceGroupName, rollout.serviceId, rollout.environment, rollout.status],
      ["Contoso.Payments", "payments-api", "Prod", "Completed"],
    );
    // A group approves through one of its members: the release manager decides.
    assert.match(rollout.waitActions[0].decidedBy ?? "", /^Riley Release-Manager/);
    // executionOrder 2: the pre-deployment gate passed before the approval was asked.
    const gate = text.indexOf("The pre-deployment gates of Ring 1 (broad): passed at sample 1");
    const approval = text.indexOf("The pre-deployment approval of Ring 1 (broad) was approved");
    assert.ok(gate >= 0 && approval > gate, text);
    // minimumSuccessDuration 10 with a 5-minute interval: three passing samples in a row.
    assert.match(text, /The post-deployment gates of Ring 1 \(broad\): passed at sample 3/);
    assert.match(text, /! release variables: secret variable unusedSecret has no value/);
  });

  it("the independently written release with its approval rejected: Ring 1 fails unrun, nothing is approved in EV2", async () => {
    await start(payments, "gated");
    const { result, text } = await play(payments, { reject: "first" });
    assert.equal(result.result, "Failed", text);
    assert.match(
      result.stages[1].reason ?? "",
      /^the pre-deployment approval of Ring 1 \(broad\) was rejected by Riley/,
    );
    assert.equal(started()[0].waitActions[0].status, "Waiting");
    const rejected = services.project.releaseApprovals.filter((a) => a.status === "rejected");
    assert.deepEqual(
      rejected.map((a) => [a.releaseEnvironment.name, a.approver.displayName, a.comments]),
      [
        [
          "Ring 1 (broad)",
          "[Payments]\\Release Approvers",
          "Not now: rejected before Ring 1 (broad) (simulated release manager).",
        ],
      ],
    );
  });

  it("a gate that never passes fails its environment at the gate's timeout, and what depends on it does not run", async () => {
    // Canary's post-deployment gate waits for completion, but the rollout waits at wait-1.
    const release = JSON.parse(readFileSync(example, "utf8"));
    const gate = structuredClone(release.environments[1].postDeploymentGates);
    gate.gatesOptions = {
      isEnabled: true,
      timeout: 30,
      samplingInterval: 10,
      stabilizationTime: 0,
      minimumSuccessDuration: 0,
    };
    release.environments[0].postDeploymentGates = gate;
    const text = JSON.stringify(release);
    await start(example, "gated", text);
    const run = await play(example, {}, text);
    assert.equal(run.result.result, "Failed", run.text);
    const [canary, broad] = run.result.stages;
    assert.equal(canary.result, "Failed");
    assert.match(
      canary.reason ?? "",
      /^The post-deployment gates of Canary did not pass within 30 min \(\d+ sample\(s\)\): EV2 rollout healthy: GET .* success criteria not met: rollout [0-9a-f-]{36} is Waiting$/,
    );
    assert.equal(broad.result, "Skipped");
    assert.match(run.text, /sample 1: EV2 rollout healthy did not pass/);
  });

  it("a gate sampled while the rollout runs passes once EV2 says it completed", async () => {
    // Canary alone: start the rollout and let the post-deployment gate wait for its completion.
    const release = JSON.parse(readFileSync(example, "utf8"));
    const canary = release.environments[0];
    canary.deployPhases[0].workflowTasks = canary.deployPhases[0].workflowTasks.slice(0, 1);
    canary.postDeploymentGates = structuredClone(release.environments[1].postDeploymentGates);
    canary.postDeploymentGates.gatesOptions.stabilizationTime = 0;
    release.environments = [canary];
    const text = JSON.stringify(release);
    // A slower clock: the rollout must still be running when the gates first look.
    await start(example, "small", text, 300);
    const run = await play(example, {}, text);
    assert.equal(run.result.result, "Succeeded", run.text);
    assert.match(run.text, /sample 1: EV2 rollout healthy did not pass .*is (NotStarted|InProgress)/);
    const passedAt = Number(
      /The post-deployment gates of Canary: passed at sample (\d+)/.exec(run.text)?.[1],
    );
    assert.ok(passedAt > 1, run.text);
    assert.equal(started()[0].status, "Completed");
  });
});
