/**
 * The deployment report: one document a reviewer reads on its own — what was rolled out and why
 * those versions, each stage with its regions and times, stress results, who approved and why,
 * which cards went out, and, when it went wrong, what was rolled back and how fast the service
 * was safe again. Built from the task records of the `ev2-records` artifact (record.ts); the
 * schema is documented in docs/deployment-report.md.
 *
 * Records come from several steps, jobs and even rollouts (a bad rollout and its rollback), and
 * from older task versions: every field is read as optional, and nothing here throws on a
 * record that lacks one.
 */
import { terminalStatuses } from "../ev2/schemas";
import { newRegionsOf } from "../rollout/new-regions";
import { classifyError, type ErrorClass } from "../rollout/remediation";
import type { TelemetryEvidence } from "../telemetry/evidence";
import type { RunIdentity, TaskRecord } from "../rollout/task-record";

export const DEPLOYMENT_REPORT_SCHEMA_VERSION = 1;
export const DEPLOYMENT_REPORT_KIND = "ev2-deployment-report";
/**
 * The report's file names in the `ev2-records` artifact. Every job of a run uploads into that one
 * artifact, so each job's report is named by its stage and job and never overwrites another's.
 */
export function deploymentReportFiles(run: Pick<RunIdentity, "stageName" | "jobName"> = {}): {
  json: string;
  markdown: string;
} {
  const part = (name: string | undefined, fallback: string) =>
    (name ?? fallback).replace(/[^A-Za-z0-9_-]/g, "_");
  const base = `deployment-report.${part(run.stageName, "stage")}.${part(run.jobName, "job")}`;
  return { json: `${base}.json`, markdown: `${base}.md` };
}

/** Whether a file (a path or a name) is a job's deployment report rather than a task record. */
export function isDeploymentReportFile(path: string): boolean {
  return /(^|[\\/])deployment-report\.[^\\/]*\.(json|md)$/.test(path);
}

/** Errors kept per rollout: a rollout that failed in fifty regions is told by its first few. */
const MAX_ERRORS_PER_ROLLOUT = 20;

export type ReportOutcome = "completed" | "rolledBack" | "failed" | "inProgress" | "unknown";

export interface DeploymentReport {
  schemaVersion: typeof DEPLOYMENT_REPORT_SCHEMA_VERSION;
  kind: typeof DEPLOYMENT_REPORT_KIND;
  outcome: ReportOutcome;
  /** One sentence: what happened. */
  headline: string;
  run: ReportRun;
  /** From the first step's start to the last step's end. */
  window: { startedAt: string | null; endedAt: string | null; durationSeconds: number | null };
  /** Seconds from the first bad verdict to EV2 accepting the rollback (the last rollback's); null without one. */
  timeToSafetySeconds: number | null;
  /**
   * Seconds from the first bad verdict to every region that got the bad version back on the good
   * one (the last rollback's, verified by FollowRollout with rollbackOf); null when not (yet) known.
   */
  timeToMitigatedSeconds: number | null;
  rollouts: ReportRollout[];
  stressTests: ReportStressTest[];
  gates: ReportGate[];
  notifications: ReportNotification[];
  rollbacks: ReportRollback[];
  /** What judged a rollout bad, in time order: a failed stage, a failed stress test, a rejected gate. */
  badVerdicts: ReportVerdict[];
  /** EV2 waits at a wait action that no later step decided: what the approver needs (newest snapshot). */
  waitingForApproval?: ReportApprovalWait;
  /** Every task run the report is built from, in time order. */
  steps: ReportStep[];
}

export interface ReportRun {
  project?: string;
  runUrl?: string;
  buildId?: string;
  releaseId?: string;
  requestedFor?: string;
  sourceVersion?: string;
  /** Pipeline stages and jobs the records come from. */
  stages: string[];
  jobs: string[];
}

export interface ReportRollout {
  rolloutId: string;
  /** "rollback": started by TriggerEv2Rollout with rollbackOf. */
  role: "rollout" | "rollback";
  serviceGroupName?: string;
  serviceId?: string;
  environment?: string;
  stageMapName?: string;
  artifactVersion?: string;
  stageMapVersion?: string;
  dashboardUrl?: string;
  /** The pre-deployment checks: present when a TriggerEv2Rollout record names this rollout. */
  trigger?: ReportTrigger;
  /** The last status a step saw; "Cancelled" by a rollback when nothing later was seen. */
  status?: string;
  /** When that status was seen (the end of the step that saw it). */
  statusAt?: string;
  /** The stages as of the last snapshot a FollowRollout step took. */
  stages: ReportStage[];
  errors: ReportRolloutError[];
  /** Errors left out beyond the first few. */
  errorsOmitted?: number;
  /** Why FollowRollout failed, with the remediation it recommended. */
  failure?: {
    stage?: string;
    region?: string;
    errorCode?: string;
    message?: string;
    recommendation?: string;
  };
  /** The rollback rollout that cancelled this one. */
  rolledBackBy?: string;
  /** The rollout this rollback cancelled. */
  rollbackOf?: string;
}

