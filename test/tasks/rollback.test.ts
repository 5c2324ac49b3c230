import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AdaptiveCard } from "../../shared/teams/adaptive-card";
import type { Simulator } from "../../sim/ev2";
import { startTeamsSink } from "../../sim/teams-sink";
import { runBuiltTask } from "../support/run-built-task";
import { assertValidTeamsMessage } from "../teams/adaptive-card-validator";
import { cardText } from "../teams/card-text-of";
import { ev2Setup, rolloutInputs, simulator } from "./ev2-fixture";

describe("Rollback with TriggerEv2Rollout (built task)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  beforeEach(async () => (sim = await simulator("small", 1)));
  afterEach(() => sim.close());

  const rollbackJob = { "System.JobName": "rollback" };

  it("cancels the bad rollout and starts exactly one rollout of the last good version, reporting time to safety", async () => {
    const bad = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    assert.equal(bad.outputs.artifactVersion, "1.3.2");
    const verdictAt = new Date().toISOString();
    const rollback = () =>
      runBuiltTask(
        "TriggerEv2Rollout",
        ev2Setup(
          sim,
          {
            ...rolloutInputs,
            artifactVersion: "lastSucceeded",
            rollbackOf: bad.outputs.rolloutId,
            badVerdictAt: verdictAt,
          },
          { variables: rollbackJob },
        ),
      );
    const run = await rollback();
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.artifactVersion, "1.3.1");
    assert.notEqual(run.outputs.rolloutId, bad.outputs.rolloutId);
    assert.equal(sim.rollouts().find((r) => r.rolloutId === bad.outputs.rolloutId)?.status, "Cancelled");
    assert.match(
      run.stdout,
      /the version of the last Completed rollout to PPE \(11111111-1111-4111-8111-111111111111/,
    );
    const seconds = Number(run.outputs.timeToSafetySeconds);
    assert.ok(seconds >= 0 && seconds < 30, `time to safety ${seconds} s`);
    const record = JSON.parse(readFileSync(run.artifacts[0].path, "utf8"));
    assert.equal(record.details.rollbackOf, bad.outputs.rolloutId);
    assert.equal(typeof record.details.timeToSafetySeconds, "number");

    const again = await rollback();
    assert.equal(
      again.outputs.rolloutId,
      run.outputs.rolloutId,
      "re-running the rollback job starts nothing new",
    );
    const starts = sim.requests.filter(
      (r) => r.method === "POST" && r.path.endsWith("/rollouts") && r.status === 201,
    );
    assert.equal(starts.length, 2, "the bad rollout and one rollback");
  });

  it("another pipeline run rolling back the same bad rollout attaches to the first rollback instead of starting a second", async () => {
    const bad = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    const rollbackIn = (buildId: string, jobName: string) =>
      runBuiltTask(
        "TriggerEv2Rollout",
        ev2Setup(
          sim,
          { ...rolloutInputs, artifactVersion: "lastSucceeded", rollbackOf: bad.outputs.rolloutId },
          { variables: { "Build.BuildId": buildId, "System.JobName": jobName } },
        ),
      );
    const first = await rollbackIn("4711", "rollback");
    assert.equal(first.result?.result, "Succeeded", first.stdout);
    // Another run (another Build.BuildId, so another idempotency key), another job name.
    const other = await rollbackIn("4800", "hand_rollback");
    assert.equal(other.result?.result, "Succeeded", other.stdout);
    assert.equal(other.outputs.rolloutId, first.outputs.rolloutId);
    assert.match(
      other.stdout,
      new RegExp(
        `Rollout ${bad.outputs.rolloutId} is already being rolled back by rollout ${first.outputs.rolloutId} `,
      ),
    );
    const starts = sim.requests.filter(
      (r) => r.method === "POST" && r.path.endsWith("/rollouts") && r.status === 201,
    );
    assert.equal(starts.length, 2, "the bad rollout and one rollback");
  });

  /** A bad rollout that got through the canary stage and into the pilot's regions, then its rollback. */
  async function rolledBackMidway() {
    const bad = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    // Simulated time: 10 s start delay, the canary (360 s), 100 s into the pilot's regions.
    sim.clock.advance(470_000);
    const rollback = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(
        sim,
        { ...rolloutInputs, artifactVersion: "lastSucceeded", rollbackOf: bad.outputs.rolloutId },
        { variables: rollbackJob },
      ),
    );
    assert.equal(rollback.result?.result, "Succeeded", rollback.stdout);
    return { bad, rollback };
  }
  const regionsOf = (rolloutId: string) =>
    sim
      .rollouts()
      .find((r) => r.rolloutId === rolloutId)!
      .stages.flatMap((st) => st.regions);

  it("TeamsNotify auto with rollbackOf tells the team what was rolled back, why, how fast and how far", async () => {
    const { bad, rollback } = await rolledBackMidway();
    const sink = await startTeamsSink();
    try {
      const run = await runBuiltTask(
        "TeamsNotify",
        ev2Setup(sim, {
          webhookUrl: sink.url,
          rolloutId: rollback.outputs.rolloutId,
          rollbackOf: bad.outputs.rolloutId,
          timeToSafetySeconds: rollback.outputs.timeToSafetySeconds,
        }),
      );
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assertValidTeamsMessage(sink.received[0].body);
      const card = (sink.received[0].body as { attachments: [{ content: AdaptiveCard }] }).attachments[0]
        .content;
      const text = cardText(card);
      for (const expected of [
        "↩️ Rolled back to 1.3.1",
        `Rolled back: ${bad.outputs.rolloutId}`,
        "Bad version: 1.3.2",
        "Its status: Cancelled",
        "(bad verdict → rollback accepted by EV2)",
        // Just started: none of the 4 regions the bad version reached is back yet.
        "Mitigated: Not yet: 0 of 4 regions back on 1.3.1; not back yet: eastus2euap, centraluseuap, westcentralus, uksouth",
        `Rollout: ${rollback.outputs.rolloutId}`,
      ]) {
        assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
      }
    } finally {
      await sink.close();
    }
  });

  it("FollowRollout with rollbackOf verifies the rollback: every region that got the bad version back on the good one, with both times", async () => {
    const { bad, rollback } = await rolledBackMidway();
    const reached = regionsOf(bad.outputs.rolloutId).filter((g) => g.startTime);
    assert.deepEqual(
      reached.map((g) => `${g.name} ${g.status}`),
      ["eastus2euap Completed", "centraluseuap Completed", "westcentralus Cancelled", "uksouth Cancelled"],
    );
    sim.clock.speed = 200; // the rollback's 1210 simulated seconds in about 6 s
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(
        sim,
        {
          rolloutId: rollback.outputs.rolloutId,
          rollbackOf: bad.outputs.rolloutId,
          timeToSafetySeconds: rollback.outputs.timeToSafetySeconds,
        },
        { variables: rollbackJob },
      ),
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.mitigated, "true");
    // EV2's time of the last region that had the bad version coming back: the pilot's uksouth,
    // before the broad stage (never reached by the bad version) completes the rollback.
    const good = regionsOf(rollback.outputs.rolloutId);
    const endOf = (name: string) => good.find((g) => g.name === name)!.endTime!;
    assert.equal(run.outputs.mitigatedAt, new Date(endOf("uksouth")).toISOString());
    assert.ok(Date.parse(run.outputs.mitigatedAt) < Date.parse(endOf("westeurope")));
    const created = sim.rollouts().find((r) => r.rolloutId === rollback.outputs.rolloutId)!.createdTimestamp;
    const afterAccepted = (Date.parse(endOf("uksouth")) - Date.parse(created)) / 1000;
    assert.equal(
      run.outputs.timeToMitigatedSeconds,
      (Number(rollback.outputs.timeToSafetySeconds) + afterAccepted).toFixed(1),
    );
    const record = JSON.parse(readFileSync(run.artifacts[0].path, "utf8"));
    const m = record.details.mitigation;
    assert.deepEqual(m.regions, ["eastus2euap", "centraluseuap", "westcentralus", "uksouth"]);
    assert.deepEqual(m.pending, []);
    assert.equal(m.badVersion, "1.3.2");
    assert.equal(m.goodVersion, "1.3.1");
    assert.equal(m.acceptedAt, created);
    assert.equal(m.timeToAcceptedSeconds, Number(rollback.outputs.timeToSafetySeconds));
    assert.match(run.stdout, /Mitigated at .*: 4 of 4 regions that got 1\.3\.2 back on 1\.3\.1/);
    const summary = readFileSync(run.summaries[0], "utf8");
    assert.match(summary, /Rollback of .*: mitigated/);
    assert.match(summary, /\| Time to safety: accepted \| \d+\.\d s \(bad verdict → rollback accepted\) \|/);
    assert.match(summary, /\| uksouth \| \d{4}-\d\d-\d\dT/);
  });

  it("FollowRollout stopping before every region is back says the rollback is not mitigated yet, and which are left", async () => {
    const { bad, rollback } = await rolledBackMidway();
    sim.clock.speed = 200;
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(
        sim,
        {
          rolloutId: rollback.outputs.rolloutId,
          until: "stage",
          stageName: "Stage1-Canary",
          rollbackOf: bad.outputs.rolloutId,
        },
        { variables: rollbackJob },
      ),
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.mitigated, "false");
    assert.equal(run.outputs.mitigatedAt, "");
    assert.equal(run.outputs.timeToMitigatedSeconds, "");
    assert.match(
      run.warnings.join("\n"),
      /Not mitigated yet: 2 of 4 regions that got 1\.3\.2 back on 1\.3\.1, rollback \S+ InProgress; still to come back: westcentralus, uksouth\./,
    );
    const record = JSON.parse(readFileSync(run.artifacts[0].path, "utf8"));
    assert.deepEqual(record.details.mitigation.pending, ["westcentralus", "uksouth"]);
    assert.equal(record.details.mitigation.mitigatedAt, null);
  });

  it("TeamsNotify refuses rolledBack without rollbackOf, sending nothing", async () => {
    const sink = await startTeamsSink();
    try {
      const run = await runBuiltTask(
        "TeamsNotify",
        ev2Setup(sim, { webhookUrl: sink.url, notification: "rolledBack", rolloutId: "r-1" }),
      );
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, /Input 'rollbackOf' is required when notification is rolledBack/);
      assert.equal(sink.received.length, 0);
    } finally {
      await sink.close();
    }
  });

  it("previous takes the Active version registered before the latest", async () => {
    const run = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, { ...rolloutInputs, artifactVersion: "previous" }),
    );
    assert.equal(run.result?.result, "Succeeded");
    assert.equal(run.outputs.artifactVersion, "1.3.1");
    assert.match(run.stdout, /registered before the latest \(1\.3\.2\)/);
  });

  it("says clearly when there is no last good version", async () => {
    const run = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, { ...rolloutInputs, environment: "Test", artifactVersion: "lastSucceeded" }),
    );
    assert.equal(run.result?.result, "Failed");
    assert.match(run.result!.message, /NoSucceededRollout: no Completed rollout of orders-api to Test/);
  });
});
