/**
 * undici's HTTP/1.1 client, loaded on first use and on its own (see undici-client.d.ts), and a
 * single request over it for the readiness probe.
 */
import type { Client as UndiciClient, Dispatcher } from "undici";
import { RequestTimeoutError, classifyRequestError, type TransportErrorKind } from "./errors";

type ClientConstructor = typeof UndiciClient;
let clientConstructor: ClientConstructor | undefined;

async function loadUndiciClient(): Promise<ClientConstructor> {
  clientConstructor ??= (await import("undici/lib/dispatcher/client.js")).default;
  return clientConstructor;
}

export type SingleRequestOutcome =
  { kind: "answered"; status: number } | { kind: "failed"; error: TransportErrorKind; message: string };

/**
 * One request on a client of its own, which is destroyed afterwards; the body of the answer is
 * read and dropped. A request taking longer than `timeoutMs` fails as a timeout; `signal`
 * cancels it at once. Never rejects.
 */
export async function sendOnce(
  origin: string,
  options: Dispatcher.DispatchOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<SingleRequestOutcome> {
  const Client = await loadUndiciClient();
  const client = new Client(origin, { connectTimeout: timeoutMs });
  try {
    return await new Promise<SingleRequestOutcome>((resolve) => {
      let status = 0;
      const failure = (err: Error): SingleRequestOutcome => ({
        kind: "failed",
        error: classifyRequestError(err),
        message: err.message,
      });
      // Exact, unlike undici's own header/body timers (half-second ticks); one timer per probe is cheap.
      const timer = setTimeout(() => finish(failure(new RequestTimeoutError(timeoutMs))), timeoutMs);
      const onAbort = () => finish(failure(new Error("cancelled")));
      signal?.addEventListener("abort", onAbort, { once: true });
      const finish = (outcome: SingleRequestOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      client.dispatch(options, {
        onConnect() {},
        onHeaders(statusCode) {
          status = statusCode;
          return true;
        },
        onData() {
          return true;
        },
        onComplete() {
          finish({ kind: "answered", status });
        },
        onError(err) {
          finish(failure(err));
        },
      });
    });
  } finally {
    await client.destroy().catch(() => undefined);
  }
}
