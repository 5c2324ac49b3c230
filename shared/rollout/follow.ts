import { unreachableHint, type Ev2Client } from "../ev2/client";
import { Ev2Error } from "../ev2/errors";
import { terminalStatuses, type Rollout, type WaitAction } from "../ev2/schemas";
import { durationBetween, formatDuration } from "../format";
import { isAbortError, sleep } from "../http/retry";
import { classifyError, isTransient, remediationFor } from "./remediation";

export interface FollowSettings {
  rolloutId: string;
  until: "completion" | "stage" | "waitAction";
  stageName?: string;
  pollingIntervalMs: number;
  /** 0 = no limit of our own (the job's timeout applies). */
  timeoutMs: number;
  onFailure: "fail" | "cancelRollout";
  onPipelineCancel: "leaveRunning" | "cancelRollout";
  restartFailed: boolean;
}

/** Where the follow loop reports; the task maps it onto the agent. */
export interface FollowReporter {
  event(message: string): void;
  warning(message: string): void;
  beginGroup(title: string): void;
  endGroup(): void;
  progress(percent: number, activity: string): void;
}

export type FollowEnd =
  | "completed" /* the rollout completed */
  | "stageCompleted" /* until: stage reached */
  | "waiting" /* until: waitAction reached */
  | "failed"
  | "cancelled" /* the rollout ended Cancelled */
  | "timedOut"
  | "pipelineCancelled";

export interface FollowOutcome {
  end: FollowEnd;
  rollout?: Rollout;
  /** The rollout as the first poll saw it: what had been decided before this follow started. */
  firstSeen?: Rollout;
  /** One line for the task result. */
  message: string;
  failure?: { stage: string; region?: string; errorCode: string; message: string; recommendation: string };
  actions: string[];
  polls: number;
  requests: number;
  changes: number;
  transientErrors: number;
}

export interface RolloutFacts {
  status: string;
  currentStage: string;
  completedStages: string[];
  deployedRegions: string[];
  pendingRegions: string[];
  waitAction?: WaitAction;
  failedStage?: string;
}

/** Broken answers in a row (each already retried by the client) that end a follow. */
export const MAX_PROTOCOL_ERRORS_IN_A_ROW = 3;

/** The name of the first Failed stage (`RolloutFacts.failedStage`). */
const failedStageOf = (r: Rollout) => r.stages.find((s) => s.status === "Failed")?.name;
/** The wait action that is Waiting (`RolloutFacts.waitAction`). */
const waitingAction = (r: Rollout) => r.waitActions.find((w) => w.status === "Waiting");

/** The outputs every follower publishes, derived from one rollout. */
export function rolloutFacts(r: Rollout): RolloutFacts {
  const completedStages = r.stages.filter((s) => s.status === "Completed").map((s) => s.name);
  const deployed = new Set<string>();
  const all = new Set<string>();
  for (const s of r.stages) {
    for (const g of s.regions) {
      all.add(g.name);
      if (g.status === "Completed") deployed.add(g.name);
    }
  }
  // A region is deployed once every stage that touches it has completed it.
  for (const s of r.stages)
    for (const g of s.regions)
      if (g.status !== "Completed" && g.status !== "Skipped") deployed.delete(g.name);
  return {
    status: r.status,
    currentStage: r.currentStage ?? "",
    completedStages,
    deployedRegions: [...deployed],
    pendingRegions: [...all].filter((g) => !deployed.has(g)),
    waitAction: waitingAction(r),
    failedStage: failedStageOf(r),
  };
}

export { newRegionsOf } from "./new-regions";

const regionCounts = (r: Rollout) => {
  let done = 0;
  let total = 0;
  for (const s of r.stages) {
    for (const g of s.regions) {
      total++;
      if (g.status === "Completed" || g.status === "Skipped") done++;
    }
  }
  return { done, total };
};

const endedStatuses: ReadonlySet<string> = new Set(["Completed", "Failed", "Cancelled", "Skipped"]);

/** Logs what changed between two snapshots (stage and region starts/ends, gates, errors); returns how many lines. */
export class ChangeLog {
  private openGroup: string | undefined;
  private readonly seenErrors = new Set<string>();
  /** The last rollout reported, and whether its stage names and each stage's region names are unique. */
  private last: { rollout: Rollout; uniqueNames: boolean } | undefined;
  constructor(private readonly out: FollowReporter) {}

