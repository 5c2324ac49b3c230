/**
 * Before loading a stage that was just deployed: wait until each endpoint answers its own
 * request with an expected status, retrying with backoff, within a time limit.
 */
import { sleep } from "../http/retry";
import { describeExpectedStatus, type StressEndpoint } from "./endpoints";
import { StressReadinessError } from "./errors";
import { sendOnce, type SingleRequestOutcome } from "./http-client";

export interface ReadinessOptions {
  timeoutSeconds: number;
  /** Longest wait for one probe's answer. */
  requestTimeoutMs: number;
  signal?: AbortSignal;
  /** Told about each probe that was not yet a success, e.g. to log "waiting for …". */
  onNotReady?: (endpoint: StressEndpoint, outcome: string, elapsedSeconds: number) => void;
  /** Probe through the agent's proxy, as the load goes (default: direct). */
  useAgentProxy?: boolean;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

function describe(outcome: SingleRequestOutcome, endpoint: StressEndpoint): string {
  if (outcome.kind === "answered") {
    return `HTTP ${outcome.status}, expected ${describeExpectedStatus(endpoint.expectedStatus)}`;
  }
  return `${outcome.error}: ${outcome.message}`;
}

function isExpected(status: number, endpoint: StressEndpoint): boolean {
  return endpoint.expectedStatus.some((r) => status >= r.min && status <= r.max);
}

/**
 * Resolves true once every endpoint is ready, false when `signal` aborted the wait; rejects
 * with a StressReadinessError ("endpoint <url> never became ready within N s") otherwise.
 * A timeout of 0 skips the check.
 */
export async function waitUntilReady(
  endpoints: readonly StressEndpoint[],
  options: ReadinessOptions,
): Promise<boolean> {
  if (options.signal?.aborted) return false;
  if (options.timeoutSeconds <= 0) return true;
  const started = performance.now();
  const deadline = started + options.timeoutSeconds * 1000;
  // One endpoint failing ends the others' probing too.
  const stopProbing = new AbortController();
  const onAbort = () => stopProbing.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const probe = async (endpoint: StressEndpoint): Promise<void> => {
    const url = new URL(endpoint.url);
    let backoff = FIRST_BACKOFF_MS;
    for (;;) {
      const request = {
        path: url.pathname + url.search,
        method: endpoint.method,
        headers: endpoint.headers,
        body: endpoint.body,
      };
      const outcome = await sendOnce(url.origin, request, options.requestTimeoutMs, stopProbing.signal, {
        throughProxy: options.useAgentProxy ?? false,
      });
      if (stopProbing.signal.aborted) return;
      if (outcome.kind === "answered" && isExpected(outcome.status, endpoint)) return;
      const description = describe(outcome, endpoint);
      options.onNotReady?.(endpoint, description, (performance.now() - started) / 1000);
      const notReady = () =>
        new StressReadinessError(
          `endpoint ${endpoint.url} never became ready within ${options.timeoutSeconds} s (last attempt: ${description})`,
          endpoint.url,
          endpoint.name,
        );
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw notReady();
      // Stopping ends the wait early; the check below returns.
      await sleep(Math.min(backoff, remaining), stopProbing.signal).catch(() => undefined);
      if (stopProbing.signal.aborted) return;
      // Attempts start before the deadline; the last one may take up to one request timeout past it.
      if (performance.now() >= deadline) throw notReady();
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  };

  try {
    await Promise.all(
      endpoints.map((e) =>
        probe(e).catch((err: unknown) => {
          stopProbing.abort();
          throw err;
        }),
      ),
    );
    return !options.signal?.aborted;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stopProbing.abort();
  }
}
