/**
 * A rollout's state is never stored: it is derived on demand from what happened to it (its
 * creation, wait-action decisions, a cancel, restarts) and the simulated time, so no
 * background timers run and a clock jump moves every rollout forward consistently.
 */

import type {
  Region,
  RegionStatus,
  Rollout,
  RolloutError,
  RolloutStatus,
  Stage,
  StageStatus,
  WaitAction,
  WaitActionStatus,
} from "../../shared/ev2/schemas";

export type { RegionStatus, RolloutStatus, StageStatus, WaitActionStatus };

export const ACTIVE_STATUSES: readonly RolloutStatus[] = ["NotStarted", "InProgress", "Waiting"];

/*
 * What the simulator sends is the client's parsed shape (shared/ev2/schemas.ts, z.infer) with
 * the contract's status values and the fields it always fills made required: a field the client
 * comes to require, renames or retypes fails the simulator's type check.
 */

export type RegionView = Region & { status: RegionStatus };

export type StageView = Omit<Stage, "regions"> & { status: StageStatus; regions: RegionView[] };

export type WaitActionView = WaitAction & {
  status: WaitActionStatus;
  reason: string;
  waitingSince: string;
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
};

export type RolloutErrorView = RolloutError & { stage: string; region?: string; timestamp: string };

/** The JSON of `GET /rollouts/{id}`. */
export type RolloutView = Omit<Rollout, "stages" | "waitActions" | "errors"> & {
  currentStage: string;
  stages: StageView[];
  waitActions: WaitActionView[];
  errors: RolloutErrorView[];
  lastUpdateTime: string;
  dashboardUrl: string;
  /** Beyond the contract's rollout: the tags it was started with (listings filter on them). */
  tags: Record<string, string>;
};

export interface PlannedFailure {
  errorCode: string;
  message: string;
  /** true: fails on the first attempt only; false: fails on every attempt. */
  restartable: boolean;
  /** Simulated ms after the attempt starts when it fails; default the region's duration. */
  afterMs?: number;
}

export interface PlannedRegion {
  name: string;
  durationMs: number;
  /** Left out by the selection/exclusion scopes. */
  skipped: boolean;
  failure?: PlannedFailure;
}

export interface PlannedStage {
  name: string;
  waitAction?: { actionId: string; reason: string };
  regions: PlannedRegion[];
}

export interface WaitDecision {
  decision: "Approve" | "Reject";
  decidedAtMs: number;
  decidedBy?: string;
  comment?: string;
  /** Recorded by a cancel of a rollout that was waiting, not by a person. */
  byCancel?: boolean;
}

/** Everything that happened to a rollout; its state at any time follows from this. */
export interface RolloutRecord {
  rolloutId: string;
  serviceGroupName: string;
  serviceId: string;
  environment: string;
  artifactVersionNumber: string;
  stageMapName: string;
  stageMapVersion: string;
  tags: Record<string, string>;
  dashboardUrl: string;
  createdAtMs: number;
  /** When the first stage may start (creation + the scenario's start delay). */
  startAtMs: number;
  stages: PlannedStage[];
  decisions: Map<string, WaitDecision>;
  cancel?: { atMs: number; reason?: string };
  /** Times of `restart` calls, in order; each one re-runs the failed regions of the stage that had failed. */
  restartsAtMs: number[];
  /** Pre-seeded history: every wait action counts as approved the moment it is reached. */
  autoApprove: boolean;
}

