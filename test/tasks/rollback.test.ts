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

  it("TeamsNotify auto with rollbackOf tells the team what was rolled back, why and how fast", async () => {
    const bad = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    const rollback = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(
        sim,
        { ...rolloutInputs, artifactVersion: "lastSucceeded", rollbackOf: bad.outputs.rolloutId },
        { variables: rollbackJob },
      ),
    );
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
        `Rollout: ${rollback.outputs.rolloutId}`,
      ]) {
        assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
      }
    } finally {
      await sink.close();
    }
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
