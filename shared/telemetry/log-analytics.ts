/**
 * The Azure Monitor Log Analytics query API: `POST {endpoint}/v1/workspaces/{workspaceId}/query`
 * with `{ query, timespan }`, answered `{ tables: [{ name, columns: [{ name, type }], rows }] }`
 * (a failure: `{ error: { code, message, innererror } }`; a 200 with an `error` beside the tables
 * is a partial result). Through the project's one HTTP module: the agent's proxy and CA, the
 * body cap, the retry policy. The token is an Entra ID token for the endpoint's `/.default`.
 */
import {
  sendWithRetry,
  HttpBodyTooLargeError,
  maxResponseBytes,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
} from "../http/request";
import type { TokenProvider } from "../ev2/client";
import { AnswerSyntaxError, QueryAnswerReader } from "./answer-stream";
import { REQUEST_COLUMNS } from "./query";

/** The public cloud's API; sovereign clouds have their own (e.g. https://api.loganalytics.azure.cn). */
export const DEFAULT_LOG_ANALYTICS_ENDPOINT = "https://api.loganalytics.io";

/** The token scope of a Log Analytics endpoint: the endpoint's own `/.default`. */
export function logAnalyticsScope(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}

export interface LogAnalyticsOptions extends HttpClientOptions {
  endpoint?: string;
  workspaceId: string;
  getToken: TokenProvider;
}

export interface QueryColumn {
  name: string;
  type: string;
}

export interface QueryTable {
  name: string;
  columns: QueryColumn[];
  rows: unknown[][];
}

