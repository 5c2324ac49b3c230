/**
 * A stand-in of the Azure Monitor Log Analytics query API for tests and the demo: a real HTTP
 * server on 127.0.0.1 answering `POST /v1/workspaces/{workspaceId}/query` with `{ query, timespan }`
 * as the service does (`{ tables: [{ name, columns, rows }] }`, errors as `{ error: { code,
 * message, innererror } }`). It runs no KQL: it serves the documented request query template of
 * shared/telemetry/query.ts, reads its parameters (window, regions, versions) back out of the
 * text, and refuses any other query with a clear error.
 *
 * Requests are drawn from a telemetry scenario (sim/scenarios/telemetry/<name>.json): per region,
 * the new version (the one the query's `version in (...)` names) and the previous version
 * (served for `version !in (...)`, under the scenario's `previousVersion`) answer with log-normal
 * latencies and an error share, each overridable per region, so a scenario can make the canary
 * 30% slower. Draws are seeded by region, version and window: the same query gets the same rows.
 * Never shipped in the extension.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { seededRandom } from "./ev2/faults";
import type { EndpointSetup } from "../pipeline/task-process";
import { startEntraId } from "./entra-id";
import { readBody } from "./http-body";
import { teamsSinkServerCertificate } from "./teams-sink";

export const TELEMETRY_SCENARIO_DIR = path.resolve(__dirname, "scenarios", "telemetry");

export interface RequestBehaviour {
  /** Median latency (ms) of a log-normal distribution. */
  medianMs: number;
  /** Its log-space standard deviation (default 0.35). */
  sigma?: number;
  /** Share of requests that fail, 0 to 1. */
  errorShare?: number;
}

export interface TelemetryScenario {
  name: string;
  description?: string;
  /** Requests a minute per region and version; each row stands for `itemCount` of them. */
  requestsPerMinute: number;
  /** Application Insights' sampling: how many requests each row stands for (default 1). */
  itemCount?: number;
  /** The version name served for `version !in (...)`. */
  previousVersion: string;
  /** Regions served when the query names none. */
  regions: string[];
  previous: RequestBehaviour;
  new: RequestBehaviour;
  /** Per region: how it differs from `previous` / `new`. */
  overrides?: Record<string, { previous?: Partial<RequestBehaviour>; new?: Partial<RequestBehaviour> }>;
}

/** The most rows one answer holds (per region and version): the stand-in stays fast. */
const MAX_ROWS_PER_SERIES = 50_000;

export function loadTelemetryScenario(nameOrFile: string): TelemetryScenario {
  const file = existsSync(nameOrFile) ? nameOrFile : path.join(TELEMETRY_SCENARIO_DIR, `${nameOrFile}.json`);
  if (!existsSync(file))
    throw new Error(`no telemetry scenario ${JSON.stringify(nameOrFile)} (looked for ${file})`);
  const s = JSON.parse(readFileSync(file, "utf8")) as TelemetryScenario;
  if (
    typeof s.name !== "string" ||
    !(s.requestsPerMinute > 0) ||
    typeof s.previousVersion !== "string" ||
    !Array.isArray(s.regions) ||
    !(s.previous?.medianMs > 0) ||
    !(s.new?.medianMs > 0)
  )
    throw new Error(
      `${file} is not a telemetry scenario: it needs name, requestsPerMinute > 0, previousVersion, regions, previous.medianMs and new.medianMs`,
    );
  return s;
}

export interface LogAnalyticsQueryRecord {
  workspaceId: string;
  authorization?: string;
  query?: string;
  timespan?: string;
  status: number;
  rows: number;
}

export interface LogAnalyticsSim {
  url: string;
  scenario: TelemetryScenario;
  /** Every query received, in order. */
  queries: LogAnalyticsQueryRecord[];
  close(): Promise<void>;
}

export interface LogAnalyticsSimOptions {
  scenario: string | TelemetryScenario;
  /** The workspace ids served; others answer 404. */
  workspaceIds: string[];
  /** Bearer tokens accepted (what Entra ID issued). */
  tokens: string[];
  seed?: number;
  port?: number;
}

/** The template's parameters, read back out of its text; undefined when it is not the template. */
export interface TemplateParameters {
  start: Date;
  end: Date;
  regionColumn: string;
  versionColumn: string;
  regions: string[];
  versions: { in: string[] } | { notIn: string[] };
}

