/** Kinds of failed requests, as reported per endpoint and overall. */
export const ERROR_KINDS = ["timeout", "reset", "refused", "tls", "unexpected_status", "other"] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** A transport failure: the request got no HTTP answer. */
export type TransportErrorKind = Exclude<ErrorKind, "unexpected_status">;

/**
 * A bad input or file: the message names the input (or file and field), says what is wrong and
 * what a valid value looks like. Thrown before any request is sent.
 */
export class StressInputError extends Error {
  override name = "StressInputError";
  constructor(
    message: string,
    /** The task input (or file) the problem is in, e.g. "connections", "endpointsFile". */
    readonly input: string,
  ) {
    super(message);
  }
}

/** An endpoint did not answer with an expected status before the readiness timeout. */
export class StressReadinessError extends Error {
  override name = "StressReadinessError";
  constructor(
    message: string,
    readonly url: string,
    /** The endpoint's name (its URL unless it was named). */
    readonly endpoint: string = url,
  ) {
    super(message);
  }
}

/** A request that took longer than the per-request timeout; the engine cancels it. */
export class RequestTimeoutError extends Error {
  override name = "RequestTimeoutError";
  readonly code = "ETIMEDOUT";
  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
  }
}

/**
 * The service closed the connection before a request in flight got its answer. Counted as a
 * reset: for the request the two are the same.
 */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  readonly code = "ECONNRESET";
  constructor() {
    super("the service closed the connection before answering");
  }
}

/** An answer that is not HTTP/1.x as the load client understands it. */
export class MalformedResponseError extends Error {
  override name = "MalformedResponseError";
  readonly code = "ERR_MALFORMED_RESPONSE";
}

const TIMEOUT_CODES = new Set([
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
]);
const RESET_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);
const REFUSED_CODES = new Set(["ECONNREFUSED"]);
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "HOSTNAME_MISMATCH",
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function classifyCode(code: string | undefined): TransportErrorKind | undefined {
  if (code === undefined) return undefined;
  if (TIMEOUT_CODES.has(code)) return "timeout";
  if (REFUSED_CODES.has(code)) return "refused";
  if (TLS_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_")) return "tls";
  if (RESET_CODES.has(code)) return "reset";
  return undefined;
}

/**
 * Sorts a transport error into a kind. undici wraps socket errors (UND_ERR_SOCKET with the
 * original as `cause`), so the cause is looked at first: "refused" or "tls" under a socket
 * error says more than "reset".
 */
export function classifyRequestError(err: unknown): TransportErrorKind {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const fromCause = cause === undefined ? undefined : classifyCode(codeOf(cause));
  if (fromCause) return fromCause;
  const fromCode = classifyCode(codeOf(err));
  if (fromCode) return fromCode;
  const message = err instanceof Error ? err.message : String(err);
  if (/certificate|SSL routines|TLS/i.test(message)) return "tls";
  return "other";
}
