/**
 * The demo's scenarios: how the sample service behaves in each region and how the run of
 * examples/azure-pipelines.yml must end. Both play the same pipeline file; only the world
 * around it changes.
 */
import type { RolloutView } from "../sim/ev2";
import type { TargetService } from "../sim/target-service";
import type { ReceivedTeamsMessage } from "../sim/teams-sink";
import type { PipelineRunResult, StepRecord } from "../pipeline/run-events";
import type { DeploymentReport } from "../shared/report/deployment-report";

export interface DemoOutcome {
  run: PipelineRunResult;
  /** The rollout the pipeline started, as EV2 has it at the end. */
  rollout?: RolloutView;
  /** Rollback rollouts the run started (tagged with the rollout they roll back). */
  rollbacks: RolloutView[];
  /** The version of the newest rollout that completed before the run: what a rollback must bring back. */
  lastGoodVersion?: string;
  /** Rollouts EV2 accepted during the run (the scenario's history not counted). */
  rolloutsStarted: number;
  cards: ReceivedTeamsMessage[];
  /** The run's deployment report, when the run wrote one. */
  report?: DeploymentReport;
  /** The pipeline is the user's own (--pipeline), not the example the scenarios were written for. */
  ownPipeline?: boolean;
}

export interface DemoCheck {
  what: string;
  ok: boolean;
  /** What was seen instead, when not ok. */
  seen?: string;
  /** Why the check was not judged (it counts as passed). */
  notJudged?: string;
}

