import { lastIndexWhere, type RolloutView } from "./rollout-view";
import type { StressSummaryForCard } from "./stress-summary";

export const notificationKinds = [
  "started",
  "stageCompleted",
  "waitingForApproval",
  "stressTest",
  "completed",
  "failed",
  "cancelled",
  "rolledBack",
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** The values of the TeamsNotify `notification` input. */
export const notificationChoices = ["auto", ...notificationKinds] as const;
export type NotificationChoice = (typeof notificationChoices)[number];

/**
 * What `auto` posts, decided from one rollout GET (and the stress result, when the step has one):
 * 1. `Failed` → failed, `Cancelled` → cancelled: a broken rollout outranks everything else;
 *    then, when the rollout is a rollback of another (`rollbackOf`) → rolledBack;
 * 2. a stress result was given → stressTest: the step was pointed at a result file, and a
 *    completed or waiting rollout is still shown in that card's facts;
 * 3. `Completed` → completed, `Waiting` → waitingForApproval;
 * 4. any stage completed → stageCompleted, else (NotStarted, or InProgress in its first stage) → started.
 * Without a rollout, a stress result gives stressTest; with neither there is nothing to say.
 */
export function chooseNotificationKind(
  rollout: RolloutView | undefined,
  options: { stressResult?: StressSummaryForCard; rollback?: boolean } = {},
): NotificationKind {
  if (!rollout) {
    if (options.stressResult) return "stressTest";
    throw new Error(
      "An automatic notification needs a rollout (rolloutId) or a stress test result (stressResultFile).",
    );
  }
  if (rollout.status === "Failed") return "failed";
  if (rollout.status === "Cancelled") return "cancelled";
  if (options.rollback) return "rolledBack";
  if (options.stressResult) return "stressTest";
  if (rollout.status === "Completed") return "completed";
  if (rollout.status === "Waiting") return "waitingForApproval";
  return lastIndexWhere(rollout.stages, (s) => s.status === "Completed") >= 0 ? "stageCompleted" : "started";
}
