/**
 * The demo's scenarios: how the sample service behaves in each region and how the run of
 * examples/azure-pipelines.yml must end. Both play the same pipeline file; only the world
 * around it changes.
 */
import { readFileSync } from "node:fs";
import { deploymentReportFiles, type DeploymentReport } from "../shared/report/deployment-report";
import type { RolloutView } from "../sim/ev2";
import type { TargetService } from "../sim/target-service";
import type { ReceivedTeamsMessage } from "../sim/teams-sink";
import type { PipelineRunResult, StepRecord } from "../pipeline/run-events";

export interface DemoOutcome {
  run: PipelineRunResult;
  /** The rollout the pipeline started, as EV2 has it at the end. */
  rollout?: RolloutView;
  /** The rollback rollout the Roll_back stage started, if it ran. */
  rollback?: RolloutView;
  /** Rollouts EV2 accepted during the run (the scenario's history not counted). */
  rolloutsStarted: number;
  cards: ReceivedTeamsMessage[];
}

export interface DemoCheck {
  what: string;
  ok: boolean;
  /** What was seen instead, when not ok. */
  seen?: string;
}

export interface DemoScenario {
  name: string;
  description: string;
  /** The EV2 simulator scenario (sim/scenarios/<name>.json). */
  ev2Scenario: string;
  /** Regions that misbehave. */
  failingRegions: string[];
  setUp(target: TargetService): void;
  expect(outcome: DemoOutcome): DemoCheck[];
}

export function findStep(
  run: PipelineRunResult,
  stage: string,
  job: string,
  step: string,
): StepRecord | undefined {
  return run.stages
    .find((s) => s.name === stage)
    ?.jobs.find((j) => j.name === job)
    ?.steps.find((s) => s.name === step);
}

function check(what: string, seen: unknown, expected: unknown): DemoCheck {
  return seen === expected
    ? { what, ok: true }
    : { what, ok: false, seen: seen === undefined ? "nothing" : String(seen) };
}

function checkMatch(what: string, seen: string, expected: RegExp): DemoCheck {
  return expected.test(seen) ? { what, ok: true } : { what, ok: false, seen: seen || "nothing" };
}

/** A card's title: the text of its first TextBlock. */
export function cardTitle(body: unknown): string | undefined {
  const content = (body as { attachments?: Array<{ content?: unknown }> })?.attachments?.[0]?.content;
  const find = (node: unknown): string | undefined => {
    if (Array.isArray(node)) {
      for (const n of node) {
        const found = find(n);
        if (found) return found;
      }
      return undefined;
    }
    if (node && typeof node === "object") {
      const o = node as Record<string, unknown>;
      if (o.type === "TextBlock" && typeof o.text === "string") return o.text;
      return find(o.body ?? o.items ?? o.columns);
    }
    return undefined;
  };
  return find(content);
}

const cardTitles = (o: DemoOutcome) => o.cards.map((c) => cardTitle(c.body) ?? "(untitled)").join("; ");

/** Within this, on the simulator with default settings, the rollback must be accepted. */
const timeToSafetyLimitSeconds = 30;

/** The deployment report the Roll_back job left in the ev2-records artifact. */
function rollbackJobReport(o: DemoOutcome): DeploymentReport | undefined {
  const file = o.run.files.jobReports.find((f) =>
    f.endsWith(deploymentReportFiles({ stageName: "Roll_back", jobName: "rollback" }).json),
  );
  return file ? (JSON.parse(readFileSync(file, "utf8")) as DeploymentReport) : undefined;
}

/** What a bad stage must lead to: exactly one rollback rollout of the last good version, and the card saying so. */
function rolledBack(o: DemoOutcome): DemoCheck[] {
  const rollback = findStep(o.run, "Roll_back", "rollback", "rollback");
  const card = findStep(o.run, "Roll_back", "rollback", "notify");
  const seconds = Number(rollback?.outputs.timeToSafetySeconds);
  return [
    check("a rollback of the last good version (1.3.1) started", o.rollback?.artifactVersionNumber, "1.3.1"),
    check("exactly one rollback: two rollouts started in all", o.rolloutsStarted, 2),
    {
      what: `safety within ${timeToSafetyLimitSeconds} s of the bad verdict`,
      ok: seconds >= 0 && seconds < timeToSafetyLimitSeconds,
      ...(seconds >= 0 && seconds < timeToSafetyLimitSeconds
        ? {}
        : { seen: `${rollback?.outputs.timeToSafetySeconds} s` }),
    },
    check("the rollback card was delivered", card?.outputs.delivered, "true"),
    check(
      "the rollback job's deployment report tells the whole run, from the first trigger to the rollback",
      rollbackJobReport(o)
        ?.steps.map((st) => st.task)
        .join(" → "),
      o.run.stages
        .flatMap((st) => st.jobs.flatMap((j) => j.steps))
        .filter((st) => !st.unsupported && st.result !== "Skipped" && st.label.includes("@"))
        .map((st) => st.label.split("@")[0])
        .join(" → "),
    ),
    check("one Teams card was posted", o.cards.length, 1),
    checkMatch("it says the rollout was rolled back", cardTitles(o), /Rolled back to 1\.3\.1/),
  ];
}