export interface DemoScenario {
  name: string;
  description: string;
  /** The EV2 simulator scenario (sim/scenarios/<name>.json). */
  ev2Scenario: string;
  /** Regions that misbehave. */
  failingRegions: string[];
  /** The release manager rejects the approval asked while EV2 waits at a gate. */
  rejectApproval?: boolean;
  /** The pipeline played unless --pipeline names one (default examples/azure-pipelines.yml). */
  pipeline?: string;
  /** Production telemetry served by the Log Analytics stand-in (sim/scenarios/telemetry/<name>.json). */
  telemetry?: string;
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

/** Titles of the cards TeamsNotify posts once a rollout has ended (notification-card.ts). */
const ENDING_CARD =
  /^(✅ Rollout completed|❌ Rollout failed|🚫 Rollout (rejected|cancelled)|↩️ Rolled back to)/u;

/**
 * A card saying how the rollout ended. The example posts one; a pipeline of your own is judged
 * on it only when it posts such a card at all (telling Teams is a choice, EV2's outcome is not).
 */
function endingCard(what: string, o: DemoOutcome, expected: RegExp): DemoCheck {
  const endings = o.cards.some((c) => ENDING_CARD.test(cardTitle(c.body) ?? ""));
  if (o.ownPipeline && !endings)
    return { what, ok: true, notJudged: "the pipeline posts no card once the rollout has ended" };
  return checkMatch(what, cardTitles(o), expected);
}

/** The EV2 wait action of the rollout the pipeline started (the gate the run had to pass). */
const gateOf = (o: DemoOutcome) => o.rollout?.waitActions.at(-1);

/**
 * What a bad stage must lead to, judged in EV2: the bad rollout stopped, exactly one rollback,
 * to the last good version, and a card saying so. Any pipeline's names will do.
 */
function rolledBack(o: DemoOutcome): DemoCheck[] {
  return [
    checkMatch("the bad rollout stopped", o.rollout?.status ?? "", /^(Cancelled|Failed)$/),
    check("exactly one rollback rollout was started", o.rollbacks.length, 1),
    check(
      `the rollback rolls out the last good version (${o.lastGoodVersion ?? "?"})`,
      o.rollbacks[0]?.artifactVersionNumber,
      o.lastGoodVersion,
    ),
    endingCard("a card says the rollout was rolled back", o, /Rolled back to/),
    check("the pipeline failed", o.run.result, "Failed"),
  ];
}

function completed(o: DemoOutcome): DemoCheck[] {
  return [
    check("one rollout was started", o.rolloutsStarted, 1),
    check("the rollout completed", o.rollout?.status, "Completed"),
    check("no rollback was started", o.rollbacks.length, 0),
    endingCard("a card says the rollout completed", o, /Rollout completed/),
    check("the pipeline succeeded", o.run.result, "Succeeded"),
  ];
}

const healthyService = (target: TargetService) => target.setBehaviour({ latencyMs: 4, latencyJitterMs: 8 });

/** Every region answers quickly and correctly; the release manager approves. */
const healthy: DemoScenario = {
  name: "healthy",
  description:
    "every region of orders-api answers well: the stress test passes, the release manager approves the environment, the approval reaches EV2 and the rollout completes",
  ev2Scenario: "gated",
  failingRegions: [],
  setUp: healthyService,
  expect(o) {
    return [...completed(o), checkMatch("the EV2 gate was approved", gateOf(o)?.status ?? "", /^Approved$/)];
  },
};

/** As healthy, judged on the human approval: who approved, with their comment, is in EV2. */
const humanApproval: DemoScenario = {
  ...healthy,
  name: "human-approval",
  description:
    "the release manager approves the environment before the broad stage in Azure DevOps; GateApproval finds that approval and records who and why in EV2",
  expect(o) {
    return [
      ...completed(o),
      check("the EV2 gate was approved", gateOf(o)?.status, "Approved"),
      checkMatch(
        "EV2 records the Azure DevOps approver and comment",
        `${gateOf(o)?.decidedBy ?? ""} | ${gateOf(o)?.comment ?? ""}`,
        /^Riley Release-Manager <[^>]+> \| .*simulated release manager.*Azure DevOps approval/,
      ),
    ];
  },
};

/** The release manager rejects: the rejection reaches EV2 and the rollback follows. */
const humanRejection: DemoScenario = {
  ...healthy,
  name: "human-rejection",
  description:
    "the release manager rejects the environment before the broad stage in Azure DevOps: the rejection (who and why) reaches the EV2 wait action, EV2 stops the rollout and the pipeline rolls back to the last good version",
  rejectApproval: true,
  expect(o) {
    return [
      check("the EV2 gate was rejected", gateOf(o)?.status, "Rejected"),
      checkMatch(
        "EV2 records the Azure DevOps rejecter and comment",
        `${gateOf(o)?.decidedBy ?? ""} | ${gateOf(o)?.comment ?? ""}`,
        /^Riley Release-Manager <[^>]+> \| .*Azure DevOps rejection/,
      ),
      ...rolledBack(o),
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
    healthyService(target);
    target.setBehaviour(
      { errorShare: 0.25, errorStatus: 503, latencyMs: 40, latencyJitterMs: 40 },
      "uksouth",
    );
  },
  expect(o) {
    return [check("the EV2 gate was rejected", gateOf(o)?.status, "Rejected"), ...rolledBack(o)];
  },
};

/** EV2's own health check fails uksouth: the rollout fails before the gate is reached. */
const ev2Failure: DemoScenario = {
  name: "ev2-failure",
  description:
    "EV2's own health check fails uksouth in Stage2-Pilot: the rollout fails before the gate, nothing is stress-tested, the pipeline rolls back to the last good version and the rollback card goes out",
  ev2Scenario: "failing-region",
  failingRegions: ["uksouth"],
  setUp: healthyService,
  expect(o) {
    return [
      check("EV2 failed the rollout", o.rollout?.status, "Failed"),
      check("no gate was decided", gateOf(o)?.status ?? "none", "none"),
      ...rolledBack(o),
    ];
  },
};

/** The gate's record of the telemetry it judged on, as the run's deployment report has it. */
const telemetryGate = (o: DemoOutcome) => o.report?.gates.find((g) => g.telemetry)?.telemetry;

/** The statistics a reviewer audits: a test, its p-value, the effect and the samples, per region. */
function reportsStatistics(o: DemoOutcome): DemoCheck {
  const t = telemetryGate(o);
  const r = t?.regions[0];
  return checkMatch(
    "the deployment report carries each region's test, p-value, effect and samples",
    r?.latency
      ? `${r.latency.test}; p ${r.latency.pValue}; shift ${r.latency.shiftMs.estimate} [${r.latency.shiftMs.lower}, ${r.latency.shiftMs.upper}]; samples ${r.samples.new.rows}/${r.samples.baseline.rows}; ${t!.queries.length} queries`
      : "",
    /^Mann-Whitney U.*; p [\d.e-]+; shift -?[\d.]+ \[-?[\d.]+, -?[\d.]+\]; samples [1-9]\d*\/[1-9]\d*; 2 queries$/,
  );
}

/** The new version's requests answer as the previous version's did: the telemetry gate approves. */
const telemetryHealthy: DemoScenario = {
  name: "telemetry-healthy",
  description:
    "production telemetry (Application Insights through the Log Analytics query API) of the canary and pilot regions matches the previous version: the gate approves on the statistics and the rollout completes",
  ev2Scenario: "gated",
  failingRegions: [],
  pipeline: "telemetry-gate.yml",
  telemetry: "healthy",
  setUp: healthyService,
  expect(o) {
    return [
      ...completed(o),
      check("the telemetry verdict was Pass", telemetryGate(o)?.verdict, "Pass"),
      check("the EV2 gate was approved by the automatic gate", gateOf(o)?.status, "Approved"),
      reportsStatistics(o),
    ];
  },
};

/** The canary is 30% slower than the last good version: the gate rejects and the rollback runs. */
const telemetryRegression: DemoScenario = {
  name: "telemetry-regression",
  description:
    "the new version's p95 in the canary regions is 30% worse than the last good version's in production telemetry: the gate rejects on the Mann-Whitney test and the Hodges-Lehmann shift, EV2 stops the rollout, the pipeline rolls back and the card says why",
  ev2Scenario: "gated",
  failingRegions: ["eastus2euap", "centraluseuap"],
  pipeline: "telemetry-gate.yml",
  telemetry: "regression",
  setUp: healthyService,
  expect(o) {
    return [
      check("the telemetry verdict was Fail", telemetryGate(o)?.verdict, "Fail"),
      check("the EV2 gate was rejected", gateOf(o)?.status, "Rejected"),
      checkMatch(
        "EV2's decision comment gives the statistics that decided it",
        gateOf(o)?.comment ?? "",
        /eastus2euap: slower than the previous version: shift \+[\d.]+ ms .*Mann-Whitney p/,
      ),
      checkMatch(
        "the rollback card says why, with the statistics",
        JSON.stringify(o.cards.at(-1)?.body ?? ""),
        /Mann-Whitney p/,
      ),
      reportsStatistics(o),
      ...rolledBack(o),
    ];
  },
};

/** A stage's result in the run, by name. */
const stageResult = (o: DemoOutcome, name: string) => o.run.stages.find((s) => s.name === name)?.result;

/**
 * examples/classic-release.json, the README's two-environment classic release: Canary to the
 * gate; Broad after its pre-deployment approval (by the release's approver) approves in EV2,
 * follows to completion and waits for its post-deployment gate.
 */
const classicRelease: DemoScenario = {
  name: "classic-release",
  description:
    "the classic release examples/classic-release.json: Canary rolls out to the EV2 gate; Sam Lead approves Broad's pre-deployment approval, GateApproval (rollout id empty) carries it into EV2, the rollout completes and Broad's post-deployment gate (Ev2RolloutGate) passes",
  ev2Scenario: "gated",
  failingRegions: [],
  pipeline: "classic-release.json",
  setUp: healthyService,
  expect(o) {
    return [
      check("one rollout was started", o.rolloutsStarted, 1),
      check("the rollout completed", o.rollout?.status, "Completed"),
      checkMatch(
        "EV2 records the release's approver and their Azure DevOps approval",
        `${gateOf(o)?.status ?? ""} | ${gateOf(o)?.decidedBy ?? ""} | ${gateOf(o)?.comment ?? ""}`,
        /^Approved \| Sam Lead <sam\.lead@contoso\.com> \| .*Azure DevOps approval/,
      ),
      check("no rollback was started", o.rollbacks.length, 0),
      check("Broad succeeded (after its post-deployment gate)", stageResult(o, "Broad"), "Succeeded"),
      check("the release succeeded", o.run.result, "Succeeded"),
    ];
  },
};

/** The same release with Broad's approval rejected: nothing in the release tells EV2. */
const classicRejection: DemoScenario = {
  ...classicRelease,
  name: "classic-rejection",
  description:
    "the classic release with Broad's pre-deployment approval rejected: Broad does not run, so the EV2 wait action stays undecided (reject it in EV2, or let it time out) and nothing is rolled back",
  rejectApproval: true,
  expect(o) {
    return [
      check("one rollout was started", o.rolloutsStarted, 1),
      check("the rollout still waits at the EV2 gate", o.rollout?.status, "Waiting"),
      check("the EV2 gate is undecided", gateOf(o)?.status, "Waiting"),
      check("Broad was not deployed", stageResult(o, "Broad"), "Failed"),
      check("no rollback was started", o.rollbacks.length, 0),
      check("the release failed", o.run.result, "Failed"),
    ];
  },
};

export const demoScenarios: Record<string, DemoScenario> = Object.fromEntries(
  [
    healthy,
    humanApproval,
    humanRejection,
    failingRegion,
    ev2Failure,
    telemetryHealthy,
    telemetryRegression,
    classicRelease,
    classicRejection,
  ].map((d) => [d.name, d]),
);
