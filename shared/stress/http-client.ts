/**
 * One request for the readiness probe, over Node's own http and https modules (the load
 * generator has its own client): on a connection of its own when direct, through the agent's
 * pooled proxy route when asked.
 */
import { request as httpRequest, type ClientRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { proxyFor, routeFor, tlsOptions } from "../http/transport";
import { RequestTimeoutError, classifyRequestError, type TransportErrorKind } from "./errors";

export type SingleRequestOutcome =
  { kind: "answered"; status: number } | { kind: "failed"; error: TransportErrorKind; message: string };

export interface ProbeRequest {
  path: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One request; the body of the answer is read and dropped. A request taking longer than
 * `timeoutMs` fails as a timeout; `signal` cancels it at once. Never rejects.
 */
export function sendOnce(
  origin: string,
  options: ProbeRequest,
  timeoutMs: number,
  signal?: AbortSignal,
  route: { throughProxy: boolean } = { throughProxy: false },
): Promise<SingleRequestOutcome> {
  const url = new URL(`${origin}${options.path}`);
  const failure = (err: Error): SingleRequestOutcome => ({
    kind: "failed",
    error: classifyRequestError(err),
    message: err.message,
  });
  if (signal?.aborted) return Promise.resolve(failure(new Error("cancelled")));
  return new Promise<SingleRequestOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: SingleRequestOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (outcome.kind === "failed") request.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(failure(new RequestTimeoutError(timeoutMs))), timeoutMs);
    const onAbort = () => finish(failure(new Error("cancelled")));
    const init = { method: options.method, headers: options.headers ?? {} };
    // Through the agent's proxy: its shared route (kept open). Direct: a connection of its own,
    // closed after the answer, with the agent's certificates.
    const request: ClientRequest =
      route.throughProxy && proxyFor(url) !== undefined
        ? routeFor(url).send(init)
        : url.protocol === "https:"
          ? httpsRequest(url, { ...init, ...tlsOptions(), agent: false })
          : httpRequest(url, { ...init, agent: false });
    signal?.addEventListener("abort", onAbort, { once: true });
    request.once("response", (res) => {
      res.on("error", (err) => finish(failure(err)));
      res.once("end", () => finish({ kind: "answered", status: res.statusCode ?? 0 }));
      res.resume();
    });
    request.on("error", (err) => finish(failure(err)));
    request.end(options.body);
  });
}
