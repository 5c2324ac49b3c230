import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Simulator } from "../../sim/ev2";
import { startTeamsSink, type TeamsSink } from "../../sim/teams-sink";
import { recordArtifacts, runBuiltTask } from "../support/run-built-task";
import { ev2Setup, rolloutInputs, simulator, startTestRollout } from "./ev2-fixture";

/** A classic release's variables (the agent also sets Build.BuildId: the artifact's build). */
const release = (releaseId: string, environment = "Prod") => ({
  "Release.ReleaseId": releaseId,
  "Release.EnvironmentName": environment,
  "Release.EnvironmentId": "12",
  "Release.DeploymentId": "34",
  "System.StageName": "",
});
const releaseUrl = (releaseId: string, org = "contoso/Orders") =>
  `https://dev.azure.com/${org}/_releaseProgress?releaseId=${releaseId}`;

describe("rolloutId left empty: the newest rollout this release or run started (built tasks)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let sink: TeamsSink | undefined;
  afterEach(async () => {
    await sim?.close();
    await sink?.close();
    sink = undefined;
  });

  /** Starts a rollout with these tags and lets it complete (one rollout per service and environment at a time). */
  async function completedRollout(key: string, tags: Record<string, string>): Promise<string> {
    const id = await startTestRollout(sim, key, "v3", tags);
    sim.clock.advance(24 * 3600_000);
    return id;
  }

  it("FollowRollout in a later environment of a classic release follows the rollout the release started, and says which and why", async () => {
    sim = await simulator("small", 0);
    await completedRollout("older-release", { "ado.releaseId": "41", "ado.runUrl": releaseUrl("41") });
    const ours = await completedRollout("this-release", {
      "ado.releaseId": "42",
      "ado.runUrl": releaseUrl("42"),
    });
    // The same release id in another project: release ids count per project.
    await completedRollout("other-project", {
      "ado.releaseId": "42",
      "ado.runUrl": releaseUrl("42", "fabrikam/Web"),
    });
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(sim, { rolloutId: "" }, { variables: release("42") }),
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.rolloutStatus, "Completed");
    assert.ok(
      run.logLines.includes(
        `Input 'rolloutId' is empty: using rollout ${ours} (PPE, 1.3.2, Completed) created ${sim.rollouts().find((r) => r.rolloutId === ours)!.createdTimestamp}, the newest rollout release 42 started (tag ado.releaseId=42) (1 rollout(s) with that tag were started by another project's run and left alone).`,
      ),
      run.stdout,
    );
    assert.match(run.stdout, new RegExp(`Following rollout ${ours} until it completes`));
    assert.equal(run.outputs.rolloutId, ours, "the rollout found is an output, for a later step of the job");
    const lookups = sim.requests.filter((r) => r.path === "/rollouts");
    assert.equal(lookups.length, 1);
    assert.deepEqual(lookups[0].query, { tag: ["ado.releaseId:42"], top: ["20"] });
    const record = JSON.parse(readFileSync(recordArtifacts(run)[0].path, "utf8"));
    assert.equal(record.rolloutId, ours);
  });

  it("a YAML run looks for its build's tag, and with none fails naming rolloutId and what was searched", async () => {
    sim = await simulator("small", 0);
    await completedRollout("another-run", { "ado.buildId": "4710" });
    const run = await runBuiltTask("FollowRollout", ev2Setup(sim, {}));
    assert.equal(run.result?.result, "Failed");
    assert.equal(
      run.result?.message,
      `Input 'rolloutId' is empty, and EV2 has no rollout that run 4711 started: none is tagged ado.buildId=4711 (searched GET ${sim.url}/rollouts?tag=ado.buildId:4711). Start one with TriggerEv2Rollout earlier in this run, or pass rolloutId, e.g. $(trigger.rolloutId).`,
    );
    assert.equal(sim.requests.filter((r) => r.path.startsWith("/rollouts/")).length, 0, "nothing followed");
  });

  it("TriggerEv2Rollout in environment 1 and GateApproval in environment 2 of one release meet on the release's tag", async () => {
    sim = await simulator("gated", 1200);
    const trigger = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, rolloutInputs, { variables: { ...release("42", "PPE"), "Release.EnvironmentId": "11" } }),
    );
    assert.equal(trigger.result?.result, "Succeeded", trigger.stdout);
    const rolloutId = trigger.outputs.rolloutId;
    const gate = await runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { decision: "approve", requireApproval: "false", waitTimeoutMinutes: "1" },
        { variables: release("42") },
      ),
    );
    assert.equal(gate.result?.result, "Succeeded", gate.stdout);
    assert.match(gate.stdout, new RegExp(`Input 'rolloutId' is empty: using rollout ${rolloutId} \\(PPE, `));
    assert.equal(gate.outputs.rolloutId, rolloutId);
    const decided = sim.requests.filter((r) => r.path.endsWith("/decision"));
    assert.equal(decided.length, 1);
    assert.ok(decided[0].path.startsWith(`/rollouts/${rolloutId}/waitActions/`));
    assert.equal(sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions[0].status, "Approved");
  });

  it("the classic rollback recipe: environment 2 follows the release's rollout, it fails, and the rollback step of the same job rolls back $(follow.rolloutId)", async () => {
    sim = await simulator("failing-region");
    const trigger = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, rolloutInputs, {
        variables: { ...release("43", "Canary"), "Release.EnvironmentId": "11" },
      }),
    );
    assert.equal(trigger.result?.result, "Succeeded", trigger.stdout);
    const bad = trigger.outputs.rolloutId;
    const broad = { variables: release("43", "Broad") };
    const follow = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId: "" }, broad));
    assert.equal(follow.result?.result, "Failed", follow.stdout);
    assert.equal(follow.outputs.rolloutId, bad);
    assert.ok(follow.outputs.verdictAt, "a failed follow says when");
    // "Only when a previous task has failed": the rollback reads the follow step's outputs (reference name follow).
    const rollback = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(
        sim,
        {
          ...rolloutInputs,
          artifactVersion: "lastSucceeded",
          rollbackOf: follow.outputs.rolloutId,
          badVerdictAt: follow.outputs.verdictAt,
        },
        broad,
      ),
    );
    assert.equal(rollback.result?.result, "Succeeded", rollback.stdout);
    assert.equal(rollback.outputs.artifactVersion, "1.3.1");
    assert.notEqual(rollback.outputs.rolloutId, bad);
    assert.equal(sim.rollouts().find((r) => r.rolloutId === bad)?.status, "Failed");
    assert.equal(
      sim.rollouts().find((r) => r.rolloutId === rollback.outputs.rolloutId)?.tags["ado.releaseId"],
      "43",
    );
  });

  it("TeamsNotify posts about the release's rollout; with none, sends nothing and says what was searched", async () => {
    sim = await simulator("small", 0);
    sink = await startTeamsSink();
    const none = await runBuiltTask(
      "TeamsNotify",
      ev2Setup(sim, { webhookUrl: sink.url, notification: "completed" }, { variables: release("42") }),
    );
    assert.equal(none.result?.result, "SucceededWithIssues", none.stdout);
    assert.match(
      none.result!.message,
      /^No card was sent: the completed card is about a rollout\. Input 'rolloutId' is empty, and EV2 has no rollout that release 42 started: none is tagged ado\.releaseId=42 /,
    );
    assert.equal(sink.received.length, 0);

    const ours = await completedRollout("this-release", { "ado.releaseId": "42" });
    const sent = await runBuiltTask(
      "TeamsNotify",
      ev2Setup(sim, { webhookUrl: sink.url }, { variables: release("42") }),
    );
    assert.equal(sent.result?.result, "Succeeded", sent.stdout);
    assert.match(
      sent.stdout,
      new RegExp(`Posting a completed card \\(chosen by auto\\) about rollout ${ours}`),
    );
    assert.equal(sink.received.length, 1);
  });
});