export interface ReportTrigger {
  /** started, attached (a re-run found its own rollout) or concurrent (followed another run's rollout). */
  outcome?: string;
  at: string;
  selectionScope: string[];
  exclusionScope: string[];
  idempotencyKey?: string;
  trackingBranch?: string;
  /** Why these versions and what happened, as the task said it. */
  resolution: string[];
}

export interface ReportStage {
  name: string;
  status?: string;
  startTime: string | null;
  endTime: string | null;
  durationSeconds: number | null;
  regions: ReportRegion[];
}

export interface ReportRegion {
  name: string;
  status?: string;
  startTime: string | null;
  endTime: string | null;
  durationSeconds: number | null;
}

export interface ReportRolloutError {
  stage?: string;
  region?: string;
  timestamp?: string;
  errorCode: string;
  /** The remediation class (shared/rollout/remediation.ts): rejected, healthCheck, quota, ... */
  errorClass: ErrorClass;
  message: string;
}

/** A wait action EV2 holds the rollout at, with the evidence the approver weighs and where to act. */
export interface ReportApprovalWait {
  rolloutId: string;
  actionId: string;
  /** The EV2 stage the wait action holds back. */
  stage?: string;
  reason?: string;
  waitingSince?: string;
  /** When the step that saw it waiting ended (the run's clock). */
  seenAt: string;
  /** The regions deployed since the last gate, by EV2's times (FollowRollout's newRegions). */
  newRegions: string[];
  /** The newest stress test started after the rollout was first seen at this gate; absent when none was. */
  stressTest?: ReportStressTest;
  /** Where an approver acts in Azure DevOps (the run's results page, or the release). */
  approvalUrl?: string;
  runUrl?: string;
  dashboardUrl?: string;
}

export interface ReportStressTest {
  at: string;
  rolloutId?: string;
  region?: string;
  stage?: string;
  mode?: string;
  verdict: "passed" | "failed" | "aborted" | "notReady" | "unknown";
  /** When it was judged bad (failed tests only). */
  verdictAt?: string;
  errorRatePercent: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  requestsPerSecond: number | null;
  failedThresholds: string[];
  onThresholdFailure?: string;
  rolloutCancelled?: boolean;
  baseline?: ReportBaseline;
  resultFile?: string;
  /** Why it did not run: the endpoints never became ready. */
  notReady?: string;
  /** A threshold `over <window> abort` stopped the load early. */
  earlyAbort?: ReportEarlyAbort;
}

export interface ReportEarlyAbort {
  threshold?: string;
  /** The endpoint whose window tripped; absent: overall. */
  endpoint?: string;
  windowSeconds?: number;
  /** Seconds into the load (after warm-up) when the breach was seen. */
  atSeconds?: number;
  /** From the first failing second to detection. */
  timeToDetectSeconds?: number;
}

export interface ReportBaseline {
  source?: string;
  startedAt?: string;
  /** Latency distribution against the baseline: slower, faster or same. */
  verdict?: string;
  cliffsDelta?: number;
  pSlower?: number | null;
  /** Figure changes against the baseline, when the record carries them (relative: 0.3 = 30% more). */
  changes?: Record<
    string,
    { baseline: number | null; current: number | null; relativeChange: number | null }
  >;
}

export interface ReportGate {
  at: string;
  rolloutId?: string;
  actionId?: string;
  stage?: string;
  /** What the step was asked: approve, reject or evaluate. */
  requested?: string;
  /** approved, rejected, leftWaiting; "waiting" for a gate no step decided; failed when the step failed. */
  decision: string;
  decidedBy?: string;
  /** Where the approver came from: the Azure DevOps approval, or the run's requester. */
  approverSource?: string;
  approverNote?: string;
  /** The comment EV2 recorded with the decision (as a later snapshot shows it). */
  comment?: string;
  decidedAt?: string;
  evidence: Array<{
    kind?: string;
    source?: string;
    passed?: boolean;
    inconclusive?: boolean;
    notEnforced?: boolean;
    detail?: string;
  }>;
  /** Production telemetry the gate judged on (GateApproval's telemetry inputs), as recorded. */
  telemetry?: TelemetryEvidence;
  /** GateApproval: this pipeline decided it; ev2: seen only in a rollout snapshot (decided elsewhere). */
  decidedThrough: "GateApproval" | "ev2";
  result?: string;
  message?: string;
}

export interface ReportNotification {
  at: string;
  rolloutId?: string;
  /** What the step was asked for (auto, started, ...) and the card it sent. */
  requested?: string;
  card?: string;
  delivered: boolean;
  httpStatus?: number;
  attempts?: number;
  error?: string;
  rollbackOf?: string;
  cardFile?: string;
}