  report(prev: Rollout | undefined, next: Rollout): number {
    let lines = 0;
    const say = (m: string) => {
      this.out.event(m);
      lines++;
    };
    // Most polls find the same stages and regions in the same order as the poll before: each is
    // then compared with the one at its own place, without maps of the whole rollout every poll.
    const aligned = prev !== undefined && this.sameUniqueLayout(prev, next);
    const prevStages = aligned ? undefined : new Map(prev?.stages.map((s) => [s.name, s]));
    if (!prev)
      say(
        `Rollout ${next.rolloutId}: ${next.serviceId} ${next.artifactVersionNumber} to ${next.environment}, ${next.stages.length} stages, status ${next.status}.`,
      );
    else if (prev.status !== next.status) say(`Rollout status: ${prev.status} → ${next.status}.`);

    for (let i = 0; i < next.stages.length; i++) {
      const stage = next.stages[i];
      const before = prevStages ? prevStages.get(stage.name) : prev!.stages[i];
      const started = stage.status !== "Pending" && (!before || before.status === "Pending");
      if (started && stage.status !== "Skipped") {
        this.closeGroup();
        this.out.beginGroup(`Stage ${stage.name}`);
        this.openGroup = stage.name;
        say(
          `Stage ${stage.name} ${stage.status === "Waiting" ? "is waiting for approval" : "started"} (${stage.regions.map((g) => g.name).join(", ")}).`,
        );
      }
      const prevRegions = aligned ? undefined : new Map(before?.regions.map((g) => [g.name, g]));
      for (let j = 0; j < stage.regions.length; j++) {
        const region = stage.regions[j];
        const was = (prevRegions ? prevRegions.get(region.name) : before!.regions[j])?.status ?? "Pending";
        if (was === region.status) continue;
        if (region.status === "InProgress") say(`  ${region.name}: started.`);
        else if (region.status !== "Pending") {
          const d = durationBetween(region.startTime, region.endTime);
          say(`  ${region.name}: ${region.status}${d !== undefined ? ` in ${formatDuration(d)}` : ""}.`);
        }
      }
      if (
        before &&
        before.status !== stage.status &&
        stage.status === "InProgress" &&
        before.status === "Waiting"
      )
        say(`Stage ${stage.name} approved and started.`);
      const ended = endedStatuses.has(stage.status) && before?.status !== stage.status;
      if (ended && (before || stage.status !== "Pending")) {
        const d = durationBetween(stage.startTime, stage.endTime);
        say(`Stage ${stage.name}: ${stage.status}${d !== undefined ? ` in ${formatDuration(d)}` : ""}.`);
        if (this.openGroup === stage.name) this.closeGroup();
      }
    }
    const prevWaits = new Map(prev?.waitActions.map((w) => [w.actionId, w.status]));
    for (const w of next.waitActions) {
      const was = prevWaits.get(w.actionId);
      if (was === w.status) continue;
      if (w.status === "Waiting")
        say(
          `Approval gate ${w.actionId} before stage ${w.stage} is waiting (${w.reason ?? "ManualApproval"}).`,
        );
      else
        say(
          `Approval gate ${w.actionId}: ${w.status}${w.decidedBy ? ` by ${w.decidedBy}` : ""}${w.comment ? ` ("${w.comment}")` : ""}.`,
        );
    }
    for (const e of next.errors) {
      const key = `${e.stage}|${e.region}|${e.errorCode}|${e.timestamp}`;
      if (this.seenErrors.has(key)) continue;
      this.seenErrors.add(key);
      say(`Error in ${e.stage ?? "rollout"}${e.region ? `/${e.region}` : ""}: ${e.errorCode}: ${e.message}`);
    }
    this.last = { rollout: next, uniqueNames: aligned ? true : uniqueNames(next) };
    return lines;
  }

  /**
   * Whether `next` has the stages and regions of `prev` in the same order, with no name twice
   * (then the one at the same place is the one a look-up by name would find).
   */
  private sameUniqueLayout(prev: Rollout, next: Rollout): boolean {
    if (prev.stages.length !== next.stages.length) return false;
    for (let i = 0; i < next.stages.length; i++) {
      const a = prev.stages[i];
      const b = next.stages[i];
      if (a.name !== b.name || a.regions.length !== b.regions.length) return false;
      for (let j = 0; j < b.regions.length; j++) if (a.regions[j].name !== b.regions[j].name) return false;
    }
    return this.last?.rollout === prev ? this.last.uniqueNames : uniqueNames(prev);
  }

