import { buildNotificationCard, type NotificationCardInput } from "./notification-card";
import { chooseNotificationKind, type NotificationKind } from "./notification-kind";
import { postTeamsMessage, type PostTeamsMessageOptions, type TeamsDelivery } from "./post-message";
import { buildTeamsMessage, teamsMessageBytes, type TeamsMessage } from "./teams-message";

export interface TeamsNotificationResult extends TeamsDelivery {
  /** The kind posted (`auto` resolved). */
  kind: NotificationKind;
  /** The envelope posted: kept as an artifact when it was not delivered. */
  message: TeamsMessage;
  /** Size of the envelope sent. */
  bytes: number;
}

/**
 * Everything TeamsNotify does after reading its inputs: resolve `auto`, build the card, post it.
 * `webhookUrl` must have passed `validateWebhookUrl`. Throws only for a card that cannot be
 * built (a kind without the data it needs) and on abort; delivery failures are in the result.
 */
export async function notifyTeams(
  webhookUrl: string,
  card: NotificationCardInput,
  options: PostTeamsMessageOptions = {},
): Promise<TeamsNotificationResult> {
  const kind =
    card.kind === "auto" ? chooseNotificationKind(card.rollout, { stressResult: card.stress }) : card.kind;
  const message = buildTeamsMessage(buildNotificationCard({ ...card, kind }));
  const delivery = await postTeamsMessage(webhookUrl, message, options);
  return { ...delivery, kind, message, bytes: teamsMessageBytes(message) };
}
