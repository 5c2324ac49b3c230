/**
 * The one retry policy every outbound call goes through: exponential backoff with full
 * jitter, `Retry-After` first, bounded attempts and a bounded total wait.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The most time spent waiting between attempts, summed over one call. */
  maxTotalWaitMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxTotalWaitMs: 120_000,
};

export const retryableStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Full jitter: a uniform draw between 0 and the capped exponential step. */
export function backoffDelayMs(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * step);
}

/** `Retry-After` as delta-seconds or an HTTP-date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfterMs(header: string | undefined, now: number = Date.now()): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * An attempt that failed in a way another may fix (HTTP 503, a dropped connection), with what the
 * call gives when no attempt is left: the last answer, or an error thrown.
 */
export class Transient<T> {
  constructor(
    /** "HTTP 503", "connection reset", ... */
    readonly reason: string,
    readonly giveUp: () => T,
    /** The server's `Retry-After`, when it sent one: waited instead of the backoff. */
    readonly retryAfterMs?: number,
  ) {}
}

export interface AttemptRetry {
  attempt: number;
  maxAttempts: number;
  delayMs: number;
  reason: string;
  retryAfterHonoured: boolean;
}

/**
 * The one retry loop: `attempt` is tried until it gives a result, throws, or answers Transient
 * once too often; between tries it waits the server's `Retry-After` or the policy's backoff,
 * never more than the policy's total wait (it gives up rather than wait longer).
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T | Transient<T>>,
  options: {
    policy: RetryPolicy;
    signal?: AbortSignal;
    random?: () => number;
    onRetry?: (retry: AttemptRetry) => void;
  },
): Promise<T> {
  const { policy, signal } = options;
  let waited = 0;
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw new AbortedError();
    const outcome = await attempt(n);
    if (!(outcome instanceof Transient)) return outcome;
    if (n >= policy.maxAttempts) return outcome.giveUp();
    const delayMs = outcome.retryAfterMs ?? backoffDelayMs(n, policy, options.random);
    if (waited + delayMs > policy.maxTotalWaitMs) return outcome.giveUp();
    options.onRetry?.({
      attempt: n,
      maxAttempts: policy.maxAttempts,
      delayMs,
      reason: outcome.reason,
      retryAfterHonoured: outcome.retryAfterMs !== undefined,
    });
    await sleep(delayMs, signal);
    waited += delayMs;
  }
}

export class AbortedError extends Error {
  override name = "AbortedError";
  constructor(message = "The operation was cancelled.") {
    super(message);
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof AbortedError ||
    (err instanceof Error && (err.name === "AbortError" || (err as { code?: string }).code === "ABORT_ERR"))
  );
}

/** Resolves after `ms`, or rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