export interface ReportRollback {
  at: string;
  /** The rollback rollout. */
  rolloutId?: string;
  /** The rollout it cancelled. */
  rolledBackRolloutId: string;
  /** The cancelled rollout's version, when a record of it is in the report. */
  badVersion?: string;
  rolledBackToVersion?: string;
  badVerdictAt?: string;
  /** When the rollback step ended (EV2 had accepted the rollback rollout by then). */
  acceptedAt?: string;
  timeToSafetySeconds: number | null;
  /** Recorded by the task, or worked out from badVerdictAt and the step's end (older records). */
  timeToSafetySource?: "recorded" | "estimated";
  resolution: string[];
  /** The rollback verified (FollowRollout with rollbackOf): absent when no step followed it. */
  mitigation?: ReportMitigation;
}

export interface ReportMitigation {
  /** When a FollowRollout step last looked (its end). */
  checkedAt: string;
  mitigated: boolean;
  /** EV2's time of the last region that got the bad version coming back on the good one. */
  mitigatedAt: string | null;
  /** From EV2 accepting the rollback to mitigated (EV2's clock). */
  rollbackSeconds: number | null;
  timeToMitigatedSeconds: number | null;
  /** Regions that got the bad version; restored with EV2's end time; pending or outside the rollback's scope. */
  regions: string[];
  restored: Array<{ region: string; at: string }>;
  pending: string[];
  notCovered: string[];
}

export interface ReportVerdict {
  at: string;
  task: string;
  rolloutId?: string;
  what: string;
}

export interface ReportStep {
  task: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds: number | null;
  result?: string;
  message?: string;
  rolloutId?: string;
  job?: string;
  stage?: string;
}

// -----------------------------------------------------------------------------------------------
// Tolerant readers: a record from another task version may lack or retype any field.

