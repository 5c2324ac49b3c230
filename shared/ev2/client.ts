import type * as z from "../zod";
import {
  sendWithRetry,
  HttpBodyTooLargeError,
  HttpNetworkError,
  type HttpClientOptions,
  type HttpResponse,
} from "../http/request";
import { retryableStatuses } from "../http/retry";
import { Ev2Error, Ev2ProtocolError } from "./errors";
import { parseRolloutAnswer, readRolloutJson } from "./rollout-answer";
import * as schema from "./schemas";
import type { Rollout, StartRolloutRequest } from "./schemas";

export type TokenProvider = (signal?: AbortSignal) => Promise<string>;

export interface Ev2ClientOptions extends HttpClientOptions {
  baseUrl: string;
  getToken: TokenProvider;
  userAgent?: string;
}

export type GetRolloutResult =
  { notModified: true; etag: string } | { notModified: false; etag?: string; rollout: Rollout };

export interface StartRolloutResult {
  rolloutId: string;
  status: string;
  /** True when EV2 recognised the idempotency key and answered with the rollout it already started. */
  replayed: boolean;
}

export interface DecisionResult {
  actionId: string;
  status: string;
  /** True when the action had already been decided the same way. */
  alreadyDecided: boolean;
}

export interface CancelResult {
  status: string;
  /** True when the rollout was already Cancelled. */
  alreadyCancelled: boolean;
}

const enc = encodeURIComponent;

/** JSON bodies already parsed while deciding whether to retry, so each answer is parsed once. */
const parsedBodies = new WeakMap<HttpResponse, unknown>();

/** A 2xx whose body is not JSON (cut off, or a proxy's page) is a transient fault: retried. */
function faultIn(res: HttpResponse, readJson: (text: string) => unknown): string | undefined {
  if (res.status < 200 || res.status >= 300 || res.status === 204) return undefined;
  try {
    parsedBodies.set(res, readJson(res.body));
    return undefined;
  } catch {
    return `HTTP ${res.status} with ${describeBody(res)}`;
  }
}

/** What to check when EV2 cannot be reached at all. */
export const unreachableHint =
  "Check the service connection's URL (the EV2 base URL), the agent's proxy (Agent.ProxyUrl and its bypass list, or HTTPS_PROXY/NO_PROXY) and that the host name resolves from the agent (DNS).";

/** The EV2 contract (`ev2-rest-contract.md`) over HTTP; every call goes through the one retry policy. */
export class Ev2Client {
  /** The EV2 base URL, without a trailing slash. */
  readonly baseUrl: string;

  constructor(private readonly options: Ev2ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
  }

  /** The same client with another cancellation signal: e.g. a bounded one for cleanup after the pipeline was cancelled. */
  withSignal(signal: AbortSignal | undefined): Ev2Client {
    return new Ev2Client({ ...this.options, signal });
  }

  async listArtifactVersions(serviceGroup: string, serviceId: string) {
    const path = `/serviceGroups/${enc(serviceGroup)}/services/${enc(serviceId)}/artifactVersions`;
    const res = await this.call("GET", path, "list artifact versions");
    return this.parse(res, schema.artifactVersionList, "list artifact versions").artifacts;
  }

  async listStageMapVersions(serviceGroup: string, serviceId: string, stageMapName: string) {
    const path = `/serviceGroups/${enc(serviceGroup)}/services/${enc(serviceId)}/stageMaps/${enc(stageMapName)}/versions`;
    const res = await this.call("GET", path, "list stage map versions");
    return this.parse(res, schema.stageMapVersionList, "list stage map versions").stageMaps;
  }

  async startRollout(
    serviceGroup: string,
    serviceId: string,
    body: StartRolloutRequest,
    idempotencyKey: string,
  ): Promise<StartRolloutResult> {
    const path = `/serviceGroups/${enc(serviceGroup)}/services/${enc(serviceId)}/rollouts`;
    const res = await this.call("POST", path, "start rollout", body, {
      headers: { "idempotency-key": idempotencyKey },
    });
    const started = this.parse(res, schema.startedRollout, "start rollout");
    return { ...started, replayed: res.headers["idempotency-replayed"] === "true" };
  }

