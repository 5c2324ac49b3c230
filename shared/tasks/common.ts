import type { TaskAgent } from "../agent/agent";
import type { HttpClientOptions, RetryNotice } from "../http/request";
import { formatDuration } from "../format";
import { isLoopbackUrl } from "../http/loopback";

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

/**
 * Local simulators run a rollout many times faster than EV2 does; this pipeline variable lets
 * the tasks that poll EV2 poll faster than the floor that protects the real service. It is
 * honoured only for an EV2 on this machine, so it can never hammer the real one.
 */
export const pollingOverrideVariable = "Ev2.PollingIntervalMsOverride";

export function pollingIntervalMs(agent: TaskAgent, defaultMs: number, ev2Url: string): number {
  const override = Number(agent.getVariable(pollingOverrideVariable));
  return Number.isFinite(override) && override >= 10 && isLoopbackUrl(ev2Url) ? override : defaultMs;
}