type Bag = Record<string, unknown>;
const obj = (v: unknown): Bag => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Bag) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const numOrNull = (v: unknown): number | null => num(v) ?? null;
const bool = (v: unknown): boolean | undefined => (typeof v === "boolean" ? v : undefined);
const strings = (v: unknown): string[] => arr(v).flatMap((x) => (typeof x === "string" ? [x] : []));
const time = (v: unknown): number => {
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
};
const secondsBetween = (a: unknown, b: unknown): number | null => {
  const from = time(a);
  const to = time(b);
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, (to - from) / 1000) : null;
};
/** Drops undefined members so that the JSON stays small and stable. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

interface Entry {
  record: TaskRecord;
  details: Bag;
  at: string;
  endedAt: string;
}

/** Builds the report from task records in any order. Pure: the same records give the same report. */
export function buildDeploymentReport(records: readonly TaskRecord[]): DeploymentReport {
  const entries: Entry[] = records
    .filter((r) => r !== null && typeof r === "object" && typeof (r as unknown as Bag).task === "string")
    .map((record) => {
      const at = str(record.startedAt) ?? "";
      return { record, details: obj(record.details), at, endedAt: str(record.endedAt) ?? at };
    })
    .map((e, i) => ({ e, i }))
    .sort((a, b) => time(a.e.at) - time(b.e.at) || time(a.e.endedAt) - time(b.e.endedAt) || a.i - b.i)
    .map(({ e }) => e);

  const rollouts = new Map<string, ReportRollout>();
  const rolloutOf = (id: string): ReportRollout => {
    let r = rollouts.get(id);
    if (!r) {
      r = { rolloutId: id, role: "rollout", stages: [], errors: [] };
      rollouts.set(id, r);
    }
    return r;
  };
  const stressTests: ReportStressTest[] = [];
  const gates: ReportGate[] = [];
  const notifications: ReportNotification[] = [];
  const rollbacks: ReportRollback[] = [];
  const badVerdicts: ReportVerdict[] = [];
  /** FollowRollout records that verified a rollback, in time order. */
  const mitigations: Entry[] = [];
  /** Wait actions as the last snapshot of each rollout shows them. */
  const waitActions = new Map<string, Bag[]>();

  for (const e of entries) {
    const { record, details: d } = e;
    const rolloutId = str(record.rolloutId);
    switch (record.task) {
      case "TriggerEv2Rollout":
        if (rolloutId) addTrigger(rolloutOf(rolloutId), e);
        if (str(d.rollbackOf)) rollbacks.push(rollbackOf(e, rolloutId));
        break;
      case "FollowRollout":
        if (rolloutId) {
          const r = rolloutOf(rolloutId);
          addSnapshot(r, e);
          if (Object.keys(obj(d.mitigation)).length) mitigations.push(e);
          const snapshot = obj(d.rollout);
          if (Array.isArray(snapshot.waitActions))
            waitActions.set(rolloutId, arr(snapshot.waitActions).map(obj));
        }
        if (str(d.end) === "failed" || str(d.end) === "cancelled") {
          // The failure without the task message's remediation advice: the rollout section has it.
          const f = obj(d.failure);
          const where = [str(f.stage), str(f.region) && `in ${str(f.region)}`].filter(Boolean).join(" ");
          badVerdicts.push({
            at: e.endedAt,
            task: record.task,
            rolloutId,
            what: str(f.errorCode)
              ? `${where ? `${where}: ` : ""}${[str(f.errorCode), str(f.message)].filter(Boolean).join(": ")}`
              : (str(record.message) ?? `Rollout ${rolloutId ?? ""} ${str(d.end)}.`),
          });
        }
        break;
      case "StressTestStage": {
        const test = stressTestOf(e, rolloutId);
        stressTests.push(test);
        if (test.verdict === "failed" || test.verdict === "notReady")
          badVerdicts.push({
            at: test.verdictAt ?? e.endedAt,
            task: record.task,
            rolloutId,
            what: str(record.message) ?? "The stress test failed.",
          });
        break;
      }
      case "GateApproval": {
        const gate = gateOf(e, rolloutId);
        gates.push(gate);
        if (gate.decision === "rejected" || (gate.requested === "evaluate" && record.result === "Failed"))
          badVerdicts.push({
            at: e.endedAt,
            task: record.task,
            rolloutId,
            what: str(record.message) ?? `Gate ${gate.actionId ?? ""} ${gate.decision}.`,
          });
        break;
      }
      case "TeamsNotify":
        notifications.push(notificationOf(e, rolloutId));
        break;
    }
  }

  // The rollback verified: the last follow of each rollback says how far it got.
  for (const e of mitigations) {
    const m = obj(e.details.mitigation);
    const rolledBack = str(m.rollbackOf);
    let rb = rollbacks.find((x) => x.rolloutId === e.record.rolloutId);
    if (!rb && rolledBack) {
      // The rollback was started in another job: what the follow knew of it.
      rb = {
        at: str(m.acceptedAt) ?? e.at,
        rolloutId: str(e.record.rolloutId),
        rolledBackRolloutId: rolledBack,
        badVersion: str(m.badVersion),
        rolledBackToVersion: str(m.goodVersion),
        acceptedAt: str(m.acceptedAt),
        timeToSafetySeconds: num(m.timeToAcceptedSeconds) ?? null,
        resolution: [],
      };
      rollbacks.push(rb);
    }
    if (!rb) continue;
    rb.badVersion ??= str(m.badVersion);
    rb.mitigation = {
      checkedAt: e.endedAt,
      mitigated: str(m.mitigatedAt) !== undefined,
      mitigatedAt: str(m.mitigatedAt) ?? null,
      rollbackSeconds: num(m.rollbackSeconds) ?? null,
      timeToMitigatedSeconds: num(m.timeToMitigatedSeconds) ?? null,
      regions: strings(m.regions),
      restored: arr(m.restored)
        .map(obj)
        .map((x) => ({ region: str(x.region) ?? "", at: str(x.at) ?? "" })),
      pending: strings(m.pending),
      notCovered: strings(m.notCovered),
    };
  }

  // A rollback names the rollout it cancelled: link both ways, and say what became of it.
  for (const rb of rollbacks) {
    const bad = rollouts.get(rb.rolledBackRolloutId);
    if (rb.rolloutId) {
      const r = rolloutOf(rb.rolloutId);
      r.role = "rollback";
      r.rollbackOf = rb.rolledBackRolloutId;
    }
    if (!bad) continue;
    bad.rolledBackBy = rb.rolloutId;
    rb.badVersion = bad.artifactVersion;
    const seenAfter = bad.statusAt !== undefined && time(bad.statusAt) > time(rb.at);
    if (!seenAfter && !(bad.status && terminalStatuses.has(bad.status))) {
      bad.status = "Cancelled";
      bad.statusAt = rb.acceptedAt ?? rb.at;
      // The stages the last snapshot saw unfinished did not go on after the cancel either.
      const unfinished = (status: string | undefined) =>
        !status || !/^(Completed|Failed|Skipped|Cancelled)$/.test(status);
      for (const stage of bad.stages) {
        if (!unfinished(stage.status)) continue;
        stage.status = "Cancelled";
        for (const region of stage.regions) if (unfinished(region.status)) region.status = "Cancelled";
      }
    }
  }

  // Gates decided outside this pipeline (EV2's portal), or still waiting, are seen only in snapshots.
  for (const [rolloutId, actions] of waitActions) {
    for (const w of actions) {
      const actionId = str(w.actionId);
      const recorded = gates.find((g) => g.rolloutId === rolloutId && g.actionId === actionId);
      if (recorded) {
        recorded.comment ??= str(w.comment);
        recorded.decidedAt ??= str(w.decidedAt);
        if (!recorded.decidedBy) recorded.decidedBy = str(w.decidedBy);
        continue;
      }
      const status = str(w.status);
      gates.push(
        compact({
          at: str(w.decidedAt) ?? str(w.waitingSince) ?? "",
          rolloutId,
          actionId,
          stage: str(w.stage),
          decision: status === "Approved" ? "approved" : status === "Rejected" ? "rejected" : "waiting",
          decidedBy: str(w.decidedBy),
          comment: str(w.comment),
          decidedAt: str(w.decidedAt),
          evidence: [],
          decidedThrough: "ev2" as const,
        }),
      );
    }
  }
  gates.sort((a, b) => time(a.at) - time(b.at));
  badVerdicts.sort((a, b) => time(a.at) - time(b.at));

  const list = [...rollouts.values()].map(inReadingOrder);
  const lastRollback = rollbacks[rollbacks.length - 1];
  const timeToSafetySeconds = lastRollback?.timeToSafetySeconds ?? null;
  const timeToMitigatedSeconds = lastRollback?.mitigation?.timeToMitigatedSeconds ?? null;
  const outcome = outcomeOf(entries, list, rollbacks);
  const waitingForApproval = approvalWaitOf(entries, stressTests, gates);
  const steps = entries.map(({ record, at, endedAt }) =>
    compact({
      task: record.task,
      startedAt: at,
      endedAt: str(record.endedAt),
      durationSeconds: secondsBetween(at, endedAt),
      result: str(record.result),
      message: str(record.message),
      rolloutId: str(record.rolloutId),
      job: str(obj(record.run).jobName),
      stage: str(obj(record.run).stageName),
    }),
  );
  const startedAt = entries[0]?.at || null;
  const endedAt = entries.reduce<string | null>(
    (last, e) => (last === null || time(e.endedAt) > time(last) ? e.endedAt : last),
    null,
  );
  return {
    schemaVersion: DEPLOYMENT_REPORT_SCHEMA_VERSION,
    kind: DEPLOYMENT_REPORT_KIND,
    outcome,
    headline: headlineOf(outcome, list, gates, rollbacks, badVerdicts),
    run: runOf(entries),
    window: { startedAt, endedAt, durationSeconds: secondsBetween(startedAt, endedAt) },
    timeToSafetySeconds,
    timeToMitigatedSeconds,
    rollouts: list,
    stressTests,
    gates,
    notifications,
    rollbacks: rollbacks.map(compact),
    badVerdicts,
    ...(waitingForApproval ? { waitingForApproval } : {}),
    steps,
  };
}

