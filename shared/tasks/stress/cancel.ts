/** StressTestStage's `onThresholdFailure: cancelRollout`: the cancel and the reason EV2 records. */
import type { TaskAgent } from "../../agent/agent";
import type { Ev2Client } from "../../ev2/client";
import { isAbortError } from "../../http/retry";
import type { RunIdentity } from "../../rollout/record";

/** The reason EV2 records for the cancel: what failed, where, and which run decided it. */
export function cancelReason(what: string, run: RunIdentity): string {
  const reason = `StressTestStage: ${what}${run.runUrl ? ` (${run.runUrl})` : ""}`;
  return reason.length > 2000 ? `${reason.slice(0, 1997)}...` : reason;
}

export async function cancelRollout(
  agent: TaskAgent,
  client: Ev2Client,
  rolloutId: string,
  reason: string,
): Promise<{ text: string; cancelled: boolean; error?: string }> {
  try {
    const answer = await client.cancelRollout(rolloutId, reason);
    const text = answer.alreadyCancelled
      ? `Rollout ${rolloutId} was already cancelled.`
      : `Rollout ${rolloutId} was cancelled.`;
    agent.info(text);
    return { text, cancelled: true };
  } catch (err) {
    if (isAbortError(err) && agent.cancellation.aborted) throw err;
    const error = (err as Error).message;
    return {
      text: `Rollout ${rolloutId} could NOT be cancelled: ${error.replace(/\.?$/, ".")}`,
      cancelled: false,
      error,
    };
  }
}
