/**
 * Cancel: the agent sends SIGINT when someone cancels the run. Every long-running task must stop
 * within 5 seconds, still publish its record, and leave or cancel the rollout as configured.
 * One row per task and configuration.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startTargetService, type TargetService } from "../../sim/target-service";
import {
  recordArtifacts,
  reportArtifacts,
  runBuiltTask,
  startBuiltTask,
  type TaskRunSetup,
} from "../support/run-built-task";
import {
  chaosCounts,
  flowSetup,
  registerCountsReport,
  rolloutInputs,
  startFlowServices,
  type FlowServices,
} from "./chaos-support";

registerCountsReport();

interface CancelCase {
  what: string;
  task: string;
  /** Simulated seconds into the rollout when the task starts (the clock is frozen after). */
  at: number;
  inputs: (rolloutId: string, target: TargetService | undefined) => TaskRunSetup["inputs"];
  /** The line after which the task is busy waiting; SIGINT goes then. */
  busy: RegExp;
  /** The rollout's status after the task stopped. */
  rollout: "InProgress" | "Cancelled";
  needsTarget?: boolean;
}

const cases: CancelCase[] = [
  {
    what: "FollowRollout following (onPipelineCancel: leaveRunning)",
    task: "FollowRollout",
    at: 100,
    inputs: (rolloutId) => ({ rolloutId, onPipelineCancel: "leaveRunning" }),
    busy: /Stage Stage1-Canary started/,
    rollout: "InProgress",
  },
  {
    what: "FollowRollout following (onPipelineCancel: cancelRollout)",
    task: "FollowRollout",
    at: 100,
    inputs: (rolloutId) => ({ rolloutId, onPipelineCancel: "cancelRollout" }),
    busy: /Stage Stage1-Canary started/,
    rollout: "Cancelled",
  },
  {
    what: "FollowRollout until a gate that is far off",
    task: "FollowRollout",
    at: 100,
    inputs: (rolloutId) => ({ rolloutId, until: "waitAction", pollingIntervalSeconds: "300" }),
    busy: /Following rollout/,
    rollout: "InProgress",
  },
  {
    what: "GateApproval waiting for its wait action",
    task: "GateApproval",
    at: 100,
    inputs: (rolloutId) => ({ rolloutId, decision: "approve", waitTimeoutMinutes: "30" }),
    busy: /waiting up to 30m/,
    rollout: "InProgress",
  },
  {
    what: "StressTestStage loading the stage's endpoints",
    task: "StressTestStage",
    at: 100,
    inputs: (rolloutId, target) => ({
      endpoints: `${target!.url}/eastus/api/orders`,
      connections: "2",
      durationSeconds: "60",
      rolloutId,
      onThresholdFailure: "cancelRollout",
    }),
    busy: /Stress-testing 1 endpoint/,
    rollout: "InProgress",
    needsTarget: true,
  },
];

describe("chaos: SIGINT during each long-running task", function () {
  this.timeout(60_000);
  let services: FlowServices | undefined;
  let target: TargetService | undefined;
  afterEach(async () => {
    await services?.close();
    await target?.close();
    services = undefined;
    target = undefined;
  });

  for (const c of cases) {
    it(`${c.what}: exits within 5 s, publishes its record, rollout ${c.rollout === "Cancelled" ? "cancelled" : "left running"}`, async () => {
      services = await startFlowServices({ clockSpeed: 0 });
      if (c.needsTarget) target = await startTargetService();
      const trigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
      const rolloutId = trigger.outputs.rolloutId;
      services.sim.clock.advance(c.at * 1000);
      const decisionsBefore = services.sim.requests.filter((r) => r.path.endsWith("/decision")).length;

      const task = startBuiltTask(c.task, flowSetup(services, c.inputs(rolloutId, target)));
      await task.waitForLine(c.busy, 20_000);
      // Let it settle into its wait (a poll, a sleep, the load).
      await new Promise((r) => setTimeout(r, 300));
      const sentAt = Date.now();
      task.child.kill("SIGINT");
      chaosCounts.cancels++;
      const run = await task.done;
      const tookMs = Date.now() - sentAt;

      assert.ok(tookMs < 5000, `exited ${tookMs} ms after SIGINT`);
      assert.equal(run.signal, null, "it exited by itself, not by a signal");
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.match(run.result!.message, /cancel/i);
      const records = recordArtifacts(run);
      assert.equal(reportArtifacts(run).length, 2, "the job's deployment report is published too");
      assert.equal(
        records.length,
        1,
        `the record is published (artifacts: ${JSON.stringify(run.artifacts)})`,
      );
      const record = JSON.parse(readFileSync(records[0].path, "utf8"));
      assert.equal(record.task, c.task);
      assert.equal(record.result, "Failed");

      const rollout = services.sim.rollouts().find((r) => r.rolloutId === rolloutId)!;
      assert.equal(rollout.status, c.rollout);
      assert.equal(
        services.sim.requests.filter((r) => r.path.endsWith("/decision")).length,
        decisionsBefore,
        "no decision sent",
      );
    });
  }
});