/**
 * Where an approver acts on the run: the run's results page (YAML runs show pending approvals
 * and checks there), the release's progress page in classic release.
 */
export function approvalUrlFor(run: Pick<RunIdentity, "runUrl" | "releaseId">): string | undefined {
  if (!run.runUrl) return undefined;
  return run.releaseId ? run.runUrl : `${run.runUrl}&view=results`;
}

/**
 * The wait action the newest rollout snapshot shows EV2 waiting at, unless that rollout is over
 * or a later GateApproval step decided it; with the regions deployed since the last gate and the
 * newest stress test that started after a step first saw EV2 waiting there (the test of those
 * regions).
 */
function approvalWaitOf(
  entries: readonly Entry[],
  stressTests: readonly ReportStressTest[],
  gates: readonly ReportGate[],
): ReportApprovalWait | undefined {
  const follow = entries
    .filter((e) => e.record.task === "FollowRollout" && Array.isArray(obj(e.details.rollout).stages))
    .reduce<Entry | undefined>(
      (newest, e) => (!newest || time(e.endedAt) >= time(newest.endedAt) ? e : newest),
      undefined,
    );
  const rolloutId = str(follow?.record.rolloutId);
  if (!follow || !rolloutId) return undefined;
  const snapshot = obj(follow.details.rollout);
  if (terminalStatuses.has(str(snapshot.status) ?? "")) return undefined;
  const actions = arr(snapshot.waitActions).map(obj);
  const waiting = actions.find((w) => str(w.status) === "Waiting");
  const actionId = str(waiting?.actionId);
  if (!waiting || !actionId) return undefined;
  const decided = gates.some(
    (g) =>
      g.decidedThrough === "GateApproval" &&
      g.actionId === actionId &&
      (g.rolloutId ?? rolloutId) === rolloutId &&
      (g.decision === "approved" || g.decision === "rejected") &&
      time(g.at) >= time(follow.at),
  );
  if (decided) return undefined;
  const newRegions = newRegionsOf({
    stages: arr(snapshot.stages).map((st) => ({
      regions: arr(obj(st).regions)
        .map(obj)
        .map((g) => ({ name: str(g.name) ?? "", status: str(g.status) ?? "", endTime: str(g.endTime) })),
    })),
    waitActions: actions.map((w) => ({ status: str(w.status) ?? "", decidedAt: str(w.decidedAt) })),
  });
  // The test of these regions started after a step first saw EV2 waiting here (a later follow of
  // the same wait, in another job say, does not hide it).
  const firstSeen = entries
    .filter(
      (e) =>
        e.record.task === "FollowRollout" &&
        str(e.record.rolloutId) === rolloutId &&
        arr(obj(e.details.rollout).waitActions).some(
          (w) => str(obj(w).actionId) === actionId && str(obj(w).status) === "Waiting",
        ),
    )
    .reduce((earliest, e) => Math.min(earliest, time(e.at)), time(follow.at));
  const stressTest = stressTests
    .filter((t) => time(t.at) >= firstSeen && (t.rolloutId ?? rolloutId) === rolloutId)
    .at(-1);
  const run = obj(follow.record.run);
  return compact({
    rolloutId,
    actionId,
    stage: str(waiting.stage),
    reason: str(waiting.reason),
    waitingSince: str(waiting.waitingSince),
    seenAt: follow.endedAt,
    newRegions,
    stressTest,
    approvalUrl: approvalUrlFor({ runUrl: str(run.runUrl), releaseId: str(run.releaseId) }),
    runUrl: str(run.runUrl),
    dashboardUrl: str(snapshot.dashboardUrl),
  });
}

