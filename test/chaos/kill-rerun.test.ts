/**
 * Kill and re-run: every step of the flow is SIGKILLed at a random point (after a random delay,
 * or the moment a randomly chosen log line appears), then re-run as a job re-run would. EV2 must
 * never see a second rollout or a lost or doubled gate decision, and each re-run must end with
 * the outputs an uninterrupted run has.
 */
import assert from "node:assert/strict";
import { runBuiltTask, startBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import {
  approver,
  chaosCounts,
  flowSetup,
  registerCountsReport,
  rolloutInputs,
  seeded,
  startFlowServices,
  type FlowServices,
} from "./chaos-support";

registerCountsReport();

/** More seeds on demand: CHAOS_KILL_SEEDS=50 npm run test:chaos. */
const seedCount = Number(process.env.CHAOS_KILL_SEEDS) || 8;
const clockSpeed = 1200;

interface Step {
  name: string;
  task: string;
  inputs: (rolloutId: string) => TaskRunSetup["inputs"];
  /** Log lines the step writes along the way: killing the moment one appears hits a known point. */
  milestones: RegExp[];
  /** Longest random delay before the kill, ms (the task's start-up alone is ~150 ms). */
  maxDelayMs: number;
}

const steps: Step[] = [
  {
    name: "trigger",
    task: "TriggerEv2Rollout",
    inputs: () => rolloutInputs,
    milestones: [/Artifact version 1\.3\.2/, /Stage map version/, /Started rollout/, /EV2 dashboard/],
    maxDelayMs: 600,
  },
  {
    name: "follow to gate",
    task: "FollowRollout",
    inputs: (rolloutId) => ({ rolloutId, until: "waitAction" }),
    milestones: [
      /Following rollout/,
      /Stage Stage1-Canary started/,
      /Stage2-Pilot started/,
      /uksouth: Completed/,
    ],
    maxDelayMs: 1200,
  },
  {
    name: "gate",
    task: "GateApproval",
    inputs: (rolloutId) => ({ rolloutId, decision: "approve", waitTimeoutMinutes: "5" }),
    milestones: [/Wait action wait-1 before stage Stage3-Broad: Waiting/, /approved as/],
    maxDelayMs: 1000,
  },
  {
    name: "follow to end",
    task: "FollowRollout",
    inputs: (rolloutId) => ({ rolloutId }),
    milestones: [/Following rollout/, /Stage Stage3-Broad approved and started/, /eastus: Completed/],
    maxDelayMs: 900,
  },
];

/** Outputs that name the rollout itself differ between runs; everything else must not. */
function comparable(outputs: Record<string, string>): Record<string, string> {
  const { rolloutId: _id, dashboardUrl: _url, ...rest } = outputs;
  return rest;
}

async function uninterruptedFlow(): Promise<Record<string, TaskRun>> {
  const services = await startFlowServices({ clockSpeed });
  try {
    const runs: Record<string, TaskRun> = {};
    let rolloutId = "";
    for (const step of steps) {
      const run = await runBuiltTask(step.task, flowSetup(services, step.inputs(rolloutId)));
      assert.equal(run.result?.result, "Succeeded", `${step.name}: ${run.result?.message}`);
      runs[step.name] = run;
      rolloutId ||= run.outputs.rolloutId;
    }
    return runs;
  } finally {
    await services.close();
  }
}

describe("chaos: SIGKILL at random points, then re-run", function () {
  this.timeout(120_000);
  let reference: Record<string, TaskRun>;
  let services: FlowServices | undefined;
  before(async () => {
    reference = await uninterruptedFlow();
  });
  afterEach(async () => {
    await services?.close();
    services = undefined;
  });

  for (let seed = 1; seed <= seedCount; seed++) {
    it(`seed ${seed}: each step killed once and re-run — one rollout, one decision, the outputs of an uninterrupted run`, async () => {
      const random = seeded(seed * 7919);
      services = await startFlowServices({ clockSpeed });
      const { sim } = services;
      chaosCounts.killSeeds++;
      let rolloutId = "";
      const killed: string[] = [];

      for (const step of steps) {
        // A re-run of the job: same run, next attempt.
        const setup = (attempt: number) =>
          flowSetup(services!, step.inputs(rolloutId), {
            variables: { "System.JobAttempt": String(attempt) },
          });

        const delay = Math.floor(random() * step.maxDelayMs);
        const milestone =
          random() < 0.5 ? step.milestones[Math.floor(random() * step.milestones.length)] : undefined;
        const task = startBuiltTask(step.task, setup(1));
        // The first of: the milestone line, or the delay running out.
        await task.waitForLine(milestone ?? /(?!)/, delay).catch(() => undefined);
        const running = task.child.exitCode === null && task.child.signalCode === null;
        if (running) {
          task.child.kill("SIGKILL");
          chaosCounts.sigkills++;
        }
        const interrupted = await task.done;
        killed.push(
          `${step.name}: ${running ? `killed ${milestone ? `at ${milestone}` : `after ${delay} ms`}` : `finished first (${interrupted.result?.result})`}`,
        );

        const rerun = await runBuiltTask(step.task, setup(2));
        const why = `${step.name} re-run after: ${killed.at(-1)}\n${rerun.result?.message}`;
        assert.equal(rerun.result?.result, "Succeeded", why);
        rolloutId ||= rerun.outputs.rolloutId;

        // Exactly once, whatever point the kill hit.
        assert.equal(
          services.started().length,
          1,
          `${why}: rollouts started ${services.started().join(", ")}`,
        );
        assert.equal(rerun.outputs.rolloutId ?? rolloutId, rolloutId);
        assert.deepEqual(comparable(rerun.outputs), comparable(reference[step.name].outputs), why);
      }

      const rollout = sim.rollouts().find((r) => r.rolloutId === rolloutId)!;
      assert.equal(rollout.status, "Completed");
      const [gate] = rollout.waitActions;
      assert.equal(gate.status, "Approved", "the decision is not lost");
      assert.equal(gate.decidedBy, approver);
      const accepted = sim.requests.filter((r) => r.path.endsWith("/decision") && r.status === 200);
      assert.equal(accepted.length, 1, `decisions accepted: ${accepted.length} (${killed.join("; ")})`);
      const starts = sim.requests.filter((r) => r.method === "POST" && r.path.endsWith("/rollouts"));
      assert.ok(
        starts.every((p) => p.headers["idempotency-key"] === starts[0].headers["idempotency-key"]),
        "every start carries the same idempotency key",
      );
    });
  }
});

/** Resolves once the simulator has received a request matching `what` (polled: it has no hook). */
async function requestArrives(
  services: FlowServices,
  what: (r: { method: string; path: string }) => boolean,
) {
  for (let i = 0; i < 600; i++) {
    if (services.sim.requests.some(what)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the request never arrived");
}

describe("chaos: SIGKILL at the worst moment — EV2 acted, the task never heard", function () {
  this.timeout(60_000);
  let services: FlowServices | undefined;
  afterEach(async () => {
    await services?.close();
    services = undefined;
  });

  it("trigger killed while EV2 creates the rollout: the re-run attaches to it, no second rollout", async () => {
    services = await startFlowServices({ clockSpeed: 0 });
    // EV2 takes 300 ms to answer the start; the task is killed while it waits.
    services.sim.addFault({ kind: "slow", delayMs: 300, method: "POST", path: "/rollouts", count: 1 });
    const task = startBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
    await requestArrives(services, (r) => r.method === "POST" && r.path.endsWith("/rollouts"));
    task.child.kill("SIGKILL");
    chaosCounts.sigkills++;
    const killed = await task.done;
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(killed.outputs.rolloutId, undefined, "killed before it could say the id");
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(services.started().length, 1, "EV2 created the rollout anyway");

    const rerun = await runBuiltTask(
      "TriggerEv2Rollout",
      flowSetup(services, rolloutInputs, { variables: { "System.JobAttempt": "2" } }),
    );
    assert.equal(rerun.result?.result, "Succeeded", rerun.stdout);
    assert.equal(services.started().length, 1);
    assert.equal(rerun.outputs.rolloutId, services.started()[0]);
    assert.match(rerun.stdout, /already started rollout .* attached to it/);
  });

  /**
   * GateApproval re-run after its own decision, while the next stage runs: it finds the decision
   * by the run and stage its comment names, and reports it instead of waiting for another gate.
   */
  it("gate killed while EV2 records its decision: the re-run reports the decision, decides nothing twice", async () => {
    services = await startFlowServices({ clockSpeed: 0 });
    const trigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
    const rolloutId = trigger.outputs.rolloutId;
    services.sim.clock.advance(800_000); // the rollout waits at wait-1
    services.sim.addFault({ kind: "slow", delayMs: 300, method: "POST", path: "/decision", count: 1 });
    const gateInputs = { rolloutId, decision: "approve", waitTimeoutMinutes: "0" };
    const task = startBuiltTask("GateApproval", flowSetup(services, gateInputs));
    await requestArrives(services, (r) => r.path.endsWith("/decision"));
    task.child.kill("SIGKILL");
    chaosCounts.sigkills++;
    await task.done;
    await new Promise((r) => setTimeout(r, 400));
    const action = () => services!.sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions[0];
    assert.equal(action().status, "Approved", "EV2 recorded the decision the killed task sent");

    const rerun = await runBuiltTask(
      "GateApproval",
      flowSetup(services, gateInputs, { variables: { "System.JobAttempt": "2" } }),
    );
    assert.equal(rerun.result?.result, "Succeeded", rerun.result?.message);
    assert.match(rerun.result!.message, /already Approved by Alice Approver/);
    assert.deepEqual(
      {
        decision: rerun.outputs.decision,
        actionId: rerun.outputs.actionId,
        decidedBy: rerun.outputs.decidedBy,
      },
      { decision: "approved", actionId: "wait-1", decidedBy: approver },
    );
    assert.equal(services.sim.requests.filter((r) => r.path.endsWith("/decision")).length, 1);
  });
});
