/** An EV2 error answer: `{ error: { code, message, target?, details? } }` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): { error: { code: string; message: string; target?: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.target !== undefined ? { target: this.target } : {}),
        ...(this.details !== undefined ? { details: this.details } : {}),
      },
    };
  }
}

export const invalidParameter = (target: string, message: string) =>
  new ApiError(400, "InvalidParameter", message, target);

/** An answer of the EV2 API before it becomes HTTP; a `body` of undefined sends no body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function errorAnswer(error: ApiError): ApiAnswer {
  return { status: error.status, body: error.toBody() };
}
