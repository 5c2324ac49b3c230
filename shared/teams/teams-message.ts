import type { AdaptiveCard } from "./adaptive-card";

/** What a Teams Workflows webhook ("post to a channel when a webhook request is received") expects. */
export interface TeamsMessage {
  type: "message";
  attachments: [
    {
      contentType: "application/vnd.microsoft.card.adaptive";
      contentUrl: null;
      content: AdaptiveCard;
    },
  ];
}

/** Teams refuses messages over 28 KB (the serialised envelope). */
export const teamsMessageLimitBytes = 28 * 1024;

export function buildTeamsMessage(card: AdaptiveCard): TeamsMessage {
  return {
    type: "message",
    attachments: [
      { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
    ],
  };
}

/** The size Teams counts: the serialised envelope, in UTF-8 bytes. */
export function teamsMessageBytes(message: TeamsMessage): number {
  return Buffer.byteLength(JSON.stringify(message), "utf8");
}
