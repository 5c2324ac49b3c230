/**
 * Fault storm: the whole flow (trigger → follow to the gate → [stress] → gate → follow to the
 * end → notify) against simulators that throttle, fail, reset, stall and garble a large share
 * of the answers. The flow must end as it would on a calm day, start exactly one rollout,
 * decide the gate once, and never send a request before a Retry-After has run out.
 */
import assert from "node:assert/strict";
import type { FaultRule } from "../../sim/ev2";
import { startTargetService, type TargetService } from "../../sim/target-service";
import { runBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import {
  approvalComment,
  approver,
  chaosCounts,
  countFault,
  flowSetup,
  registerCountsReport,
  requestsOf,
  retryAfterBreaches,
  rolloutInputs,
  startFlowServices,
  type FlowServices,
  type StepWindow,
} from "./chaos-support";

registerCountsReport();

const retryAfterSeconds = 1;

/** The share of answers faulted when each storm rule rolls its own dice in turn. */
const expectedShare = (share: number) => 1 - (1 - share) ** 2 * (1 - share * 0.75) * (1 - share * 0.5) ** 3;

/**
 * The storm: each rule rolls its own dice in order, so 35-40% of all EV2 answers are faults
 * (`expectedShare`). Every kind the simulator knows is in it, truncated answers included.
 */
function stormRules(share: number): FaultRule[] {
  return [
    { kind: "status", status: 429, retryAfter: retryAfterSeconds, probability: share },
    { kind: "status", status: 503, probability: share },
    { kind: "reset", probability: share * 0.75 },
    { kind: "slow", delayMs: 400, probability: share * 0.5 },
    { kind: "html", status: 502, probability: share * 0.5 },
    { kind: "malformed", probability: share * 0.5 },
  ];
}

interface FlowResult {
  steps: StepWindow[];
  byName: Record<string, TaskRun>;
}

/** The flow's steps, in order. A step that needs a task still being wired is left out. */
async function runFlow(services: FlowServices, target: TargetService | undefined): Promise<FlowResult> {
  const steps: StepWindow[] = [];
  const byName: Record<string, TaskRun> = {};
  const step = async (name: string, task: string, setup: TaskRunSetup) => {
    const window: StepWindow = { name, task, from: Date.now(), to: 0 };
    const run = await runBuiltTask(task, setup);
    window.to = Date.now();
    window.run = run;
    steps.push(window);
    byName[name] = run;
    return run;
  };
  const trigger = await step("trigger", "TriggerEv2Rollout", flowSetup(services, rolloutInputs));
  assert.equal(trigger.result?.result, "Succeeded", `trigger: ${trigger.result?.message}\n${trigger.stdout}`);
  const rolloutId = trigger.outputs.rolloutId;

  const toGate = await step(
    "follow to gate",
    "FollowRollout",
    flowSetup(services, { rolloutId, until: "waitAction" }),
  );
  assert.equal(toGate.result?.result, "Succeeded", toGate.stdout);

  if (target) {
    const stress = await step(
      "stress",
      "StressTestStage",
      flowSetup(services, {
        endpoints: `${target.url}/eastus/api/orders`,
        connections: "2",
        durationSeconds: "1",
        thresholds: "error_rate < 5%",
      }),
    );
    assert.equal(stress.result?.result, "Succeeded", stress.stdout);
  }

  const gate = await step(
    "gate",
    "GateApproval",
    flowSetup(services, { rolloutId, decision: "approve", waitTimeoutMinutes: "5" }),
  );
  assert.equal(gate.result?.result, "Succeeded", `gate: ${gate.result?.message}\n${gate.stdout}`);

  const toEnd = await step("follow to end", "FollowRollout", flowSetup(services, { rolloutId }));
  assert.equal(toEnd.result?.result, "Succeeded", toEnd.stdout);

  await step(
    "notify",
    "TeamsNotify",
    flowSetup(services, { rolloutId, webhookUrl: services.sink.url, failOnError: "true" }),
  );
  return { steps, byName };
}

describe("chaos: fault storm over the whole flow", function () {
  this.timeout(180_000);
  let services: FlowServices | undefined;
  let target: TargetService | undefined;
  afterEach(async () => {
    await services?.close();
    await target?.close();
    services = undefined;
    target = undefined;
  });

  it("the Retry-After check catches a request sent too soon", () => {
    const sequence = [
      { at: 1000, status: 429, path: "/a" },
      { at: 1400, status: 200, path: "/a" },
      { at: 2000, status: 503, path: "/b" },
      { at: 2100, status: 429, path: "/b" },
      { at: 3100, status: 200, path: "/b" },
    ];
    const { breaches, checked } = retryAfterBreaches([{ step: "s", requests: sequence }], 1);
    assert.equal(checked, 2);
    assert.deepEqual(
      breaches.map((b) => b.waitedMs),
      [400],
    );
  });

  /** Two storms by default; CHAOS_STORM_SEEDS=10 runs ten. */
  const storms = Array.from({ length: Number(process.env.CHAOS_STORM_SEEDS) || 2 }, (_, i) =>
    i === 0
      ? { seed: 7, share: 0.1 }
      : i === 1
        ? { seed: 2026, share: 0.12 }
        : { seed: 1000 + i, share: 0.12 },
  );
  for (const { seed, share } of storms) {
    it(`seed ${seed}: about ${Math.round(expectedShare(share) * 100)}% of EV2 answers faulted, Teams throttled, Azure DevOps failing: the flow completes`, async () => {
      services = await startFlowServices({
        seed,
        clockSpeed: 400,
        sinkResponses: [429, 503, 429],
        sinkRetryAfter: retryAfterSeconds,
      });
      target = await startTargetService();
      for (const rule of stormRules(share)) services.sim.addFault(rule);
      // Azure DevOps: the approval lookup meets a 503 on each of its calls once (its client retries).
      services.ado.state.faults.push(
        { pathIncludes: "/timeline", status: 503, times: 1 },
        { pathIncludes: "/approvals/", status: 503, times: 1 },
      );

      const { steps, byName } = await runFlow(services, target);
      const { sim, sink } = services;

      // The right outcome, exactly once.
      assert.equal(services.started().length, 1, "exactly one rollout");
      const rollout = sim.rollouts().find((r) => r.rolloutId === byName.trigger.outputs.rolloutId)!;
      sim.clock.advance(0);
      assert.equal(rollout.status, "Completed");
      assert.equal(byName["follow to end"].outputs.rolloutStatus, "Completed");
      assert.equal(
        byName["follow to end"].outputs.completedStages,
        "Stage1-Canary,Stage2-Pilot,Stage3-Broad",
      );
      assert.equal(rollout.waitActions.length, 1);
      assert.equal(rollout.waitActions[0].status, "Approved");
      assert.equal(rollout.waitActions[0].decidedBy, approver);
      assert.match(rollout.waitActions[0].comment ?? "", new RegExp(`^${approvalComment}`));
      // A "malformed" fault answers 200 with cut-off JSON without deciding anything: not accepted.
      const decided = sim.requests.filter(
        (r) => r.path.endsWith("/decision") && r.status === 200 && r.fault === undefined,
      );
      assert.ok(decided.length <= 1, `${decided.length} decisions accepted`);
      assert.equal(byName.gate.outputs.decision, "approved");
      assert.equal(byName.notify.result?.result, "Succeeded", byName.notify.stdout);
      assert.equal(byName.notify.outputs.delivered, "true");
      const delivered = sink.received.filter((m) => m.status === 202);
      assert.equal(delivered.length, 1, "one card delivered");
      assert.match(JSON.stringify(delivered[0].body), /completed/i);

      // No request before a Retry-After ran out: EV2 per step, and the Teams sink.
      const ev2 = steps.map((s) => ({ step: s.name, requests: requestsOf(sim.requests, s) }));
      // The sink sends Retry-After with its 429 and 503 answers.
      const teams = [
        {
          step: "notify (Teams)",
          requests: sink.received.map((m) => ({ ...m, path: "webhook" })),
          statuses: [429, 503],
        },
      ];
      const { breaches, checked } = retryAfterBreaches([...ev2, ...teams], retryAfterSeconds);
      assert.deepEqual(breaches, [], "requests sent before Retry-After ran out");
      assert.ok(checked >= 2, `only ${checked} Retry-After waits were exercised`);

      // The storm really happened, and every fault was ridden out.
      const faulted = sim.requests.filter((r) => r.fault);
      assert.equal(faulted.length, sim.faultsInjected());
      assert.ok(faulted.length >= 6, `only ${faulted.length} faults injected`);
      for (const r of faulted) countFault(r.fault === "status" ? `http ${r.status}` : r.fault!);
      const adoFaults = services.ado.requests.filter((r) => r.status === 503).length;
      countFault("ado 503", adoFaults);
      countFault("teams 429/503", sink.received.filter((m) => m.status !== 202).length);
      chaosCounts.retryAfterWaitsChecked += checked;
      const perStep = steps
        .map((s) => `${s.name} ${requestsOf(sim.requests, s).filter((r) => r.fault).length}`)
        .join(", ");
      console.log(
        `      faults absorbed (seed ${seed}): EV2 ${faulted.length} of ${sim.requests.length} requests (${perStep}); Azure DevOps ${adoFaults}; Teams ${sink.received.length - delivered.length}; Retry-After waits checked ${checked}`,
      );
    });
  }
});

/**
 * A 200 whose JSON is cut off (a dropped proxy connection) is a transient fault like a 502, and
 * every EV2 call is safe to repeat (GETs; POSTs with an idempotency key or treated as done when
 * already done), so the client retries it through the same policy.
 * One row per call a task makes; each row gets the truncated answer exactly once.
 */
describe("chaos: one truncated 200 answer on a safe-to-repeat call is retried, not fatal", function () {
  this.timeout(60_000);
  let services: FlowServices | undefined;
  afterEach(async () => {
    await services?.close();
    services = undefined;
  });

  const rows: Array<{
    task: string;
    call: string;
    fault: FaultRule;
    /** Simulated seconds to advance before the task runs (790 s: the gate waits). */
    at: number;
    inputs: (rolloutId: string, s: FlowServices) => TaskRunSetup["inputs"];
    started?: boolean;
  }> = [
    {
      task: "TriggerEv2Rollout",
      call: "list artifact versions",
      fault: { kind: "malformed", method: "GET", path: "/artifactVersions", count: 1 },
      at: 0,
      inputs: () => rolloutInputs,
      started: false,
    },
    {
      task: "TriggerEv2Rollout",
      call: "list stage map versions",
      fault: { kind: "malformed", method: "GET", path: "/versions", count: 1 },
      at: 0,
      inputs: () => rolloutInputs,
      started: false,
    },
    {
      task: "TriggerEv2Rollout",
      call: "start rollout",
      fault: { kind: "malformed", method: "POST", path: "/rollouts", count: 1 },
      at: 0,
      inputs: () => rolloutInputs,
      started: false,
    },
    {
      task: "FollowRollout",
      call: "get rollout",
      fault: { kind: "malformed", method: "GET", path: "/rollouts/", count: 1 },
      at: 800,
      inputs: (rolloutId) => ({ rolloutId, until: "waitAction" }),
    },
    {
      task: "GateApproval",
      call: "get rollout",
      fault: { kind: "malformed", method: "GET", path: "/rollouts/", count: 1 },
      at: 800,
      inputs: (rolloutId) => ({ rolloutId, decision: "approve" }),
    },
    {
      task: "GateApproval",
      call: "decide wait action",
      fault: { kind: "malformed", method: "POST", path: "/decision", count: 1 },
      at: 800,
      inputs: (rolloutId) => ({ rolloutId, decision: "approve" }),
    },
    {
      task: "TeamsNotify",
      call: "get rollout",
      fault: { kind: "malformed", method: "GET", path: "/rollouts/", count: 1 },
      at: 800,
      inputs: (rolloutId, s) => ({ rolloutId, webhookUrl: s.sink.url, failOnError: "true" }),
    },
  ];

  for (const row of rows) {
    it(`${row.task}: ${row.call}`, async () => {
      services = await startFlowServices({ clockSpeed: 0 });
      let rolloutId = "";
      if (row.started !== false) {
        const trigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
        rolloutId = trigger.outputs.rolloutId;
      }
      services.sim.clock.advance(row.at * 1000);
      services.sim.addFault(row.fault);
      const run = await runBuiltTask(row.task, flowSetup(services, row.inputs(rolloutId, services)));
      assert.equal(services.sim.faultsInjected(), 1, "the truncated answer was sent");
      assert.equal(run.result?.result, "Succeeded", run.result?.message);
      assert.equal(services.started().length, 1, "exactly one rollout");
      countFault("malformed");
    });
  }
});