  closeGroup(): void {
    if (this.openGroup !== undefined) {
      this.out.endGroup();
      this.openGroup = undefined;
    }
  }
}

function uniqueNames(r: Rollout): boolean {
  const stages = new Set<string>();
  for (const stage of r.stages) {
    if (stages.has(stage.name)) return false;
    stages.add(stage.name);
    const regions = new Set<string>();
    for (const region of stage.regions) {
      if (regions.has(region.name)) return false;
      regions.add(region.name);
    }
  }
  return true;
}

/**
 * The critical failure path: with `onFailure: cancelRollout` a region that fails ends the rollout
 * at once, while the rest of its stage is still deploying, not when EV2 fails the stage. A
 * transient failure that `restartFailed` will restart waits for the stage to end instead.
 */
function cancelsAtFirstFailedRegion(r: Rollout, s: FollowSettings, restarted: boolean): boolean {
  if (s.onFailure !== "cancelRollout" || terminalStatuses.has(r.status)) return false;
  if (!r.stages.some((st) => st.regions.some((g) => g.status === "Failed"))) return false;
  return !(s.restartFailed && !restarted && !failedBefore(r) && isTransient(describeFailure(r).errorCode));
}

/**
 * Whether the failing region already failed once and was restarted: EV2 keeps the errors of
 * earlier attempts, so a follow that was killed after its restart, and re-run, restarts no more.
 */
function failedBefore(r: Rollout): boolean {
  const last = r.errors[r.errors.length - 1];
  if (!last) return false;
  return r.errors.filter((e) => e.stage === last.stage && e.region === last.region).length > 1;
}

function describeFailure(r: Rollout): NonNullable<FollowOutcome["failure"]> {
  const stage = r.stages.find((s) => s.status === "Failed");
  const stageName =
    stage?.name ?? r.errors[r.errors.length - 1]?.stage ?? r.currentStage ?? "(unknown stage)";
  const errors = r.errors.filter((e) => !stage || e.stage === stage.name);
  const e = errors[errors.length - 1] ?? r.errors[r.errors.length - 1];
  const region = e?.region ?? stage?.regions.find((g) => g.status === "Failed")?.name ?? undefined;
  const errorCode = e?.errorCode ?? "Unknown";
  return {
    stage: stageName,
    region,
    errorCode,
    message: e?.message ?? "EV2 reported no error detail",
    recommendation: remediationFor(errorCode),
  };
}

/**
 * Follows a rollout with one conditional GET per poll until the target is reached, it fails,
 * the time runs out or the pipeline is cancelled. Transient EV2 outages are ridden out.
 */