const step = (o: DemoOutcome, name: string) => findStep(o.run, "Rollout_PPE", "rollout", name);

/** Every region answers quickly and correctly. */
const healthy: DemoScenario = {
  name: "healthy",
  description: "every region of orders-api answers well: the gate approves and the rollout completes",
  ev2Scenario: "gated",
  failingRegions: [],
  setUp(target) {
    target.setBehaviour({ latencyMs: 4, latencyJitterMs: 8 });
  },
  expect(o) {
    return [
      check("the stress test passed", step(o, "stress")?.outputs.passed, "true"),
      check("the gate approved the EV2 wait action", step(o, "gate")?.outputs.decision, "approved"),
      check("the rollout completed", o.rollout?.status, "Completed"),
      check("the completion card was delivered", step(o, "notify")?.outputs.delivered, "true"),
      check("one Teams card was posted", o.cards.length, 1),
      checkMatch("it says the rollout completed", cardTitles(o), /completed/i),
      check(
        "the rollback stage did not run",
        o.run.stages.find((s) => s.name === "Roll_back")?.result,
        "Skipped",
      ),
      check("one rollout was started", o.rolloutsStarted, 1),
      check("the pipeline succeeded", o.run.result, "Succeeded"),
    ];
  },
};

/** uksouth answers a quarter of its requests with 503, slowly. */
const failingRegion: DemoScenario = {
  name: "failing-region",
  description:
    "orders-api misbehaves in uksouth (a quarter of requests answer 503): the stress test fails, the gate rejects, EV2 cancels the rollout, the pipeline rolls back to the last good version and the rollback card goes out",
  ev2Scenario: "gated",
  failingRegions: ["uksouth"],
  setUp(target) {
    target.setBehaviour({ latencyMs: 4, latencyJitterMs: 8 });
    target.setBehaviour(
      { errorShare: 0.25, errorStatus: 503, latencyMs: 40, latencyJitterMs: 40 },
      "uksouth",
    );
  },
  expect(o) {
    return [
      check("the stress test failed", step(o, "stress")?.outputs.passed, "false"),
      check("the gate rejected the EV2 wait action", step(o, "gate")?.outputs.decision, "rejected"),
      check("EV2 cancelled the rollout", o.rollout?.status, "Cancelled"),
      check("the rollout was not followed further", step(o, "toEnd")?.result, "Skipped"),
      ...rolledBack(o),
      check("the pipeline failed", o.run.result, "Failed"),
    ];
  },
};

/** EV2's own health check fails uksouth: the rollout fails before the gate is reached. */
const ev2Failure: DemoScenario = {
  name: "ev2-failure",
  description:
    "EV2's own health check fails uksouth in Stage2-Pilot: the rollout fails before the gate, nothing is stress-tested, the pipeline rolls back to the last good version and the rollback card goes out",
  ev2Scenario: "failing-region",
  failingRegions: ["uksouth"],
  setUp(target) {
    target.setBehaviour({ latencyMs: 4, latencyJitterMs: 8 });
  },
  expect(o) {
    return [
      check("following to the gate failed", step(o, "toGate")?.result, "Failed"),
      check("the failed stage is named", step(o, "toGate")?.outputs.failedStage, "Stage2-Pilot"),
      check("nothing was stress-tested", step(o, "stress")?.result, "Skipped"),
      check("no gate was decided", step(o, "gate")?.result, "Skipped"),
      check("EV2 failed the rollout", o.rollout?.status, "Failed"),
      ...rolledBack(o),
      check("the pipeline failed", o.run.result, "Failed"),
    ];
  },
};

export const demoScenarios: Record<string, DemoScenario> = {
  [healthy.name]: healthy,
  [failingRegion.name]: failingRegion,
  [ev2Failure.name]: ev2Failure,
};