const LINES = {
  table: /^AppRequests$/,
  window: /^\| where TimeGenerated >= datetime\(([^)]+)\) and TimeGenerated < datetime\(([^)]+)\)$/,
  extend: /^\| extend region = tostring\((.+)\), version = tostring\((.+)\)$/,
  regions: /^\| where region in~ \((.*)\)$/,
  versions: /^\| where version (in|!in) \((.*)\)$/,
  project:
    /^\| project region, version, durationMs = todouble\(DurationMs\), success = tobool\(Success\), itemCount = tolong\(ItemCount\)$/,
};

/** A KQL list of double-quoted literals; its escapes are JSON's. */
function kqlList(text: string): string[] | undefined {
  try {
    const list = JSON.parse(`[${text}]`) as unknown;
    return Array.isArray(list) && list.every((v) => typeof v === "string") ? (list as string[]) : undefined;
  } catch {
    return undefined;
  }
}

export function parseTemplate(query: string): TemplateParameters | undefined {
  const lines = query.split("\n");
  let i = 0;
  const next = (re: RegExp) => {
    const m = re.exec(lines[i] ?? "");
    if (m) i++;
    return m;
  };
  if (!next(LINES.table)) return undefined;
  const window = next(LINES.window);
  const extend = next(LINES.extend);
  if (!window || !extend) return undefined;
  const regionsLine = next(LINES.regions);
  const versionsLine = next(LINES.versions);
  if (!next(LINES.project) || i !== lines.length) return undefined;
  const start = new Date(window[1]);
  const end = new Date(window[2]);
  const regions = regionsLine ? kqlList(regionsLine[1]) : [];
  const versionList = versionsLine ? kqlList(versionsLine[2]) : [];
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || !regions || !versionList)
    return undefined;
  return {
    start,
    end,
    regionColumn: extend[1],
    versionColumn: extend[2],
    regions,
    versions: versionsLine?.[1] === "in" ? { in: versionList } : { notIn: versionList },
  };
}

const columns = [
  { name: "region", type: "string" },
  { name: "version", type: "string" },
  { name: "durationMs", type: "real" },
  { name: "success", type: "bool" },
  { name: "itemCount", type: "long" },
];

/** The rows the scenario gives for the template's parameters. */
export function scenarioRows(scenario: TelemetryScenario, p: TemplateParameters, seed = 1): unknown[][] {
  const minutes = Math.max(0, (p.end.getTime() - p.start.getTime()) / 60_000);
  const itemCount = scenario.itemCount ?? 1;
  const count = Math.min(MAX_ROWS_PER_SERIES, Math.round((scenario.requestsPerMinute * minutes) / itemCount));
  const regions = p.regions.length ? p.regions : scenario.regions;
  const series: Array<{ version: string; side: "new" | "previous" }> =
    "in" in p.versions
      ? p.versions.in.map((version) => ({ version, side: "new" as const }))
      : p.versions.notIn.includes(scenario.previousVersion)
        ? []
        : [{ version: scenario.previousVersion, side: "previous" }];
  const rows: unknown[][] = [];
  for (const region of regions) {
    const override = Object.entries(scenario.overrides ?? {}).find(
      ([name]) => name.toLowerCase() === region.toLowerCase(),
    )?.[1];
    for (const { version, side } of series) {
      const b = { ...scenario[side], ...override?.[side] };
      const random = keyedRandom(
        `${seed}|${region}|${version}|${p.start.toISOString()}|${p.end.toISOString()}`,
      );
      for (let n = 0; n < count; n++) {
        const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
        const durationMs = Math.round(b.medianMs * Math.exp((b.sigma ?? 0.35) * z) * 1000) / 1000;
        rows.push([region, version, durationMs, random() >= (b.errorShare ?? 0), itemCount]);
      }
    }
  }
  return rows;
}

/** Draws seeded by a text key: the same region, version and window give the same requests. */
function keyedRandom(key: string): () => number {
  return seededRandom(createHash("sha256").update(key).digest().readUInt32LE(0));
}

function sendError(res: ServerResponse, status: number, code: string, message: string, inner?: string): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(
    JSON.stringify({
      error: { code, message, ...(inner ? { innererror: { code: `${code}Detail`, message: inner } } : {}) },
    }),
  );
}

