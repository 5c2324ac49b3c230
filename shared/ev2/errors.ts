/** A failed EV2 call: what the service said (or what went wrong on the way), in one readable line. */
export class Ev2Error extends Error {
  override name = "Ev2Error";
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly retryable: boolean;
  readonly target: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly operation: string;
  /** What went wrong, without the "EV2 <operation> failed: <code>:" prefix. */
  readonly detail: string;

  constructor(init: {
    operation: string;
    code: string;
    message: string;
    httpStatus?: number;
    requestId?: string;
    retryable?: boolean;
    target?: string;
    details?: Record<string, unknown>;
  }) {
    const facts = [
      init.httpStatus === undefined ? "" : `HTTP ${init.httpStatus}`,
      init.requestId ? `request id ${init.requestId}` : "",
    ].filter(Boolean);
    super(
      `EV2 ${init.operation} failed: ${init.code}: ${init.message}${facts.length ? ` (${facts.join(", ")})` : ""}`,
    );
    this.operation = init.operation;
    this.detail = init.message;
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.requestId = init.requestId;
    this.retryable = init.retryable ?? false;
    this.target = init.target;
    this.details = init.details;
  }
}

/** The answer broke the contract: not JSON, truncated, or missing a required field. */
export class Ev2ProtocolError extends Ev2Error {
  override name = "Ev2ProtocolError";
}