  async listRollouts(
    serviceGroup: string,
    serviceId: string,
    filter: { status?: string[]; tags?: Record<string, string> } = {},
  ) {
    const query = new URLSearchParams();
    for (const s of filter.status ?? []) query.append("status", s);
    for (const [k, v] of Object.entries(filter.tags ?? {})) query.append("tag", `${k}:${v}`);
    const qs = query.size ? `?${query}` : "";
    const path = `/serviceGroups/${enc(serviceGroup)}/services/${enc(serviceId)}/rollouts${qs}`;
    const res = await this.call("GET", path, "list rollouts");
    return this.parse(res, schema.rolloutList, "list rollouts").rollouts;
  }

  /** `GET /rollouts`: the newest rollouts of any service that carry every tag, newest first. */
  async findRollouts(filter: { tags: Record<string, string>; top?: number }) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(filter.tags)) query.append("tag", `${k}:${v}`);
    if (filter.top) query.set("top", String(filter.top));
    const res = await this.call("GET", `/rollouts?${query}`, "find rollouts");
    return this.parse(res, schema.rolloutList, "find rollouts").rollouts;
  }

  /**
   * One GET; with `etag`, a 304 comes back as `notModified` and costs no parsing. `signal`, when
   * given, replaces the client's for this call (a step's deadline combined with cancellation).
   * `previous`, the rollout an earlier answer gave: the stages and regions that did not change
   * are its own objects (see parseRolloutAnswer).
   */
  async getRollout(
    rolloutId: string,
    etag?: string,
    signal?: AbortSignal,
    previous?: Rollout,
  ): Promise<GetRolloutResult> {
    if (signal) return this.withSignal(signal).getRollout(rolloutId, etag, undefined, previous);
    const res = await this.call("GET", `/rollouts/${enc(rolloutId)}`, `get rollout ${rolloutId}`, undefined, {
      headers: etag ? { "if-none-match": etag } : {},
      okStatuses: [304],
      // What EV2 adds to a rollout beyond the contract is dropped while it is read.
      readJson: readRolloutJson,
    });
    if (res.status === 304) return { notModified: true, etag: etag ?? res.headers.etag ?? "" };
    const rollout = this.read(res, `get rollout ${rolloutId}`, (json) => parseRolloutAnswer(json, previous));
    return { notModified: false, etag: res.headers.etag, rollout };
  }

  async decideWaitAction(
    rolloutId: string,
    actionId: string,
    decision: { decision: "Approve" | "Reject"; comment: string; decidedBy: string },
  ): Promise<DecisionResult> {
    const operation = `decide wait action ${actionId}`;
    const wanted = decision.decision === "Approve" ? "Approved" : "Rejected";
    try {
      const res = await this.call(
        "POST",
        `/rollouts/${enc(rolloutId)}/waitActions/${enc(actionId)}/decision`,
        operation,
        decision,
      );
      const result = this.parse(res, schema.decisionResult, operation);
      return { actionId: result.actionId, status: result.status, alreadyDecided: false };
    } catch (err) {
      // A retried POST may find its own earlier decision: the same decision is success.
      if (err instanceof Ev2Error && err.code === "WaitActionAlreadyDecided") {
        const status = String(err.details?.status ?? "");
        if (status === wanted) return { actionId, status, alreadyDecided: true };
        throw new Ev2Error({
          operation,
          code: err.code,
          httpStatus: err.httpStatus,
          requestId: err.requestId,
          details: err.details,
          message: `the wait action was already ${status || "decided"}, so it cannot be ${wanted.toLowerCase()} now`,
        });
      }
      throw err;
    }
  }

  async cancelRollout(rolloutId: string, reason: string): Promise<CancelResult> {
    const operation = `cancel rollout ${rolloutId}`;
    try {
      const res = await this.call("POST", `/rollouts/${enc(rolloutId)}/cancel`, operation, { reason });
      return { status: this.parse(res, schema.cancelResult, operation).status, alreadyCancelled: false };
    } catch (err) {
      if (err instanceof Ev2Error && err.code === "RolloutAlreadyTerminal") {
        const status = String(err.details?.status ?? "");
        if (status === "Cancelled") return { status, alreadyCancelled: true };
        throw new Ev2Error({
          operation,
          code: err.code,
          httpStatus: err.httpStatus,
          requestId: err.requestId,
          details: err.details,
          message: `the rollout had already ended as ${status || "terminal"}; there was nothing to cancel`,
        });
      }
      throw err;
    }
  }

  async restartRollout(rolloutId: string) {
    const operation = `restart rollout ${rolloutId}`;
    const res = await this.call("POST", `/rollouts/${enc(rolloutId)}/restart`, operation, {
      scope: "FailedOnly",
    });
    return this.parse(res, schema.restartResult, operation);
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    operation: string,
    body?: unknown,
    {
      headers: extraHeaders = {},
      okStatuses = [],
      readJson = JSON.parse,
    }: { headers?: Record<string, string>; okStatuses?: number[]; readJson?: (text: string) => unknown } = {},
  ): Promise<HttpResponse> {
    const token = await this.options.getToken(this.options.signal);
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${token}`,
      "user-agent": this.options.userAgent ?? "ev2-rollout-extension",
      ...extraHeaders,
    };
    if (body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
    let res: HttpResponse;
    try {
      res = await sendWithRetry(
        {
          method,
          url: this.baseUrl + path,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          operation,
          // Every POST of the contract is safe to repeat (idempotency key, or a decision/cancel
          // that is treated as done when the server says it already is).
          retryNetworkErrors: true,
          faultIn: (res) => faultIn(res, readJson),
        },
        this.options,
      );
    } catch (err) {
      if (err instanceof HttpBodyTooLargeError) {
        throw new Ev2ProtocolError({
          operation,
          code: "ResponseTooLarge",
          message: `${err.message.slice(err.message.indexOf(": ") + 2)}: no EV2 answer is that large; check the connection's URL and any proxy in between`,
        });
      }
      if (err instanceof HttpNetworkError) {
        throw new Ev2Error({
          operation,
          code: "NetworkError",
          message: `${err.reason} after ${err.attempts} attempt(s) to reach ${this.baseUrl}. ${unreachableHint}`,
          retryable: true,
        });
      }
      throw err;
    }
    if ((res.status >= 200 && res.status < 300) || okStatuses.includes(res.status)) return res;
    throw this.errorFrom(res, operation);
  }

  private errorFrom(res: HttpResponse, operation: string): Ev2Error {
    const requestId = res.headers["x-ms-request-id"];
    const retryable = retryableStatuses.has(res.status);
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    const parsed = schema.errorBody.safeParse(json);
    if (!parsed.success) {
      return new Ev2ProtocolError({
        operation,
        code: retryable ? "ServiceUnavailable" : "ProtocolError",
        httpStatus: res.status,
        requestId,
        retryable,
        message: `the service answered HTTP ${res.status} with ${describeBody(res)} instead of an EV2 error`,
      });
    }
    const e = parsed.data.error;
    return new Ev2Error({
      operation,
      code: e.code,
      message: e.message + (e.target ? ` (target: ${e.target})` : ""),
      httpStatus: res.status,
      requestId,
      retryable,
      target: e.target ?? undefined,
      details: e.details ?? undefined,
    });
  }

  private parse<T extends z.ZodMiniType>(res: HttpResponse, shape: T, operation: string): z.infer<T> {
    return this.read(res, operation, (json) => shape.safeParse(json));
  }

  /** The answer's JSON, checked by `check` (a zod schema's safeParse, or one that answers as it does). */
  private read<T>(res: HttpResponse, operation: string, check: (json: unknown) => Checked<T>): T {
    let json: unknown = parsedBodies.get(res);
    try {
      if (!parsedBodies.has(res)) json = JSON.parse(res.body);
    } catch {
      throw new Ev2ProtocolError({
        operation,
        code: "ProtocolError",
        httpStatus: res.status,
        requestId: res.headers["x-ms-request-id"],
        message: `the response was ${describeBody(res)}, not the JSON the contract describes`,
      });
    }
    const parsed = check(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? issue.path.join(".") : "(root)";
      throw new Ev2ProtocolError({
        operation,
        code: "ProtocolError",
        httpStatus: res.status,
        requestId: res.headers["x-ms-request-id"],
        message: `the response does not follow the contract: ${where}: ${issue.message}`,
      });
    }
    return parsed.data;
  }
}

/** What zod's safeParse gives, as far as `read` uses it. */
type Checked<T> =
  | { success: true; data: T }
  | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };

function describeBody(res: HttpResponse): string {
  const type = res.headers["content-type"] ?? "";
  if (res.body.trim() === "") return "an empty body";
  if (/html/i.test(type) || /^\s*<(!doctype|html)/i.test(res.body)) return "an HTML page";
  if (/json/i.test(type)) return "truncated or invalid JSON";
  return `a ${type || "non-JSON"} body`;
}
