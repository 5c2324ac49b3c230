import { HttpNetworkError, sendWithRetry, type HttpResponse, type RetryNotice } from "../http/request";
import { isAbortError, type RetryPolicy } from "../http/retry";
import { clip } from "./card-text";
import type { TeamsMessage } from "./teams-message";

export interface PostTeamsMessageOptions {
  /** Aborting it makes `postTeamsMessage` throw (the pipeline is being cancelled). */
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** Per attempt; default 20 s. */
  timeoutMs?: number;
  /** Default `teamsRetryPolicy`. */
  retry?: RetryPolicy;
  /** For tests: makes the backoff jitter deterministic. */
  random?: () => number;
}

export interface TeamsDelivery {
  delivered: boolean;
  /** The last HTTP status, when there was an answer. */
  status?: number;
  attempts: number;
  /** Why it was not delivered; never contains the webhook URL. */
  error?: string;
}

/**
 * A notification is worth a few tries, not minutes of a pipeline: shorter than the EV2 calls'
 * budget. `Retry-After` still wins over the backoff, within the total wait.
 */
export const teamsRetryPolicy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 15_000,
  maxTotalWaitMs: 60_000,
};

const operation = "post to the Teams webhook";

/**
 * Posts `message` to a Teams Workflows webhook. 200 and 202 are delivery; 408, 429 and 5xx are
 * retried by the project's one policy; other answers are final. Never throws for an HTTP or
 * network failure (a notification must not break the pipeline by itself: the caller decides),
 * only when `signal` aborts.
 */
export async function postTeamsMessage(
  webhookUrl: string,
  message: TeamsMessage,
  options: PostTeamsMessageOptions = {},
): Promise<TeamsDelivery> {
  let attempts = 1;
  let response: HttpResponse;
  try {
    response = await sendWithRetry(
      {
        method: "POST",
        url: webhookUrl,
        headers: { "content-type": "application/json; charset=utf-8" },
        body: JSON.stringify(message),
        operation,
        // A repeated card after a lost answer is a smaller harm than a missing one.
        retryNetworkErrors: true,
      },
      {
        retry: options.retry ?? teamsRetryPolicy,
        timeoutMs: options.timeoutMs ?? 20_000,
        signal: options.signal,
        random: options.random,
        onRetry: (notice) => {
          attempts = notice.attempt + 1;
          options.onRetry?.(notice);
        },
      },
    );
  } catch (err) {
    if (isAbortError(err) || options.signal?.aborted) throw err;
    if (err instanceof HttpNetworkError) {
      return {
        delivered: false,
        attempts: err.attempts,
        error: redact(
          `Could not reach the Teams webhook: ${err.reason} (${plural(err.attempts)}).`,
          webhookUrl,
        ),
      };
    }
    const reason = err instanceof Error ? err.message : String(err);
    return {
      delivered: false,
      attempts,
      error: redact(`Could not post to the Teams webhook: ${reason}`, webhookUrl),
    };
  }
  if (response.status === 200 || response.status === 202) {
    return { delivered: true, status: response.status, attempts };
  }
  return {
    delivered: false,
    status: response.status,
    attempts,
    error: redact(describeRefusal(response, attempts), webhookUrl),
  };
}

function plural(attempts: number): string {
  return attempts === 1 ? "1 attempt" : `${attempts} attempts`;
}

function describeRefusal(response: HttpResponse, attempts: number): string {
  const status = response.status;
  const detail = answerDetail(response.body);
  const said = detail ? ` It said: ${detail}` : "";
  if (status === 400) {
    return `The Teams webhook rejected the message (HTTP 400). Check that the Workflows flow is triggered by "When a Teams webhook request is received" and posts the card it receives.${said}`;
  }
  if (status === 401 || status === 403) {
    return `The Teams webhook refused the request (HTTP ${status}): the URL may be incomplete or its signature revoked. Copy the URL again from the Workflows flow.${said}`;
  }
  if (status === 404) {
    return `The Teams webhook was not found (HTTP 404): the Workflows flow may have been deleted or turned off.${said}`;
  }
  if (status === 413) return `The Teams webhook refused the message as too large (HTTP 413).${said}`;
  if (status === 408 || status === 429 || status >= 500) {
    return `The Teams webhook still answered HTTP ${status} after ${plural(attempts)}.${said}`;
  }
  return `The Teams webhook answered HTTP ${status}, not 200 or 202: the message may not have been posted.${said}`;
}

/** The error code and message of a JSON error answer, else the start of the text. */
function answerDetail(body: string): string {
  if (!body.trim()) return "";
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof parsed.error?.code === "string" ? parsed.error.code : undefined;
    const text = typeof parsed.error?.message === "string" ? parsed.error.message : undefined;
    if (code || text) return clip([code, text].filter(Boolean).join(": "), 300);
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return clip(body, 200);
}

/**
 * Removes the webhook URL and anything URL-like from a message: an answer or a low-level error
 * may quote the request, and the URL is a credential.
 */
function redact(text: string, webhookUrl: string): string {
  let result = webhookUrl ? text.split(webhookUrl).join("<the Teams webhook>") : text;
  result = result.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, "<url>");
  result = result.replace(/([?&](sig|code|sp|sv)=)[^&\s"'<>]+/gi, "$1<redacted>");
  return result;
}
