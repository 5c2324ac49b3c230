import type { Ev2Client } from "../ev2/client";
import { Ev2Error } from "../ev2/errors";
import { terminalStatuses, type Rollout, type WaitAction } from "../ev2/schemas";
import { formatDuration } from "../format";
import { sleep } from "../http/retry";

export type Decision = "Approve" | "Reject";

/** The wait action to decide, once the rollout has reached it (or one already decided, for re-runs). */
export async function awaitWaitAction(
  client: Ev2Client,
  rolloutId: string,
  actionId: string | undefined,
  opts: {
    timeoutMs: number;
    pollingMs: number;
    signal: AbortSignal;
    onWait: (message: string) => void;
    /** Recognises an action this same step decided in an earlier attempt (its comment names the run). */
    decidedByThisStep?: (action: WaitAction) => boolean;
  },
): Promise<{ rollout: Rollout; action: WaitAction }> {
  const started = Date.now();
  let announced = false;
  for (;;) {
    const got = await client.getRollout(rolloutId);
    if (got.notModified) throw new Error("unreachable: unconditional GET answered 304");
    const r = got.rollout;
    if (actionId) {
      const action = r.waitActions.find((w) => w.actionId === actionId);
      if (action) return { rollout: r, action };
    } else {
      const waiting = r.waitActions.filter((w) => w.status === "Waiting");
      if (waiting.length === 1) return { rollout: r, action: waiting[0] };
      if (waiting.length === 0 && opts.decidedByThisStep) {
        // A re-run after this step decided (e.g. the agent was lost right after the POST): the
        // rollout moved on, so report that decision rather than wait for a gate that is not ours.
        const ours = [...r.waitActions]
          .reverse()
          .find((w) => w.status !== "Waiting" && opts.decidedByThisStep!(w));
        if (ours) return { rollout: r, action: ours };
      }
      if (waiting.length > 1) {
        throw new Ev2Error({
          operation: `find the wait action of rollout ${rolloutId}`,
          code: "SeveralWaitActions",
          message: `${waiting.length} wait actions are waiting (${waiting.map((w) => `${w.actionId} before ${w.stage}`).join(", ")}); name one in the actionId input.`,
        });
      }
    }
    if (terminalStatuses.has(r.status)) {
      // A re-run after the rollout moved on: the last decided action is the one this step decided.
      const lastDecided = [...r.waitActions].reverse().find((w) => w.status !== "Waiting");
      if (!actionId && lastDecided) return { rollout: r, action: lastDecided };
      const decided = r.waitActions
        .filter((w) => w.status !== "Waiting")
        .map((w) => `${w.actionId} ${w.status}`);
      throw new Ev2Error({
        operation: `find the wait action of rollout ${rolloutId}`,
        code: "NoWaitAction",
        message: `the rollout ended ${r.status} without ${actionId ? `reaching wait action ${actionId}` : "waiting at a gate"}${decided.length ? ` (decided earlier: ${decided.join(", ")})` : ""}.`,
      });
    }
    const waited = Date.now() - started;
    if (waited >= opts.timeoutMs) {
      throw new Ev2Error({
        operation: `find the wait action of rollout ${rolloutId}`,
        code: "WaitActionTimeout",
        message: `the rollout did not reach ${actionId ? `wait action ${actionId}` : "a wait action"} within ${formatDuration(opts.timeoutMs)} (it is ${r.status}${r.currentStage ? ` at ${r.currentStage}` : ""}). Raise waitTimeoutMinutes or run this step after FollowRollout with until: waitAction.`,
      });
    }
    if (!announced) {
      announced = true;
      opts.onWait(
        `Rollout ${rolloutId} is ${r.status}${r.currentStage ? ` at ${r.currentStage}` : ""}; waiting up to ${formatDuration(opts.timeoutMs)} for ${actionId ? `wait action ${actionId}` : "a wait action"}.`,
      );
    }
    await sleep(Math.min(opts.pollingMs, opts.timeoutMs - waited), opts.signal);
  }
}