interface RegionRun {
  planned: PlannedRegion;
  attempt: number;
  startMs: number;
  endMs: number;
  fails: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

function plannedRun(region: PlannedRegion, attempt: number, startMs: number): RegionRun {
  const fails = region.failure !== undefined && (attempt === 1 || !region.failure.restartable);
  const runMs = fails
    ? Math.min(region.failure?.afterMs ?? region.durationMs, region.durationMs)
    : region.durationMs;
  return { planned: region, attempt, startMs, endMs: startMs + runMs, fails };
}

function pendingStage(stage: PlannedStage, status: "Pending" | "Skipped" = "Pending"): StageView {
  const allSkipped = stage.regions.every((region) => region.skipped);
  return {
    name: stage.name,
    status: allSkipped ? "Skipped" : status,
    startTime: null,
    endTime: null,
    regions: stage.regions.map((region) => ({
      name: region.name,
      status: region.skipped ? "Skipped" : status,
      startTime: null,
      endTime: null,
    })),
  };
}

/** The rollout as `GET /rollouts/{id}` shows it at simulated time `nowMs`. */
export function projectRollout(record: RolloutRecord, nowMs: number): RolloutView {
  // A cancel freezes the rollout at the moment it happened.
  const horizonMs = record.cancel ? Math.min(record.cancel.atMs, nowMs) : nowMs;
  const stages: StageView[] = [];
  const waitActions: WaitActionView[] = [];
  const errors: RolloutErrorView[] = [];
  let status: RolloutStatus = "NotStarted";
  let stageStartMs = record.startAtMs;
  let restartIndex = 0;
  let halted = horizonMs < record.startAtMs;
  // What the stages after the one the rollout stopped at show: Pending, or Skipped once it ended.
  let laterStages: "Pending" | "Skipped" = "Pending";

  for (const stage of record.stages) {
    if (halted) {
      stages.push(pendingStage(stage, laterStages));
      continue;
    }
    if (stage.regions.every((region) => region.skipped)) {
      stages.push(pendingStage(stage, "Skipped"));
      continue;
    }
    status = "InProgress";

    if (stage.waitAction) {
      const { actionId, reason } = stage.waitAction;
      const view: WaitActionView = {
        actionId,
        stage: stage.name,
        reason,
        status: "Waiting",
        waitingSince: iso(stageStartMs),
      };
      waitActions.push(view);
      const decision =
        record.decisions.get(actionId) ??
        (record.autoApprove
          ? { decision: "Approve" as const, decidedAtMs: stageStartMs, decidedBy: "history" }
          : undefined);
      if (!decision || decision.decidedAtMs > horizonMs) {
        status = "Waiting";
        stages.push({ ...pendingStage(stage), status: "Waiting" });
        halted = true;
        continue;
      }
      view.status = decision.decision === "Approve" ? "Approved" : "Rejected";
      if (decision.decidedBy !== undefined) view.decidedBy = decision.decidedBy;
      view.decidedAt = iso(decision.decidedAtMs);
      if (decision.comment !== undefined) view.comment = decision.comment;
      if (decision.decision === "Reject") {
        if (!decision.byCancel) {
          errors.push({
            stage: stage.name,
            timestamp: iso(decision.decidedAtMs),
            errorCode: "RejectedAtWaitAction",
            message: `Wait action ${actionId} was rejected${decision.decidedBy ? ` by ${decision.decidedBy}` : ""}${
              decision.comment ? `: ${decision.comment}` : ""
            }`,
          });
        }
        status = "Cancelled";
        stages.push({
          ...pendingStage(stage, "Skipped"),
          status: "Cancelled",
          endTime: iso(decision.decidedAtMs),
        });
        halted = true;
        laterStages = "Skipped";
        continue;
      }
      stageStartMs = decision.decidedAtMs;
    }

    const runs = new Map<string, RegionRun>();
    let rerun: RegionRun[] = [];
    for (const region of stage.regions) {
      if (region.skipped) continue;
      const run = plannedRun(region, 1, stageStartMs);
      runs.set(region.name, run);
      rerun.push(run);
    }
    let stageEndMs: number | null = null;
    let stageStatus: StageStatus;
    for (;;) {
      for (const run of rerun) {
        if (run.fails && run.endMs <= horizonMs) {
          const failure = run.planned.failure as PlannedFailure;
          errors.push({
            stage: stage.name,
            region: run.planned.name,
            timestamp: iso(run.endMs),
            errorCode: failure.errorCode,
            message: failure.message,
          });
        }
      }
      const roundEndMs = Math.max(...[...runs.values()].map((run) => run.endMs));
      if (roundEndMs > horizonMs) {
        stageStatus = "InProgress";
        halted = true;
        break;
      }
      const failed = [...runs.values()].filter((run) => run.fails);
      if (failed.length === 0) {
        stageStatus = "Completed";
        stageEndMs = roundEndMs;
        break;
      }
      const restartMs = record.restartsAtMs[restartIndex];
      if (restartMs !== undefined && restartMs >= roundEndMs && restartMs <= horizonMs) {
        restartIndex++;
        rerun = failed.map((run) => plannedRun(run.planned, run.attempt + 1, restartMs));
        for (const run of rerun) runs.set(run.planned.name, run);
        continue;
      }
      stageStatus = "Failed";
      stageEndMs = roundEndMs;
      status = "Failed";
      // Later stages stay Pending: a restart can still run them.
      halted = true;
      break;
    }

    stages.push({
      name: stage.name,
      status: stageStatus,
      startTime: iso(stageStartMs),
      endTime: stageEndMs === null ? null : iso(stageEndMs),
      regions: stage.regions.map((region): RegionView => {
        const run = runs.get(region.name);
        if (!run) return { name: region.name, status: "Skipped", startTime: null, endTime: null };
        const done = run.endMs <= horizonMs;
        return {
          name: region.name,
          status: !done ? "InProgress" : run.fails ? "Failed" : "Completed",
          startTime: iso(run.startMs),
          endTime: done ? iso(run.endMs) : null,
        };
      }),
    });
    if (stageEndMs !== null) stageStartMs = stageEndMs;
  }
  if (!halted) status = "Completed";

  if (record.cancel && (ACTIVE_STATUSES as RolloutStatus[]).includes(status)) {
    status = "Cancelled";
    applyCancel(stages, iso(record.cancel.atMs));
  }

  return {
    rolloutId: record.rolloutId,
    serviceGroupName: record.serviceGroupName,
    serviceId: record.serviceId,
    environment: record.environment,
    artifactVersionNumber: record.artifactVersionNumber,
    stageMapName: record.stageMapName,
    stageMapVersion: record.stageMapVersion,
    status,
    currentStage: currentStageOf(stages),
    stages,
    waitActions,
    errors,
    createdTimestamp: iso(record.createdAtMs),
    lastUpdateTime: lastUpdateOf(record, stages, waitActions, errors),
    dashboardUrl: record.dashboardUrl,
    tags: record.tags,
  };
}

/** Running stages and regions stop as Cancelled; what had not started is Skipped. */
function applyCancel(stages: StageView[], at: string): void {
  for (const stage of stages) {
    for (const region of stage.regions) {
      if (region.status === "InProgress") Object.assign(region, { status: "Cancelled", endTime: at });
      else if (region.status === "Pending") region.status = "Skipped";
    }
    if (stage.status === "InProgress" || stage.status === "Waiting") {
      Object.assign(stage, { status: "Cancelled", endTime: at });
    } else if (stage.status === "Pending") {
      stage.status = "Skipped";
    }
  }
}

/**
 * The stage the rollout is at: the first one not Completed or Skipped (running, waiting,
 * failed, cancelled or next to run); when all are done, the last one that ran.
 */
function currentStageOf(stages: StageView[]): string {
  const active = stages.find((stage) => stage.status !== "Completed" && stage.status !== "Skipped");
  const lastCompleted = stages.findLast((stage) => stage.status === "Completed");
  return (active ?? lastCompleted ?? stages[0]).name;
}

function lastUpdateOf(
  record: RolloutRecord,
  stages: StageView[],
  waitActions: WaitActionView[],
  errors: RolloutErrorView[],
): string {
  const times: string[] = [iso(record.createdAtMs)];
  for (const stage of stages) {
    for (const time of [
      stage.startTime,
      stage.endTime,
      ...stage.regions.flatMap((r) => [r.startTime, r.endTime]),
    ]) {
      if (time) times.push(time);
    }
  }
  for (const action of waitActions)
    times.push(action.waitingSince, ...(action.decidedAt ? [action.decidedAt] : []));
  for (const error of errors) times.push(error.timestamp);
  // ISO-8601 UTC strings of one format sort as the times they name.
  return times.sort().at(-1) as string;
}
