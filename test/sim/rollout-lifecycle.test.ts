import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startSimulator, type RolloutView, type Simulator } from "../../sim/ev2";
import { call, getRollout, SECOND, SERVICE_PATH, startRollout } from "./ev2-http";

const MINUTE = 60 * SECOND;
const statuses = (rollout: RolloutView) => rollout.stages.map((stage) => `${stage.name}:${stage.status}`);
const regionStatuses = (rollout: RolloutView, stage: number) =>
  rollout.stages[stage].regions.map((region) => `${region.name}:${region.status}`);

describe("EV2 simulator: rollout progression", () => {
  let sim: Simulator;
  afterEach(() => sim?.close());

  describe("small: stages in order, regions of a stage in parallel", () => {
    beforeEach(async () => {
      sim = await startSimulator({ scenario: "small", clockSpeed: 0 });
    });

    it("runs each stage after the previous one with the scenario's durations", async () => {
      const id = await startRollout(sim);
      const created = sim.clock.now().getTime();
      const at = (seconds: number) => new Date(created + seconds * SECOND).toISOString();

      sim.clock.advance(10 * SECOND + 5 * MINUTE); // eastus2euap (300 s) done, centraluseuap (360 s) running
      let rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "InProgress");
      assert.equal(rollout.currentStage, "Stage1-Canary");
      assert.deepEqual(regionStatuses(rollout, 0), ["eastus2euap:Completed", "centraluseuap:InProgress"]);
      assert.deepEqual(rollout.stages[0].regions[0], {
        name: "eastus2euap",
        status: "Completed",
        startTime: at(10),
        endTime: at(310),
      });
      assert.equal(rollout.stages[0].regions[1].endTime, null);
      assert.equal(rollout.lastUpdateTime, at(310));

      sim.clock.advance(MINUTE); // stage 1 ends at 370 s, stage 2 starts
      rollout = await getRollout(sim, id);
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:InProgress",
        "Stage3-Broad:Pending",
      ]);
      assert.equal(rollout.stages[0].endTime, at(370));
      assert.equal(rollout.stages[1].startTime, at(370));
      assert.equal(rollout.currentStage, "Stage2-Pilot");
      assert.deepEqual(rollout.stages[2].regions, [
        { name: "eastus", status: "Pending", startTime: null, endTime: null },
        { name: "westeurope", status: "Pending", startTime: null, endTime: null },
      ]);

      sim.clock.advance(20 * MINUTE);
      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Completed");
      assert.equal(rollout.currentStage, "Stage3-Broad");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Completed",
        "Stage3-Broad:Completed",
      ]);
      assert.equal(rollout.stages[2].endTime, at(1210));
      assert.equal(rollout.lastUpdateTime, at(1210));
      assert.ok(
        rollout.stages.every((stage) => stage.endTime && stage.regions.every((region) => region.endTime)),
      );
    });

    it("moves on real time scaled by clockSpeed", async () => {
      const fast = await startSimulator({ scenario: "small", clockSpeed: 6000 });
      try {
        const id = await startRollout(fast);
        await sleep(300); // 1800 simulated seconds > the 1210 s the rollout takes
        assert.equal((await getRollout(fast, id)).status, "Completed");
        fast.clock.speed = 0;
        const frozen = fast.clock.now().getTime();
        await sleep(20);
        assert.equal(fast.clock.now().getTime(), frozen);
      } finally {
        await fast.close();
      }
    });

    it("cancels a running rollout: running stage and regions Cancelled, later stages Skipped", async () => {
      const id = await startRollout(sim);
      sim.clock.advance(10 * SECOND + 5 * MINUTE);
      const answer = await call(sim, "POST", `/rollouts/${id}/cancel`, { body: { reason: "bad build" } });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, {
        rolloutId: id,
        status: "Cancelled",
        timestamp: sim.clock.now().toISOString(),
      });

      sim.clock.advance(60 * MINUTE); // nothing moves after a cancel
      const rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Cancelled");
      assert.equal(rollout.currentStage, "Stage1-Canary");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Cancelled",
        "Stage2-Pilot:Skipped",
        "Stage3-Broad:Skipped",
      ]);
      assert.deepEqual(regionStatuses(rollout, 0), ["eastus2euap:Completed", "centraluseuap:Cancelled"]);
      assert.equal(rollout.stages[0].endTime, answer.body.timestamp);
      assert.equal(rollout.stages[0].regions[1].endTime, answer.body.timestamp);
      assert.deepEqual(regionStatuses(rollout, 2), ["eastus:Skipped", "westeurope:Skipped"]);
      assert.deepEqual(rollout.errors, []);

      const again = await call(sim, "POST", `/rollouts/${id}/cancel`, { body: {} });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, "RolloutAlreadyTerminal");
      assert.equal(again.body.error.details.status, "Cancelled");
      const restart = await call(sim, "POST", `/rollouts/${id}/restart`, { body: { scope: "FailedOnly" } });
      assert.equal(restart.status, 409);
      assert.equal(restart.body.error.code, "RolloutNotRestartable");
      // A cancelled rollout no longer blocks a new one.
      await startRollout(sim);
    });

    it("cancels a rollout that has not started: every stage Skipped", async () => {
      const id = await startRollout(sim);
      const answer = await call(sim, "POST", `/rollouts/${id}/cancel`);
      assert.equal(answer.status, 200);
      const rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Cancelled");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Skipped",
        "Stage2-Pilot:Skipped",
        "Stage3-Broad:Skipped",
      ]);
      assert.equal(rollout.currentStage, "Stage1-Canary");
    });

    it("serves pre-seeded history: a Completed rollout with an older artifact and a Failed one with the newest", async () => {
      const completed = await getRollout(sim, "22222222-2222-4222-8222-222222222222");
      assert.equal(completed.status, "Completed");
      assert.equal(completed.environment, "Prod");
      assert.equal(completed.artifactVersionNumber, "1.3.1");
      assert.equal(completed.stageMapVersion, "v2");
      assert.ok(Date.parse(completed.createdTimestamp) <= sim.clock.now().getTime() - 48 * 60 * MINUTE);
      const failed = await getRollout(sim, "33333333-3333-4333-8333-333333333333");
      assert.equal(failed.status, "Failed");
      assert.equal(failed.currentStage, "Stage2-Pilot");
      assert.deepEqual(
        failed.errors.map((e: { stage: string; region?: string; errorCode: string }) => [
          e.stage,
          e.region,
          e.errorCode,
        ]),
        [["Stage2-Pilot", "uksouth", "ServiceHealthCheckFailed"]],
      );
    });
  });

  describe("gated: ManualApproval wait action", () => {
    beforeEach(async () => {
      sim = await startSimulator({ scenario: "gated", clockSpeed: 0 });
    });

    async function reachGate(): Promise<string> {
      const id = await startRollout(sim);
      sim.clock.advance(30 * MINUTE);
      return id;
    }

    it("waits at the gate until approved, then runs the guarded stage from the decision", async () => {
      const id = await reachGate();
      let rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Waiting");
      assert.equal(rollout.currentStage, "Stage3-Broad");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Completed",
        "Stage3-Broad:Waiting",
      ]);
      assert.deepEqual(rollout.waitActions, [
        {
          actionId: "wait-1",
          stage: "Stage3-Broad",
          reason: "ManualApproval",
          status: "Waiting",
          waitingSince: rollout.stages[1].endTime,
        },
      ]);
      sim.clock.advance(60 * MINUTE);
      assert.equal((await getRollout(sim, id)).status, "Waiting", "a gate waits for as long as it takes");

      const decidedAt = sim.clock.now().toISOString();
      const answer = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Approve", comment: "looks healthy", decidedBy: "alice@contoso.com" },
      });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { actionId: "wait-1", status: "Approved", decidedAt });

      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "InProgress");
      assert.equal(rollout.stages[2].status, "InProgress");
      assert.equal(rollout.stages[2].startTime, decidedAt);
      assert.deepEqual(rollout.waitActions[0], {
        actionId: "wait-1",
        stage: "Stage3-Broad",
        reason: "ManualApproval",
        status: "Approved",
        waitingSince: rollout.stages[1].endTime,
        decidedBy: "alice@contoso.com",
        decidedAt,
        comment: "looks healthy",
      });

      const twice = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Reject" },
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.error.code, "WaitActionAlreadyDecided");
      assert.equal(twice.body.error.details.status, "Approved");

      sim.clock.advance(10 * MINUTE);
      assert.equal((await getRollout(sim, id)).status, "Completed");
    });

    it("ends the rollout Cancelled with a RejectedAtWaitAction error when the gate is rejected", async () => {
      const id = await reachGate();
      const answer = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Reject", comment: "error budget spent", decidedBy: "bob@contoso.com" },
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.body.status, "Rejected");
      const rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Cancelled");
      assert.equal(rollout.currentStage, "Stage3-Broad");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Completed",
        "Stage3-Broad:Cancelled",
      ]);
      assert.deepEqual(regionStatuses(rollout, 2), ["eastus:Skipped", "westeurope:Skipped"]);
      assert.equal(rollout.waitActions[0].status, "Rejected");
      assert.equal(rollout.errors.length, 1);
      assert.equal(rollout.errors[0].errorCode, "RejectedAtWaitAction");
      assert.equal(rollout.errors[0].stage, "Stage3-Broad");
      assert.equal(rollout.errors[0].timestamp, answer.body.decidedAt);
      assert.match(rollout.errors[0].message, /bob@contoso\.com: error budget spent/);

      const again = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Reject" },
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.details.status, "Rejected");
    });

    it("cancelling a waiting rollout closes its gate as Rejected without an error entry", async () => {
      const id = await reachGate();
      const answer = await call(sim, "POST", `/rollouts/${id}/cancel`, { body: { reason: "superseded" } });
      assert.equal(answer.status, 200);
      const rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Cancelled");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Completed",
        "Stage3-Broad:Cancelled",
      ]);
      assert.equal(rollout.waitActions[0].status, "Rejected");
      assert.equal(rollout.waitActions[0].comment, "Rollout cancelled: superseded");
      assert.deepEqual(rollout.errors, []);
      const decide = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Approve" },
      });
      assert.equal(decide.status, 409);
      assert.equal(decide.body.error.details.status, "Rejected");
    });

    it("a waiting rollout blocks another start in the same environment", async () => {
      const id = await reachGate();
      const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: {
          stageMapName: "OrdersStageMap",
          stageMapVersion: "v3",
          artifactVersionNumber: "1.3.1",
          environment: "PPE",
        },
        headers: { "idempotency-key": "another-run" },
      });
      assert.equal(answer.status, 409);
      assert.equal(answer.body.error.details.activeRolloutId, id);
    });
  });

  describe("failures and restart", () => {
    it("failing-region: the error shows while the stage runs; Failed when it ends; a restart fails again", async () => {
      sim = await startSimulator({ scenario: "failing-region", clockSpeed: 0 });
      const id = await startRollout(sim);
      sim.clock.advance((10 + 360 + 150) * SECOND); // uksouth fails 120 s into Stage2-Pilot (at 490 s)
      let rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "InProgress");
      assert.deepEqual(regionStatuses(rollout, 1), ["westcentralus:InProgress", "uksouth:Failed"]);
      assert.equal(rollout.errors.length, 1);
      assert.deepEqual(
        { ...rollout.errors[0], timestamp: undefined },
        {
          stage: "Stage2-Pilot",
          region: "uksouth",
          timestamp: undefined,
          errorCode: "ServiceHealthCheckFailed",
          message: "Health check of orders-api in uksouth failed: 5 of 12 probes returned 503",
        },
      );

      sim.clock.advance(5 * MINUTE); // westcentralus ends at 730 s: the stage, and the rollout, fail
      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Failed");
      assert.equal(rollout.currentStage, "Stage2-Pilot");
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Failed",
        "Stage3-Broad:Pending",
      ]);
      assert.deepEqual(regionStatuses(rollout, 1), ["westcentralus:Completed", "uksouth:Failed"]);

      const restart = await call(sim, "POST", `/rollouts/${id}/restart`, { body: { scope: "FailedOnly" } });
      assert.equal(restart.status, 202);
      assert.deepEqual(restart.body, { rolloutId: id, status: "InProgress" });
      const restartedAt = sim.clock.now().toISOString();
      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "InProgress");
      assert.deepEqual(regionStatuses(rollout, 1), ["westcentralus:Completed", "uksouth:InProgress"]);
      assert.equal(rollout.stages[1].regions[1].startTime, restartedAt);
      assert.equal(rollout.stages[1].endTime, null);

      sim.clock.advance(5 * MINUTE);
      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Failed");
      assert.equal(rollout.errors.length, 2, "errors keep their history");
      assert.ok(rollout.errors.every((e) => e.errorCode === "ServiceHealthCheckFailed"));
    });

    it("transient-failure: a FailedOnly restart reruns the failed region and the rollout completes", async () => {
      sim = await startSimulator({ scenario: "transient-failure", clockSpeed: 0 });
      const id = await startRollout(sim);
      sim.clock.advance(20 * MINUTE);
      let rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Failed");
      assert.equal(rollout.errors[0].errorCode, "InternalTimeout");

      const restart = await call(sim, "POST", `/rollouts/${id}/restart`, { body: { scope: "FailedOnly" } });
      assert.equal(restart.status, 202);
      const again = await call(sim, "POST", `/rollouts/${id}/restart`, { body: { scope: "FailedOnly" } });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.details.status, "InProgress");

      sim.clock.advance(7 * MINUTE); // uksouth's 420 s rerun
      rollout = await getRollout(sim, id);
      assert.deepEqual(statuses(rollout), [
        "Stage1-Canary:Completed",
        "Stage2-Pilot:Completed",
        "Stage3-Broad:InProgress",
      ]);
      assert.equal(rollout.stages[1].startTime, rollout.stages[0].endTime, "the stage keeps its first start");
      sim.clock.advance(10 * MINUTE);
      rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Completed");
      assert.equal(rollout.errors.length, 1, "the first failure stays in the history");
    });

    it("refuses to restart a failed rollout once a newer one is active in the same environment", async () => {
      sim = await startSimulator({ scenario: "failing-region", clockSpeed: 0 });
      const failed = await startRollout(sim);
      sim.clock.advance(20 * MINUTE);
      const newer = await startRollout(sim, { artifactVersionNumber: "1.3.1" });
      const answer = await call(sim, "POST", `/rollouts/${failed}/restart`, {
        body: { scope: "FailedOnly" },
      });
      assert.equal(answer.status, 409);
      assert.equal(answer.body.error.code, "RolloutNotRestartable");
      assert.equal(answer.body.error.details.activeRolloutId, newer);
    });
  });

  describe("large-50x20", () => {
    it("runs 50 stages x 20 regions to completion on a fast clock", async () => {
      sim = await startSimulator({ scenario: "large-50x20", clockSpeed: 0 });
      const id = await startRollout(sim, { stageMapVersion: "v1" });
      let rollout = await getRollout(sim, id);
      assert.equal(rollout.stages.length, 50);
      assert.ok(rollout.stages.every((stage) => stage.regions.length === 20));
      const seen = new Set<string>();
      for (let step = 0; step < 120 && rollout.status !== "Completed"; step++) {
        sim.clock.advance(MINUTE);
        rollout = await getRollout(sim, id);
        seen.add(rollout.currentStage);
        const running = rollout.stages.filter((stage) => stage.status === "InProgress");
        assert.ok(running.length <= 1, "one stage at a time");
      }
      assert.equal(rollout.status, "Completed");
      assert.equal(rollout.currentStage, "Stage50");
      assert.ok(seen.size >= 45, `followed most stages one by one (saw ${seen.size})`);
      assert.ok(
        rollout.stages.every((stage) => stage.regions.every((region) => region.status === "Completed")),
      );
      const total = Date.parse(rollout.stages[49].endTime as string) - Date.parse(rollout.createdTimestamp);
      assert.equal(total, 5942 * SECOND);
    });
  });
});