/** The same rollout with its fields in the order a reader wants them (JSON keeps insertion order). */
function inReadingOrder(r: ReportRollout): ReportRollout {
  return compact({
    rolloutId: r.rolloutId,
    role: r.role,
    rollbackOf: r.rollbackOf,
    rolledBackBy: r.rolledBackBy,
    serviceGroupName: r.serviceGroupName,
    serviceId: r.serviceId,
    environment: r.environment,
    stageMapName: r.stageMapName,
    artifactVersion: r.artifactVersion,
    stageMapVersion: r.stageMapVersion,
    dashboardUrl: r.dashboardUrl,
    status: r.status,
    statusAt: r.statusAt,
    trigger: r.trigger,
    stages: r.stages,
    errors: r.errors,
    errorsOmitted: r.errorsOmitted,
    failure: r.failure,
  });
}

function addTrigger(r: ReportRollout, e: Entry): void {
  const d = e.details;
  r.serviceGroupName ??= str(d.serviceGroupName);
  r.serviceId ??= str(d.serviceId);
  r.environment ??= str(d.environment);
  r.stageMapName ??= str(d.stageMapName);
  r.artifactVersion ??= str(d.artifactVersion);
  r.stageMapVersion ??= str(d.stageMapVersion);
  r.dashboardUrl ??= str(d.dashboardUrl);
  // A re-run that attached keeps the first step's checks: that is when the versions were chosen.
  r.trigger ??= compact({
    outcome: str(d.outcome),
    at: e.at,
    selectionScope: strings(d.selectionScope),
    exclusionScope: strings(d.exclusionScope),
    idempotencyKey: str(d.idempotencyKey),
    trackingBranch: str(d.trackingBranch),
    resolution: strings(d.resolution),
  });
  if (r.trigger && !r.trigger.trackingBranch && str(d.trackingBranch))
    r.trigger.trackingBranch = str(d.trackingBranch);
}

function addSnapshot(r: ReportRollout, e: Entry): void {
  const d = e.details;
  const failure = obj(d.failure);
  if (Object.keys(failure).length) {
    r.failure = compact({
      stage: str(failure.stage),
      region: str(failure.region),
      errorCode: str(failure.errorCode),
      message: str(failure.message),
      recommendation: str(failure.recommendation),
    });
  }
  const snapshot = obj(d.rollout);
  if (!Object.keys(snapshot).length) return;
  r.status = str(snapshot.status) ?? r.status;
  r.statusAt = e.endedAt;
  r.dashboardUrl ??= str(snapshot.dashboardUrl);
  if (Array.isArray(snapshot.stages)) {
    r.stages = arr(snapshot.stages).map((v) => {
      const st = obj(v);
      return compact({
        name: str(st.name) ?? "(unnamed)",
        status: str(st.status),
        startTime: str(st.startTime) ?? null,
        endTime: str(st.endTime) ?? null,
        durationSeconds: secondsBetween(st.startTime, st.endTime),
        regions: arr(st.regions).map((g) => {
          const region = obj(g);
          return compact({
            name: str(region.name) ?? "(unnamed)",
            status: str(region.status),
            startTime: str(region.startTime) ?? null,
            endTime: str(region.endTime) ?? null,
            durationSeconds: secondsBetween(region.startTime, region.endTime),
          });
        }),
      });
    });
  }
  if (Array.isArray(snapshot.errors)) {
    const errors = arr(snapshot.errors).map((v) => {
      const x = obj(v);
      const errorCode = str(x.errorCode) ?? "Unknown";
      return compact({
        stage: str(x.stage),
        region: str(x.region),
        timestamp: str(x.timestamp),
        errorCode,
        errorClass: classifyError(errorCode),
        message: typeof x.message === "string" ? x.message : "",
      });
    });
    r.errors = errors.slice(0, MAX_ERRORS_PER_ROLLOUT);
    r.errorsOmitted =
      errors.length > MAX_ERRORS_PER_ROLLOUT ? errors.length - MAX_ERRORS_PER_ROLLOUT : undefined;
  }
}