export async function startLogAnalytics(options: LogAnalyticsSimOptions): Promise<LogAnalyticsSim> {
  const scenario =
    typeof options.scenario === "string" ? loadTelemetryScenario(options.scenario) : options.scenario;
  const queries: LogAnalyticsQueryRecord[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res).catch((err: unknown) => sendError(res, 500, "InternalError", String(err)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const match = /^\/v1\/workspaces\/([^/]+)\/query$/.exec(url.pathname);
    const record: LogAnalyticsQueryRecord = {
      workspaceId: match ? decodeURIComponent(match[1]) : "",
      authorization: req.headers.authorization,
      status: 0,
      rows: 0,
    };
    queries.push(record);
    const fail = (status: number, code: string, message: string, inner?: string) => {
      record.status = status;
      sendError(res, status, code, message, inner);
    };
    if (!match) return fail(404, "PathNotFoundError", `The requested path does not exist: ${url.pathname}`);
    if (req.method !== "POST" && req.method !== "GET")
      return fail(405, "MethodNotAllowed", `${req.method} is not supported`);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return fail(401, "AuthorizationRequiredError", "Valid authentication was not provided");
    if (!options.tokens.includes(token))
      return fail(
        403,
        "InsufficientAccessError",
        "The provided credentials have insufficient access to perform the requested operation",
      );
    if (!options.workspaceIds.includes(record.workspaceId))
      return fail(404, "WorkspaceNotFoundError", `The workspace ${record.workspaceId} could not be found`);
    const text = await readBody(req);
    let body: { query?: unknown; timespan?: unknown };
    try {
      body = JSON.parse(text ?? "") as typeof body;
    } catch {
      return fail(400, "BadArgumentError", "The request had some invalid properties", "The body is not JSON");
    }
    if (typeof body.query !== "string" || body.query.trim() === "")
      return fail(400, "BadArgumentError", "The request had some invalid properties", "query is required");
    record.query = body.query;
    record.timespan = typeof body.timespan === "string" ? body.timespan : undefined;
    if (body.timespan !== undefined && (typeof body.timespan !== "string" || !validTimespan(body.timespan)))
      return fail(
        400,
        "BadArgumentError",
        "The request had some invalid properties",
        `timespan ${JSON.stringify(body.timespan)} is not an ISO 8601 duration or interval`,
      );
    const params = parseTemplate(body.query);
    if (!params)
      return fail(
        400,
        "BadArgumentError",
        "The request had some invalid properties",
        "The Log Analytics simulator runs no KQL: it serves only the documented request query (shared/telemetry/query.ts), so a custom query (telemetryQuery) cannot be run here",
      );
    const rows = scenarioRows(scenario, params, options.seed);
    record.status = 200;
    record.rows = rows.length;
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ tables: [{ name: "PrimaryResult", columns, rows }] }));
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scenario,
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function validTimespan(t: string): boolean {
  const duration = /^P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;
  const parts = t.split("/");
  if (parts.length === 1) return duration.test(t) && t !== "P" && !t.endsWith("T");
  return parts.length === 2 && parts.every((p) => !Number.isNaN(Date.parse(p)) || duration.test(p));
}

/**
 * The Log Analytics stand-in with the Entra ID that issues its tokens (https, with a certificate of
 * the Teams sinks' CA, which the tasks trust as Agent.CAInfo), and the Azure Resource Manager
 * connection of a service principal of that tenant: what a telemetry gate needs on this machine.
 */
export async function startTelemetryStandIns(scenario: string | TelemetryScenario) {
  const tenantId = "00000000-0000-4000-8000-0000000000aa";
  const clientId = "11111111-0000-4000-8000-0000000000d1";
  const clientSecret = `demo-${randomBytes(12).toString("hex")}`;
  const accessToken = `la-${randomBytes(16).toString("hex")}`;
  const workspaceId = "0b7c2c5e-1111-4222-8333-444455556666";
  // The Teams sink's CA signs Entra's certificate too: the tasks trust it as Agent.CAInfo.
  const { certPem, keyPem } = teamsSinkServerCertificate();
  const entra = await startEntraId({
    tenantId,
    tls: { cert: certPem, key: keyPem },
    applications: [{ clientId, accessToken, credential: { kind: "secret", secret: clientSecret } }],
  });
  const logs = await startLogAnalytics({
    scenario,
    workspaceIds: [workspaceId],
    tokens: [accessToken],
  });
  return {
    entra,
    logs,
    workspaceId,
    accessToken,
    clientSecret,
    /** Every Azure Resource Manager connection is a service principal of the local tenant. */
    connection: (_name: string, type: string): EndpointSetup | undefined =>
      type.toLowerCase() === "azurerm"
        ? {
            url: "https://management.azure.com/",
            scheme: "ServicePrincipal",
            parameters: {
              tenantid: tenantId,
              serviceprincipalid: clientId,
              authenticationType: "spnKey",
              serviceprincipalkey: clientSecret,
            },
            data: { environment: "AzureCloud", environmentAuthorityUrl: `${entra.url}/` },
          }
        : undefined,
    close: () => Promise.all([entra.close(), logs.close()]).then(() => undefined),
  };
}
