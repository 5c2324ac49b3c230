import type { IncomingMessage } from "node:http";
import {
  AbortedError,
  Transient,
  defaultRetryPolicy,
  parseRetryAfterMs,
  retryableStatuses,
  withRetries,
  type AttemptRetry,
  type RetryPolicy,
} from "./retry";
import { ProxyRefusedError, closeConnections, routeFor } from "./transport";

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** What the call does, for messages: "get rollout 1234". */
  operation: string;
  /** Safe to send again after a network failure (GETs, and POSTs the server de-duplicates). */
  retryNetworkErrors: boolean;
  /**
   * Says why an answer the status calls fine is still a transient fault (e.g. a 200 whose JSON
   * was cut off by a dropped proxy connection), so it is retried like a 502; undefined when the
   * answer is usable. Only for requests that are safe to repeat.
   */
  faultIn?: (response: HttpResponse) => string | undefined;
  /** The body cap (default `maxResponseBytes`). */
  maxResponseBytes?: number;
  /**
   * Reads the body of an answer with this status as it arrives, without a cap (the response's
   * `body` is then empty): return the function each chunk goes to, or undefined to read it whole.
   * An error it throws ends the call as is. A network failure before the first chunk reached it
   * is retried like any other (when `retryNetworkErrors` allows); after that it is not, since
   * the caller has already used part of the answer.
   */
  streamBody?: (status: number) => ((chunk: Buffer) => void) | undefined;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RetryNotice extends AttemptRetry {
  operation: string;
}

export interface HttpClientOptions {
  retry?: RetryPolicy;
  /** Per attempt: connect, headers and body together. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  /** For tests: makes the jitter deterministic. */
  random?: () => number;
}

/** A failure to get any HTTP answer (reset, refused, timeout, DNS) after the retries allowed. */
export class HttpNetworkError extends Error {
  override name = "HttpNetworkError";
  constructor(
    readonly operation: string,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(`${operation} failed: ${reason} (after ${attempts} attempt${attempts === 1 ? "" : "s"})`);
  }
}

/** Closes the keep-alive sockets so the process can exit promptly. */
export async function closeHttpConnections(): Promise<void> {
  closeConnections();
  return Promise.resolve();
}

const permanentPrefixes = {
  proxyCredentials: "the proxy asked for credentials",
  certificate: "the server's certificate is not trusted",
};

function describeNetworkError(err: unknown, timedOut: boolean): string {
  if (err instanceof ProxyRefusedError) {
    if (err.status === 407)
      return `${permanentPrefixes.proxyCredentials} (HTTP 407): check the agent's proxy user name and password`;
    return `the proxy refused the tunnel (HTTP ${err.status} to CONNECT)`;
  }
  if (timedOut) return "timed out";
  const code =
    (err as { code?: string; cause?: { code?: string } })?.code ??
    (err as { cause?: { code?: string } })?.cause?.code;
  switch (code) {
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "connection reset";
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "CERT_HAS_EXPIRED":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `${permanentPrefixes.certificate} (${code}): a CA the agent trusts is given to tasks as Agent.CAInfo`;
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ETIMEDOUT":
      return "timed out";
    default:
      return code ? `network error ${code}` : `network error: ${(err as Error)?.message ?? String(err)}`;
  }
}

async function sendOnce(
  req: HttpRequest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const route = routeFor(new URL(req.url));
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = route.send({ method: req.method, headers: req.headers, signal: combined });
    request.once("response", resolve).on("error", reject);
    request.end(req.body);
  });
  if (route.proxy && res.statusCode === 407 && !req.url.startsWith("https:")) {
    res.destroy();
    throw new ProxyRefusedError(407, "absolute");
  }
  const sink = req.streamBody?.(res.statusCode ?? 0);
  const body = sink ? await streamTo(res, sink) : await readCapped(res, res.headers["content-length"], req);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return { status: res.statusCode ?? 0, headers, body };
}

/** The largest response body any call reads: far above any answer of the contracts in use. */
export const maxResponseBytes = 16 * 1024 * 1024;

