import type { Ev2Client } from "../ev2/client";
import { Ev2Error } from "../ev2/errors";
import { terminalStatuses, type Rollout, type WaitAction } from "../ev2/schemas";
import { formatDuration } from "../format";
import { sleep } from "../http/retry";

export type Decision = "Approve" | "Reject";

/** All the gate needs of EV2 while it looks for its action: reading the rollout. */
export type RolloutReader = Pick<Ev2Client, "getRollout">;

/** With no time to wait (0), the one look at the rollout still gets this long. */
export const ONE_LOOK_MS = 30_000;

/** Recognises an action this same step decided in an earlier attempt (its comment names the run and stage). */
export type DecidedByThisStep = (action: WaitAction) => boolean;

/** The wait action to decide, once the rollout has reached it (or one already decided, for re-runs). */
export async function awaitWaitAction(
  client: RolloutReader,
  rolloutId: string,
  actionId: string | undefined,
  opts: {
    timeoutMs: number;
    pollingMs: number;
    signal: AbortSignal;
    onWait: (message: string) => void;
    decidedByThisStep?: DecidedByThisStep;
  },
): Promise<{ rollout: Rollout; action: WaitAction }> {
  const started = Date.now();
  // The deadline cuts the call in flight and its retry waits, not only the pause between looks.
  const deadline = AbortSignal.timeout(opts.timeoutMs > 0 ? opts.timeoutMs : ONE_LOOK_MS);
  const callSignal = AbortSignal.any([opts.signal, deadline]);
  let announced = false;
  let last: Rollout | undefined;
  for (;;) {
    const got = await client.getRollout(rolloutId, undefined, callSignal).catch((err: unknown) => {
      if (deadline.aborted && !opts.signal.aborted)
        throw notReachedInTime(rolloutId, last, actionId, opts.timeoutMs > 0 ? opts.timeoutMs : ONE_LOOK_MS);
      throw err;
    });
    if (got.notModified) throw new Error("unreachable: unconditional GET answered 304");
    const r = got.rollout;
    last = r;
    const action = actionId
      ? r.waitActions.find((w) => w.actionId === actionId)
      : (lastDecisionOfThisStep(r, opts.decidedByThisStep) ?? theWaitingAction(r));
    if (action) return { rollout: r, action };
    if (terminalStatuses.has(r.status)) return { rollout: r, action: afterTheEnd(r, actionId) };
    const waited = Date.now() - started;
    if (waited >= opts.timeoutMs) throw notReachedInTime(rolloutId, r, actionId, opts.timeoutMs);
    if (!announced) {
      announced = true;
      opts.onWait(
        `Rollout ${rolloutId} is ${r.status}${r.currentStage ? ` at ${r.currentStage}` : ""}; waiting up to ${formatDuration(opts.timeoutMs)} for ${actionId ? `wait action ${actionId}` : "a wait action"}.`,
      );
    }
    await sleep(Math.min(opts.pollingMs, opts.timeoutMs - waited), opts.signal);
  }
}

/**
 * The newest action this step decided earlier. It is looked for before any waiting one: a re-run
 * after the rollout moved on to the next gate must report its own decision, not decide that gate
 * with the old approval.
 */
function lastDecisionOfThisStep(
  r: Rollout,
  decidedByThisStep: DecidedByThisStep | undefined,
): WaitAction | undefined {
  if (!decidedByThisStep) return undefined;
  return r.waitActions.findLast((w) => w.status !== "Waiting" && decidedByThisStep(w));
}

/** The one waiting action, if any; several waiting is the user's choice to make (actionId). */
function theWaitingAction(r: Rollout): WaitAction | undefined {
  const waiting = r.waitActions.filter((w) => w.status === "Waiting");
  if (waiting.length > 1) {
    throw new Ev2Error({
      operation: `find the wait action of rollout ${r.rolloutId}`,
      code: "SeveralWaitActions",
      message: `${waiting.length} wait actions are waiting (${waiting.map((w) => `${w.actionId} before ${w.stage}`).join(", ")}); name one in the actionId input.`,
    });
  }
  return waiting[0];
}

/**
 * The rollout ended without the action being found. Unnamed, the last decided action stands for
 * the step's (a re-run whose decision this step cannot recognise, e.g. without a run URL).
 */
function afterTheEnd(r: Rollout, actionId: string | undefined): WaitAction {
  const decided = r.waitActions.filter((w) => w.status !== "Waiting");
  const lastDecided = decided.at(-1);
  if (!actionId && lastDecided) return lastDecided;
  const earlier = decided.map((w) => `${w.actionId} ${w.status}`);
  throw new Ev2Error({
    operation: `find the wait action of rollout ${r.rolloutId}`,
    code: "NoWaitAction",
    message: `the rollout ended ${r.status} without ${actionId ? `reaching wait action ${actionId}` : "waiting at a gate"}${earlier.length ? ` (decided earlier: ${earlier.join(", ")})` : ""}.`,
  });
}

function notReachedInTime(
  rolloutId: string,
  r: Rollout | undefined,
  actionId: string | undefined,
  timeoutMs: number,
): Ev2Error {
  const state = r
    ? `it is ${r.status}${r.currentStage ? ` at ${r.currentStage}` : ""}`
    : "EV2 did not answer in that time";
  return new Ev2Error({
    operation: `find the wait action of rollout ${rolloutId}`,
    code: "WaitActionTimeout",
    message: `the rollout did not reach ${actionId ? `wait action ${actionId}` : "a wait action"} within ${formatDuration(timeoutMs)} (${state}). Raise waitTimeoutMinutes or run this step after FollowRollout with until: waitAction.`,
  });
}