/** A failed query: what the API said, in one line. */
export class LogAnalyticsError extends Error {
  override name = "LogAnalyticsError";
  constructor(
    message: string,
    readonly code: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** The server gets up to 3 minutes by default; the answer may take that long. */
const QUERY_TIMEOUT_MS = 200_000;

export class LogAnalyticsClient {
  readonly endpoint: string;
  constructor(private readonly options: LogAnalyticsOptions) {
    this.endpoint = (options.endpoint ?? DEFAULT_LOG_ANALYTICS_ENDPOINT).replace(/\/+$/, "");
  }

  get queryUrl(): string {
    return `${this.endpoint}/v1/workspaces/${encodeURIComponent(this.options.workspaceId)}/query`;
  }

  private get operation(): string {
    return `Log Analytics query of workspace ${this.options.workspaceId}`;
  }

  /** POSTs the query; a query reads only, so sending it again after a network failure is safe. */
  private async send(
    query: string,
    timespan: string,
    signal: AbortSignal | undefined,
    reading: Pick<HttpRequest, "faultIn" | "streamBody">,
  ): Promise<HttpResponse> {
    const token = await this.options.getToken(signal);
    return sendWithRetry(
      {
        method: "POST",
        url: this.queryUrl,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json",
        },
        body: JSON.stringify({ query, timespan }),
        operation: this.operation,
        retryNetworkErrors: true,
        ...reading,
      },
      {
        ...this.options,
        timeoutMs: this.options.timeoutMs ?? QUERY_TIMEOUT_MS,
        signal: signal ?? this.options.signal,
      },
    );
  }

  /** Runs `query` over `timespan` (ISO 8601: `PT1H` or `start/end`); the first table of the answer. */
  async query(query: string, timespan: string, signal?: AbortSignal): Promise<QueryTable> {
    const operation = this.operation;
    let res: HttpResponse;
    try {
      res = await this.send(query, timespan, signal, {
        faultIn: (r) =>
          r.status === 200 && !isJson(r.body) ? "HTTP 200 with a body that is not JSON" : undefined,
      });
    } catch (err) {
      if (err instanceof HttpBodyTooLargeError)
        throw new LogAnalyticsError(
          `${operation} failed: the answer is over ${maxResponseBytes / 1048576} MiB; shorten the window or summarize in the query`,
          "ResponseTooLarge",
        );
      throw err;
    }
    return tableIn(res, operation);
  }

  /**
   * Runs `query` over `timespan` and hands each row of the answer's first table, as a request, to
   * `onRow` while the answer arrives: memory does not grow with the rows and no cap applies. On a
   * partial or malformed answer it throws after some rows were handed over: the caller must then
   * discard what it gathered (the gate decides nothing on a failed query).
   */
  async queryRequests(
    query: string,
    timespan: string,
    onRow: (row: RequestRow) => void,
    signal?: AbortSignal,
  ): Promise<{ rows: number }> {
    const operation = this.operation;
    let reader: QueryAnswerReader | undefined;
    const res = await this.send(query, timespan, signal, {
      streamBody: (status) => {
        if (status !== 200) return undefined;
        let toRequest: ((row: unknown[], n: number) => RequestRow) | undefined;
        const current = new QueryAnswerReader({
          onColumns: (table, columns) => {
            if (table === 0) toRequest = requestRowReader(checkColumns(columns, operation));
          },
          onRow: (row) => {
            if (!toRequest || !Array.isArray(row))
              throw new LogAnalyticsError(
                `${operation}: the answer's first table is not { name, columns: [{ name, type }], rows: [[...]] }${toRequest ? "" : " (rows came before the columns)"}`,
                "BadTable",
                200,
              );
            onRow(toRequest(row, current.rows));
          },
        });
        reader = current;
        return (chunk) => current.write(chunk);
      },
    });
    if (res.status !== 200 || !reader) {
      // An error answer, read whole: tableIn says what it is.
      tableIn(res, operation);
      return { rows: 0 };
    }
    let envelope: unknown;
    try {
      envelope = reader.end();
    } catch (err) {
      if (!(err instanceof AnswerSyntaxError)) throw err;
      throw new LogAnalyticsError(`${operation}: ${err.message}`, "BadAnswer", 200);
    }
    checkAnswer(envelope, res.status, operation);
    return { rows: reader.rows };
  }
}

function isJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

interface ApiError {
  code?: unknown;
  message?: unknown;
  innererror?: ApiError;
  details?: ApiError[];
}

/** The deepest message of a OneAPI error: Log Analytics puts the KQL problem in `innererror`. */
function describeError(e: ApiError): { code: string; message: string } {
  const code = typeof e.code === "string" ? e.code : "Error";
  const parts = [typeof e.message === "string" ? e.message : ""];
  for (let inner = e.innererror ?? e.details?.[0]; inner; inner = inner.innererror ?? inner.details?.[0]) {
    if (typeof inner.message === "string" && !parts.includes(inner.message)) parts.push(inner.message);
  }
  return { code, message: parts.filter(Boolean).join(": ") || "no message" };
}

const statusHints: Record<number, string> = {
  400: "the query was refused; check it in the workspace's Logs blade",
  401: "the token was refused; check the service connection",
  403: "the identity may not read this workspace; give it the Log Analytics Reader role on the workspace",
  404: "no such workspace; telemetryWorkspaceId is the workspace's Workspace ID (a GUID) from its Overview",
};

function tableIn(res: HttpResponse, operation: string): QueryTable {
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = undefined;
  }
  return checkAnswer(body, res.status, operation);
}

function checkColumns(columns: unknown, operation: string): QueryColumn[] {
  const ok =
    Array.isArray(columns) &&
    columns.every(
      (c) => typeof (c as QueryColumn)?.name === "string" && typeof (c as QueryColumn)?.type === "string",
    );
  if (!ok)
    throw new LogAnalyticsError(
      `${operation}: the answer's first table is not { name, columns: [{ name, type }], rows: [[...]] }`,
      "BadTable",
      200,
    );
  return columns as QueryColumn[];
}