/** The answer's body was over the cap: not read further and not retried (a flood stays one). */
export class HttpBodyTooLargeError extends Error {
  override name = "HttpBodyTooLargeError";
  constructor(
    readonly operation: string,
    readonly limitBytes: number,
    readonly declaredBytes: number | undefined,
  ) {
    super(
      `${operation} failed: the response body is over the ${limitBytes / 1048576} MiB limit${declaredBytes === undefined ? "" : ` (Content-Length ${declaredBytes} bytes)`}, so it was not read`,
    );
  }
}

/**
 * A streamed body failed: in the caller's reader (`consumer`), or on the network, before or
 * after (`used`) the reader got part of it.
 */
class StreamedBodyError extends Error {
  constructor(
    readonly reason: unknown,
    readonly consumer: boolean,
    readonly used: boolean,
  ) {
    super("the streamed body failed");
  }
}

async function streamTo(body: AsyncIterable<Buffer> & { destroy(): unknown }, sink: (chunk: Buffer) => void) {
  const iterator = body[Symbol.asyncIterator]();
  let used = false;
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw new StreamedBodyError(err, false, used);
    }
    if (next.done) return "";
    used = true;
    try {
      sink(next.value);
    } catch (err) {
      body.destroy();
      throw new StreamedBodyError(err, true, true);
    }
  }
}

/** The body as text, streamed and given up as soon as it passes the cap (never buffered whole). */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  contentLength: string | string[] | undefined,
  req: HttpRequest,
): Promise<string> {
  const limit = req.maxResponseBytes ?? maxResponseBytes;
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    throw new HttpBodyTooLargeError(req.operation, limit, declared);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new HttpBodyTooLargeError(req.operation, limit, undefined);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Sends `req`, retrying 408/429/5xx answers and (when the request allows it) network failures.
 * Returns the last answer, whatever its status: turning it into a typed error is the caller's
 * job, because only the caller knows the protocol.
 */
export async function sendWithRetry(
  req: HttpRequest,
  options: HttpClientOptions = {},
): Promise<HttpResponse> {
  const policy = options.retry ?? defaultRetryPolicy;
  const timeoutMs = options.timeoutMs ?? 30_000;
  return withRetries(
    async (attempt): Promise<HttpResponse | Transient<HttpResponse>> => {
      try {
        const response = await sendOnce(req, timeoutMs, options.signal);
        if (retryableStatuses.has(response.status)) {
          const retryAfterMs = parseRetryAfterMs(response.headers["retry-after"]);
          return new Transient(`HTTP ${response.status}`, () => response, retryAfterMs);
        }
        const fault = req.faultIn?.(response);
        return fault === undefined ? response : new Transient(fault, () => response);
      } catch (err) {
        if (options.signal?.aborted) throw new AbortedError();
        if (err instanceof HttpBodyTooLargeError) throw err;
        if (err instanceof StreamedBodyError && err.consumer) throw err.reason;
        const cause = err instanceof StreamedBodyError ? err.reason : err;
        const timedOut =
          cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError");
        const reason =
          describeNetworkError(cause, timedOut) +
          (err instanceof StreamedBodyError ? " while the answer was being read" : "");
        // Part of the answer was used: sending again would hand the reader rows twice.
        if (err instanceof StreamedBodyError && err.used)
          throw new HttpNetworkError(req.operation, reason, attempt);
        const failed = () => {
          throw new HttpNetworkError(req.operation, reason, attempt);
        };
        // Another try cannot fix these, and repeated bad proxy credentials can lock the account.
        const settled =
          reason.startsWith(permanentPrefixes.proxyCredentials) ||
          reason.startsWith(permanentPrefixes.certificate);
        return settled || !req.retryNetworkErrors ? failed() : new Transient(reason, failed);
      }
    },
    {
      policy,
      signal: options.signal,
      random: options.random,
      onRetry: options.onRetry && ((retry) => options.onRetry!({ operation: req.operation, ...retry })),
    },
  );
}
