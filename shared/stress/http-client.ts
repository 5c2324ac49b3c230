/**
 * undici's HTTP/1.1 client, loaded on first use and on its own (see undici-client.d.ts), and a
 * single request over it for the readiness probe.
 */
import type { Client as UndiciClient, Dispatcher } from "undici";
import { dispatcherFor, proxyFor, tlsOptions } from "../http/transport";
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
  route: { throughProxy: boolean } = { throughProxy: false },
): Promise<SingleRequestOutcome> {
  // Through the agent's proxy: its shared dispatcher (kept open). Direct: a client of its own,
  // with the agent's certificates.
  const proxied = route.throughProxy && proxyFor(new URL(origin)) !== undefined;
  const Client = proxied ? undefined : await loadUndiciClient();
  const client: Dispatcher = Client
    ? new Client(origin, { connectTimeout: timeoutMs, connect: tlsOptions() })
    : dispatcherFor(new URL(origin));
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
      let abortRequest: ((err: Error) => void) | undefined;
      let settled = false;
      const finish = (outcome: SingleRequestOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        // A shared dispatcher is not destroyed afterwards: end the request itself.
        if (!settled && outcome.kind === "failed") abortRequest?.(new Error(outcome.message));
        settled = true;
        resolve(outcome);
      };
      client.dispatch(
        { ...options, origin },
        {
          onConnect(abort) {
            abortRequest = abort;
          },
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
        },
      );
    });
  } finally {
    if (!proxied) await client.destroy().catch(() => undefined);
  }
}