/** The first table of an answer (its rows as they were, emptied when streamed), or the error it is. */
function checkAnswer(body: unknown, status: number, operation: string): QueryTable {
  const res = { status };
  const error = (body as { error?: ApiError } | undefined)?.error;
  if (res.status !== 200) {
    const said = error ? describeError(error) : { code: `HTTP${res.status}`, message: "no error body" };
    const hint = statusHints[res.status];
    throw new LogAnalyticsError(
      `${operation} failed: HTTP ${res.status} ${said.code}: ${said.message}${hint ? ` (${hint})` : ""}`,
      said.code,
      res.status,
    );
  }
  if (error) {
    // A partial answer (a limit hit, a shard failed) would judge on part of the traffic.
    const said = describeError(error);
    throw new LogAnalyticsError(
      `${operation} returned a partial result (${said.code}: ${said.message}); the verdict needs all rows: shorten the window`,
      said.code,
      200,
    );
  }
  const tables = (body as { tables?: unknown } | undefined)?.tables;
  if (!Array.isArray(tables) || tables.length === 0)
    throw new LogAnalyticsError(`${operation}: the answer has no tables`, "NoTables", 200);
  const t = tables[0] as { name?: unknown; columns?: unknown; rows?: unknown };
  const columns = checkColumns(t.columns, operation);
  if (!Array.isArray(t.rows) || !t.rows.every(Array.isArray))
    throw new LogAnalyticsError(
      `${operation}: the answer's first table is not { name, columns: [{ name, type }], rows: [[...]] }`,
      "BadTable",
      200,
    );
  return { name: String(t.name ?? ""), columns, rows: t.rows as unknown[][] };
}

/** One request (or, sampled, `itemCount` requests) as the documented columns give it. */
export interface RequestRow {
  region: string;
  version: string;
  durationMs: number;
  success: boolean;
  itemCount: number;
}

/**
 * The rows of an answer as requests, one at a time. Throws before the first row when a documented
 * column is missing (naming what the query answered instead), and on a row whose values are not
 * of the column's kind.
 */
export function* requestRows(table: QueryTable): Generator<RequestRow> {
  const toRequest = requestRowReader(table.columns);
  for (let n = 0; n < table.rows.length; n++) yield toRequest(table.rows[n], n + 1);
}

/**
 * Turns rows of a table with these columns into requests (row `n` is 1-based, for messages).
 * Throws at once when a documented column is missing, naming what the query answered instead.
 */
export function requestRowReader(columns: readonly QueryColumn[]): (row: unknown[], n: number) => RequestRow {
  const table = { columns };
  const index = new Map(table.columns.map((c, i) => [c.name.toLowerCase(), i]));
  const missing = REQUEST_COLUMNS.filter((c) => !index.has(c.toLowerCase()));
  if (missing.length)
    throw new LogAnalyticsError(
      `the query's answer lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}: it must answer ${REQUEST_COLUMNS.join(", ")} (it answered ${table.columns.map((c) => c.name).join(", ") || "no columns"})`,
      "MissingColumns",
    );
  const at = (c: (typeof REQUEST_COLUMNS)[number]) => index.get(c.toLowerCase())!;
  const [ri, vi, di, si, ii] = REQUEST_COLUMNS.map(at);
  return (row, n) => {
    const durationMs = Number(row[di]);
    const itemCount = row[ii] === null || row[ii] === undefined ? 1 : Number(row[ii]);
    const success = toBool(row[si]);
    if (!Number.isFinite(durationMs) || durationMs < 0 || !(itemCount > 0) || success === undefined)
      throw new LogAnalyticsError(
        `row ${n} of the query's answer is not a request: durationMs ${JSON.stringify(row[di])}, success ${JSON.stringify(row[si])}, itemCount ${JSON.stringify(row[ii])} (expected a number >= 0, true/false, a count >= 1)`,
        "BadRow",
      );
    return { region: String(row[ri] ?? ""), version: String(row[vi] ?? ""), durationMs, success, itemCount };
  };
}

function toBool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === 1 || v === "True" || v === "true") return true;
  if (v === 0 || v === "False" || v === "false") return false;
  return undefined;
}