export async function followRollout(
  client: Ev2Client,
  s: FollowSettings,
  out: FollowReporter,
  signal: AbortSignal,
): Promise<FollowOutcome> {
  const started = Date.now();
  // The deadline cuts the call in flight and any retry wait, not only the pause between polls.
  const deadline = s.timeoutMs > 0 ? AbortSignal.timeout(s.timeoutMs) : undefined;
  const callSignal = deadline ? AbortSignal.any([signal, deadline]) : signal;
  const changes = new ChangeLog(out);
  const outcome = (
    end: FollowEnd,
    message: string,
    rollout?: Rollout,
    failure?: FollowOutcome["failure"],
  ): FollowOutcome => {
    changes.closeGroup();
    return {
      end,
      message,
      rollout,
      firstSeen,
      failure,
      actions,
      polls,
      requests: polls + actions.length,
      changes: changeLines,
      transientErrors,
    };
  };
  const actions: string[] = [];
  let polls = 0;
  let changeLines = 0;
  let transientErrors = 0;
  let outageSince: number | undefined;
  let protocolErrorsInARow = 0;
  let current: Rollout | undefined;
  let firstSeen: Rollout | undefined;
  let etag: string | undefined;
  let restarted = false;
  let announcedWait: string | undefined;
  let lastProgress = -1;

  while (true) {
    if (signal.aborted) return onPipelineCancel();
    if (deadline?.aborted || (s.timeoutMs > 0 && Date.now() - started >= s.timeoutMs)) return timedOut();
    try {
      polls++;
      const got = await client.getRollout(s.rolloutId, etag, callSignal, current);
      protocolErrorsInARow = 0;
      if (outageSince !== undefined) {
        out.event(`EV2 answers again after ${formatDuration(Date.now() - outageSince)}.`);
        outageSince = undefined;
      }
      if (!got.notModified) {
        etag = got.etag;
        changeLines += changes.report(current, got.rollout);
        current = got.rollout;
        firstSeen ??= current;
        const { done, total } = regionCounts(current);
        const percent = total ? Math.floor((done / total) * 100) : 0;
        if (percent !== lastProgress) {
          out.progress(percent, `${done}/${total} regions`);
          lastProgress = percent;
        }
      }
    } catch (err) {
      if (signal.aborted) return onPipelineCancel();
      if (deadline?.aborted) return timedOut();
      if (isAbortError(err)) return onPipelineCancel();
      if (
        err instanceof Ev2Error &&
        (err.retryable || err.code === "NetworkError" || err.code === "ProtocolError")
      ) {
        // Never one good answer: a wrong URL or a proxy in the way, not an outage to wait out.
        if (!current) throw neverAnswered(client.baseUrl, err);
        transientErrors++;
        // A server that keeps answering outside the contract (a proxy's login page, a wrong
        // URL) is not an outage that passes: say so instead of warning until the timeout.
        protocolErrorsInARow = err.code === "ProtocolError" ? protocolErrorsInARow + 1 : 0;
        if (protocolErrorsInARow >= MAX_PROTOCOL_ERRORS_IN_A_ROW) {
          throw new Ev2Error({
            operation: err.operation,
            code: err.code,
            httpStatus: err.httpStatus,
            requestId: err.requestId,
            message: `${MAX_PROTOCOL_ERRORS_IN_A_ROW} polls in a row were answered with something that is not EV2's contract (last: ${err.message}). Check the connection's URL (an EV2 base URL, not a portal page) and any proxy in between; rollout ${s.rolloutId} is unaffected.`,
          });
        }
        if (outageSince === undefined) {
          outageSince = Date.now();
          out.warning(
            `EV2 is not answering well (${err.message}); still following, rollout ${s.rolloutId} is unaffected.`,
          );
        }
        await pause(Math.min(s.pollingIntervalMs * 2, 60_000));
        continue;
      }
      throw err;
    }

    const r = current!;
    // Only what the loop decides on, not the whole of rolloutFacts (sets and lists of every region).
    const failedStage = failedStageOf(r);
    const waitAction = waitingAction(r);
    if (s.until === "stage") {
      const target = r.stages.find((st) => st.name === s.stageName);
      if (!target) {
        throw new Ev2Error({
          operation: `follow rollout ${r.rolloutId}`,
          code: "StageNotInRollout",
          message: `stage ${s.stageName} is not in this rollout; its stages are ${r.stages.map((st) => st.name).join(", ")}. Check stageName.`,
        });
      }
      if (target.status === "Completed")
        return outcome(
          "stageCompleted",
          `Stage ${target.name} completed; rollout ${r.rolloutId} is ${r.status}.`,
          r,
        );
      if (target.status === "Skipped")
        return outcome(
          "stageCompleted",
          `Stage ${target.name} was skipped; rollout ${r.rolloutId} is ${r.status}.`,
          r,
        );
    }
    if (r.status === "Completed")
      return outcome(
        "completed",
        `Rollout ${r.rolloutId} completed: ${r.stages.length} stages in ${formatDuration(durationBetween(r.createdTimestamp, r.lastUpdateTime) ?? 0)}.`,
        r,
      );
    if (r.status === "Cancelled") {
      const rejected = r.errors.find((e) => e.errorCode === "RejectedAtWaitAction");
      return outcome(
        "cancelled",
        rejected
          ? `Rollout ${r.rolloutId} was rejected at an approval gate: ${rejected.message}`
          : `Rollout ${r.rolloutId} was cancelled.`,
        r,
        rejected ? describeFailure(r) : undefined,
      );
    }
    if (r.status === "Failed" || failedStage || cancelsAtFirstFailedRegion(r, s, restarted)) {
      const failure = describeFailure(r);
      if (
        s.restartFailed &&
        !restarted &&
        !failedBefore(r) &&
        r.status === "Failed" &&
        isTransient(failure.errorCode)
      ) {
        restarted = true;
        out.warning(
          `Stage ${failure.stage} failed in ${failure.region ?? "a region"} with ${failure.errorCode} (${classifyError(failure.errorCode)}, transient): restarting its failed regions once.`,
        );
        await client.restartRollout(r.rolloutId);
        actions.push("restart");
        etag = undefined;
        continue;
      }
      let cancelled = "";
      let last = r;
      if (s.onFailure === "cancelRollout" && !terminalStatuses.has(r.status)) {
        const result = await client.cancelRollout(
          r.rolloutId,
          `Stage ${failure.stage} failed (${failure.errorCode}); cancelled by the pipeline (onFailure: cancelRollout).`,
        );
        actions.push("cancel");
        cancelled = result.alreadyCancelled
          ? " The rollout was already cancelled."
          : " The rest of the rollout was cancelled.";
        // The outputs say what EV2 holds now, not the snapshot from before the cancel.
        last = { ...r, status: "Cancelled" };
      }
      const where = `${failure.stage}${failure.region ? ` in ${failure.region}` : ""}`;
      return outcome(
        "failed",
        `Stage ${where} failed: ${failure.errorCode}: ${failure.message}${cancelled} ${failure.recommendation}`,
        last,
        failure,
      );
    }
    if (waitAction) {
      if (s.until === "waitAction") {
        return outcome(
          "waiting",
          `Rollout ${r.rolloutId} is waiting at gate ${waitAction.actionId} before stage ${waitAction.stage}.`,
          r,
        );
      }
      if (announcedWait !== waitAction.actionId) {
        announcedWait = waitAction.actionId;
        out.event(
          `An approval is pending: gate ${waitAction.actionId} before stage ${waitAction.stage}. Still following (until: ${s.until}).`,
        );
      }
    }
    await pause(s.pollingIntervalMs);
  }

  function timedOut(): FollowOutcome {
    const state = current
      ? `rollout ${s.rolloutId} is still ${current.status}${current.currentStage ? ` at ${current.currentStage}` : ""}`
      : `EV2 (${client.baseUrl}) had not answered for rollout ${s.rolloutId} yet; it`;
    return outcome(
      "timedOut",
      `Stopped following after ${formatDuration(s.timeoutMs)} (timeoutMinutes): ${state} and keeps running.`,
      current,
    );
  }

  async function pause(ms: number): Promise<void> {
    const left = s.timeoutMs > 0 ? Math.max(0, s.timeoutMs - (Date.now() - started)) : ms;
    await sleep(Math.min(ms, left), signal).catch(() => undefined);
  }

  async function onPipelineCancel(): Promise<FollowOutcome> {
    let message = `The pipeline was cancelled; rollout ${s.rolloutId} was left running${current ? ` (${current.status}${current.currentStage ? ` at ${current.currentStage}` : ""})` : ""}.`;
    if (s.onPipelineCancel === "cancelRollout" && !(current && terminalStatuses.has(current.status))) {
      try {
        // The job's signal is already aborted: the agent gives us a few seconds, so bound the call.
        await client
          .withSignal(AbortSignal.timeout(4000))
          .cancelRollout(
            s.rolloutId,
            "The Azure DevOps pipeline run was cancelled (onPipelineCancel: cancelRollout).",
          );
        actions.push("cancel");
        message = `The pipeline was cancelled; rollout ${s.rolloutId} was cancelled too (onPipelineCancel: cancelRollout).`;
      } catch (err) {
        message = `The pipeline was cancelled; cancelling rollout ${s.rolloutId} failed: ${(err as Error).message}. Cancel it in the EV2 dashboard.`;
      }
    }
    return outcome("pipelineCancelled", message, current);
  }
}

/** The first call of a step got no usable answer, even after its retries. */
export function neverAnswered(baseUrl: string, err: Ev2Error): Ev2Error {
  return new Ev2Error({
    operation: err.operation,
    code: err.code,
    httpStatus: err.httpStatus,
    requestId: err.requestId,
    message: `EV2 at ${baseUrl} has not given one usable answer: ${err.detail.replace(/\.$/, "")}.${err.detail.includes(unreachableHint) ? "" : ` ${unreachableHint}`}`,
  });
}