function rollbackOf(e: Entry, rolloutId: string | undefined): ReportRollback {
  const d = e.details;
  const recorded = num(d.timeToSafetySeconds);
  const estimated = recorded === undefined ? secondsBetween(d.badVerdictAt, e.endedAt) : null;
  // Not compacted yet: badVersion is filled in once every record is read, and keeps its place.
  return {
    at: e.at,
    rolloutId,
    rolledBackRolloutId: str(d.rollbackOf)!,
    badVersion: undefined,
    rolledBackToVersion: str(d.artifactVersion),
    badVerdictAt: str(d.badVerdictAt),
    acceptedAt: str(e.record.endedAt),
    timeToSafetySeconds: recorded ?? estimated,
    timeToSafetySource:
      recorded !== undefined
        ? ("recorded" as const)
        : estimated !== null
          ? ("estimated" as const)
          : undefined,
    resolution: strings(d.resolution),
  };
}

function stressTestOf(e: Entry, rolloutId: string | undefined): ReportStressTest {
  const d = e.details;
  const o = obj(d.outputs);
  const notReady = str(d.notReady);
  const passed = bool(d.passed) ?? bool(o.passed);
  const verdict: ReportStressTest["verdict"] =
    bool(d.aborted) === true
      ? "aborted"
      : notReady
        ? "notReady"
        : passed === true
          ? "passed"
          : passed === false
            ? "failed"
            : "unknown";
  const early = obj(d.earlyAbort);
  const earlyAbort: ReportEarlyAbort | undefined = Object.keys(early).length
    ? compact({
        threshold: str(early.threshold),
        endpoint: str(early.endpoint),
        windowSeconds: num(early.windowSeconds),
        atSeconds: num(early.atSeconds),
        timeToDetectSeconds: num(early.timeToDetectSeconds),
      })
    : undefined;
  const b = obj(d.baseline);
  const distribution = obj(b.distribution);
  const changes = baselineChanges(b);
  const baseline: ReportBaseline | undefined = Object.keys(b).length
    ? compact({
        source: str(b.source),
        startedAt: str(b.startedAt),
        verdict: str(distribution.verdict),
        cliffsDelta: num(distribution.cliffsDelta),
        pSlower: distribution.pSlower === null ? null : num(distribution.pSlower),
        changes,
      })
    : undefined;
  return compact({
    at: e.at,
    rolloutId,
    region: str(d.region),
    stage: str(d.stage),
    mode: str(d.mode),
    verdict,
    verdictAt: str(d.verdictAt),
    errorRatePercent: numOrNull(o.errorRate),
    p50Ms: numOrNull(o.p50Ms),
    p95Ms: numOrNull(o.p95Ms),
    p99Ms: numOrNull(o.p99Ms),
    requestsPerSecond: numOrNull(o.requestsPerSecond),
    failedThresholds: strings(d.failedThresholds),
    onThresholdFailure: str(d.onThresholdFailure),
    rolloutCancelled: bool(d.rolloutCancelled),
    baseline,
    resultFile: str(d.resultFile),
    notReady,
    earlyAbort,
  });
}

/**
 * Figure changes, if the record carries them: `baseline.figures` (the shape of the stress
 * library's ScopeComparison.figures) or `baseline.overall.figures`. Today's records carry only
 * the distribution test; this reads later ones without a schema change.
 */
function baselineChanges(b: Bag): ReportBaseline["changes"] {
  const figures = obj(b.figures ?? obj(b.overall).figures);
  const changes: NonNullable<ReportBaseline["changes"]> = {};
  for (const [name, v] of Object.entries(figures)) {
    const f = obj(v);
    if (!("current" in f) && !("baseline" in f)) continue;
    changes[name] = {
      baseline: numOrNull(f.baseline),
      current: numOrNull(f.current),
      relativeChange: numOrNull(f.relativeChange),
    };
  }
  return Object.keys(changes).length ? changes : undefined;
}

function gateOf(e: Entry, rolloutId: string | undefined): ReportGate {
  const d = e.details;
  const decision = str(d.decision) ?? (e.record.result === "Failed" ? "failed" : "unknown");
  return compact({
    at: e.at,
    rolloutId,
    actionId: str(d.actionId),
    stage: str(d.stage),
    requested: str(d.requested),
    decision,
    decidedBy: str(d.decidedBy),
    approverSource: str(d.approverSource),
    approverNote: str(d.approverNote),
    decidedAt: decision === "approved" || decision === "rejected" ? str(e.record.endedAt) : undefined,
    evidence: arr(d.evidence).map((v) => {
      const x = obj(v);
      return compact({
        kind: str(x.kind),
        source: str(x.source),
        passed: bool(x.passed),
        inconclusive: bool(x.inconclusive),
        notEnforced: bool(x.notEnforced),
        detail: str(x.detail),
      });
    }),
    telemetry: telemetryOf(d.telemetry),
    decidedThrough: "GateApproval" as const,
    result: str(e.record.result),
    message: str(e.record.message),
  });
}

/** The recorded telemetry evidence, when it has the shape the gate writes (regions and queries). */
function telemetryOf(v: unknown): TelemetryEvidence | undefined {
  const t = obj(v);
  const regionsOk = arr(t.regions).every(
    (r) => typeof obj(r).region === "string" && typeof obj(r).samples === "object",
  );
  return typeof t.verdict === "string" && Array.isArray(t.regions) && Array.isArray(t.queries) && regionsOk
    ? (t as unknown as TelemetryEvidence)
    : undefined;
}

