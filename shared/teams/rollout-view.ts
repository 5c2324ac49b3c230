/**
 * The parts of an EV2 rollout (`GET /rollouts/{id}` in the contract) that a Teams card shows.
 * Structurally a subset of the EV2 client's parsed `Rollout`, so that one can be passed as is;
 * statuses stay `string` so a status EV2 adds later still renders.
 */
import { terminalStatuses } from "../ev2/schemas";

export interface RegionView {
  name: string;
  status: string;
  startTime?: string | null;
  endTime?: string | null;
}

export interface StageView {
  name: string;
  status: string;
  startTime?: string | null;
  endTime?: string | null;
  regions: RegionView[];
}

export interface WaitActionView {
  actionId: string;
  stage: string;
  reason?: string;
  status: string;
  waitingSince?: string;
  decidedBy?: string | null;
  decidedAt?: string | null;
  comment?: string | null;
}

export interface RolloutErrorView {
  stage?: string;
  region?: string | null;
  timestamp?: string;
  errorCode: string;
  message?: string;
}

export interface RolloutView {
  rolloutId: string;
  serviceGroupName: string;
  serviceId: string;
  environment: string;
  artifactVersionNumber: string;
  stageMapName: string;
  stageMapVersion?: string;
  status: string;
  currentStage?: string | null;
  stages: StageView[];
  waitActions?: WaitActionView[];
  errors?: RolloutErrorView[];
  createdTimestamp: string;
  lastUpdateTime?: string;
  dashboardUrl?: string;
}

export function isTerminal(rollout: RolloutView): boolean {
  return terminalStatuses.has(rollout.status);
}

export interface RegionCounts {
  total: number;
  deployed: number;
  /** Not started yet or still deploying. */
  pending: number;
  failed: number;
}

/** Counted over (stage, region) pairs: a region that appears in two stages is deployed twice. */
export function countRegions(stages: readonly StageView[]): RegionCounts {
  const counts: RegionCounts = { total: 0, deployed: 0, pending: 0, failed: 0 };
  for (const stage of stages) {
    for (const region of stage.regions) {
      counts.total++;
      if (region.status === "Completed") counts.deployed++;
      else if (region.status === "Pending" || region.status === "InProgress") counts.pending++;
      else if (region.status === "Failed") counts.failed++;
    }
  }
  return counts;
}

/** Milliseconds since the epoch, or undefined for a missing or unreadable time. */
export function parseTime(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** From `start` to `end`, or to `now` while still running; undefined when `start` is unknown. */
export function elapsedMs(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number,
): number | undefined {
  const from = parseTime(start);
  if (from === undefined) return undefined;
  const to = parseTime(end) ?? now;
  return Math.max(0, to - from);
}

/** How long the rollout ran: to its last update once terminal, to `now` while it runs. */
export function rolloutElapsedMs(rollout: RolloutView, now: number): number | undefined {
  if (!isTerminal(rollout)) return elapsedMs(rollout.createdTimestamp, undefined, now);
  const lastStageEnd = Math.max(...rollout.stages.map((s) => parseTime(s.endTime) ?? -Infinity));
  const end = parseTime(rollout.lastUpdateTime) ?? (Number.isFinite(lastStageEnd) ? lastStageEnd : undefined);
  if (end === undefined) return undefined;
  const from = parseTime(rollout.createdTimestamp);
  return from === undefined ? undefined : Math.max(0, end - from);
}

export function lastIndexWhere<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i])) return i;
  return -1;
}

/** The action the rollout waits on now, if any. */
export function waitingAction(rollout: RolloutView): WaitActionView | undefined {
  return (rollout.waitActions ?? []).find((a) => a.status === "Waiting");
}

/** The newest error, preferring one of the stage that failed (`errors` keeps history across restarts). */
export function primaryError(rollout: RolloutView): RolloutErrorView | undefined {
  const errors = rollout.errors ?? [];
  const failedStage = rollout.stages[lastIndexWhere(rollout.stages, (s) => s.status === "Failed")];
  const ofFailedStage = failedStage ? errors.filter((e) => e.stage === failedStage.name) : [];
  return ofFailedStage.at(-1) ?? errors.at(-1);
}

/**
 * The stage a notification is about: the failed one, the one waiting for approval, the last one
 * completed, else the current one. Index into `rollout.stages`, -1 when there are none.
 */
export function focusStageIndex(
  rollout: RolloutView,
  about: "failure" | "wait" | "lastCompleted" | "current",
): number {
  const stages = rollout.stages;
  const byName = (name: string | null | undefined) => (name ? stages.findIndex((s) => s.name === name) : -1);
  const candidates: number[] = [];
  if (about === "failure") {
    candidates.push(
      lastIndexWhere(stages, (s) => s.status === "Failed"),
      byName(primaryError(rollout)?.stage),
    );
  }
  if (about === "wait") {
    candidates.push(
      byName(waitingAction(rollout)?.stage),
      stages.findIndex((s) => s.status === "Waiting"),
    );
  }
  if (about === "lastCompleted") candidates.push(lastIndexWhere(stages, (s) => s.status === "Completed"));
  candidates.push(
    byName(rollout.currentStage),
    stages.findIndex((s) => s.status !== "Completed" && s.status !== "Skipped"),
    stages.length - 1,
  );
  return candidates.find((i) => i >= 0) ?? -1;
}
