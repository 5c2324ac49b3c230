import type { TaskAgent } from "../agent/agent";
import type { HttpClientOptions, RetryNotice } from "../http/request";
import { formatDuration } from "../format";

/** HTTP options every task uses: the agent's cancellation, and retries said out loud. */
export function httpOptionsFor(agent: TaskAgent): HttpClientOptions {
  return {
    signal: agent.cancellation,
    onRetry: (n: RetryNotice) =>
      agent.warning(
        `${n.operation}: ${n.reason}; retrying in ${formatDuration(n.delayMs)}${n.retryAfterHonoured ? " as Retry-After asks" : ""} (attempt ${n.attempt + 1} of ${n.maxAttempts}).`,
      ),
  };
}

/** A log line with the time it happened, for the things that change during a long follow. */
export function timestamped(message: string, now = new Date()): string {
  return `[${now.toISOString().slice(11, 19)}Z] ${message}`;
}