function notificationOf(e: Entry, rolloutId: string | undefined): ReportNotification {
  const d = e.details;
  return compact({
    at: e.at,
    rolloutId,
    requested: str(d.notification),
    card: str(d.kind),
    delivered: bool(d.delivered) ?? false,
    httpStatus: num(d.status),
    attempts: num(d.attempts),
    error: str(d.error),
    rollbackOf: str(d.rollbackOf),
    cardFile: str(d.cardFile),
  });
}

function runOf(entries: Entry[]): ReportRun {
  const runs = entries.map((e) => obj(e.record.run) as RunIdentity);
  const first = <K extends keyof RunIdentity>(key: K) =>
    runs.map((r) => str(r[key])).find((v) => v !== undefined);
  const distinct = (key: keyof RunIdentity) => [
    ...new Set(runs.flatMap((r) => (str(r[key]) ? [str(r[key])!] : []))),
  ];
  return compact({
    project: first("project"),
    runUrl: first("runUrl"),
    buildId: first("buildId"),
    releaseId: first("releaseId"),
    requestedFor: first("requestedFor"),
    sourceVersion: first("sourceVersion"),
    stages: distinct("stageName"),
    jobs: distinct("jobName"),
  });
}

function outcomeOf(entries: Entry[], rollouts: ReportRollout[], rollbacks: ReportRollback[]): ReportOutcome {
  if (!entries.length) return "unknown";
  if (rollbacks.length) return "rolledBack";
  if (entries.some((e) => e.record.result === "Failed")) return "failed";
  if (rollouts.some((r) => r.status === "Failed" || r.status === "Cancelled")) return "failed";
  const forward = rollouts.filter((r) => r.role === "rollout");
  if (forward.length && forward.every((r) => r.status === "Completed")) return "completed";
  return forward.length ? "inProgress" : "unknown";
}

function describeRollout(r: ReportRollout | undefined, id?: string): string {
  if (!r) return `rollout ${id ?? "(unknown)"}`;
  const what = [r.serviceId, r.artifactVersion].filter(Boolean).join(" ");
  return `rollout ${r.rolloutId}${what ? ` (${what}${r.environment ? ` to ${r.environment}` : ""})` : ""}`;
}

function headlineOf(
  outcome: ReportOutcome,
  rollouts: ReportRollout[],
  gates: ReportGate[],
  rollbacks: ReportRollback[],
  verdicts: ReportVerdict[],
): string {
  const main = rollouts.find((r) => r.role === "rollout") ?? rollouts[0];
  const decided = gates.filter((g) => g.decision === "approved" || g.decision === "rejected");
  const gateText = decided.length
    ? ` Gate${decided.length > 1 ? "s" : ""}: ${decided.map((g) => `${g.actionId ?? "?"} ${g.decision}${g.decidedBy ? ` by ${g.decidedBy}` : ""}`).join("; ")}.`
    : "";
  const regions = (r: ReportRollout) => new Set(r.stages.flatMap((s) => s.regions.map((g) => g.name))).size;
  switch (outcome) {
    case "completed":
      return `${cap(describeRollout(main))} completed: ${main.stages.length} stage(s), ${regions(main)} region(s).${gateText}`;
    case "rolledBack": {
      const rb = rollbacks[rollbacks.length - 1];
      const bad = rollouts.find((r) => r.rolloutId === rb.rolledBackRolloutId);
      const why = verdicts[0] ? ` after: ${verdicts[0].what.replace(/\.?$/, ".")}` : ".";
      const safety =
        rb.timeToSafetySeconds === null ? "" : ` Time to safety: ${rb.timeToSafetySeconds.toFixed(1)} s.`;
      const m = rb.mitigation;
      const mitigated = !m
        ? ""
        : m.mitigated
          ? ` Mitigated (every region that got the bad version back)${m.timeToMitigatedSeconds === null ? ` at ${m.mitigatedAt}` : ` ${m.timeToMitigatedSeconds.toFixed(1)} s after the bad verdict`}.`
          : ` Not mitigated when last checked: ${m.restored.length} of ${m.regions.length} region(s) back.`;
      return `${cap(describeRollout(bad, rb.rolledBackRolloutId))} was rolled back to ${rb.rolledBackToVersion ?? "the last good version"} by rollout ${rb.rolloutId ?? "(unknown)"}${why}${safety}${mitigated}`;
    }
    case "failed":
      return `${main ? cap(describeRollout(main)) : "The deployment"} did not succeed${verdicts[0] ? `: ${verdicts[0].what}` : "; see the steps below."}`;
    case "inProgress":
      return `${cap(describeRollout(main))} is ${main.status ?? "started"}${main.stages.length ? ` (${main.stages.filter((s) => s.status === "Completed").length} of ${main.stages.length} stages completed)` : ""}.${gateText}`;
    default:
      return "No rollout is recorded in these records.";
  }
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
