/**
 * Production telemetry as gate evidence: the requests of the regions just deployed, on the new
 * version, from Application Insights (Log Analytics), judged per region against a baseline (see
 * shared/telemetry/judge.ts). What it found, and how (each query, its time span, each test), is
 * kept whole for the record, the report and the summary.
 */
import type { TaskAgent } from "../agent/agent";
import { field } from "../agent/inputs";
import { azureRmTokenProvider } from "../ev2/connection";
import type { Rollout } from "../ev2/schemas";
import type { HttpClientOptions } from "../http/request";
import { newRegionsOf } from "../rollout/new-regions";
import { parseThresholdLine, ThresholdSyntaxError, type StressThreshold } from "../stress/thresholds";
import { type TelemetryEvidence, type TelemetryQueryRun } from "../telemetry/evidence";
import {
  DEFAULT_JUDGE_SETTINGS,
  TelemetryJudge,
  telemetryThresholdProblem,
  type BaselineKind,
} from "../telemetry/judge";
import {
  DEFAULT_LOG_ANALYTICS_ENDPOINT,
  LogAnalyticsClient,
  logAnalyticsScope,
  requestRows,
} from "../telemetry/log-analytics";
import {
  COLUMN_FORMS,
  columnProblem,
  customRequestQuery,
  DEFAULT_REGION_COLUMN,
  DEFAULT_VERSION_COLUMN,
  requestQuery,
  timespanOf,
  type RequestQueryParameters,
} from "../telemetry/query";

const REGION = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

function thresholdLineProblem(line: string): string | undefined {
  try {
    const t = parseThresholdLine(line, 1);
    return t ? telemetryThresholdProblem(t) : undefined;
  } catch (err) {
    if (err instanceof ThresholdSyntaxError) return err.message.replace(/^thresholds line 1 "[^"]*": /, "");
    throw err;
  }
}

/** GateApproval's telemetry inputs (all optional: without a workspace no telemetry is read). */
export const telemetryInputs = {
  telemetryWorkspaceId: field.text({
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    expected:
      "the Log Analytics workspace's Workspace ID, a GUID such as 0b7c2c5e-1111-4222-8333-444455556666",
  }),
  telemetryConnection: field.text(),
  telemetryEndpoint: field.text({
    default: DEFAULT_LOG_ANALYTICS_ENDPOINT,
    pattern: /^https?:\/\/[^\s/]+\/?$/i,
    expected:
      "the Log Analytics API's base URL, such as https://api.loganalytics.io (or a sovereign cloud's)",
  }),
  telemetryQuery: field.text({ maxLength: 20_000 }),
  telemetryRegionColumn: field.text({ default: DEFAULT_REGION_COLUMN, pattern: /./, expected: COLUMN_FORMS }),
  telemetryVersionColumn: field.text({
    default: DEFAULT_VERSION_COLUMN,
    pattern: /./,
    expected: COLUMN_FORMS,
  }),
  telemetryVersion: field.text({ maxLength: 128 }),
  telemetryRegions: field.text({ maxLength: 4000 }),
  telemetryBaseline: field.choice(["previousVersion", "otherRegions"] as const, "previousVersion"),
  telemetryWindowMinutes: field.number({ min: 1, max: 1440, default: 30, unit: "minutes" }),
  telemetryThresholds: field.lines({ check: thresholdLineProblem, max: 50 }),
  latencyTolerance: field.number({ min: 1, max: 10, default: DEFAULT_JUDGE_SETTINGS.latencyTolerance }),
  errorRateTolerance: field.number({
    min: 0,
    max: 100,
    default: DEFAULT_JUDGE_SETTINGS.errorRateTolerance,
    unit: "percentage points",
  }),
  minSamples: field.integer({ min: 10, max: 1_000_000, default: DEFAULT_JUDGE_SETTINGS.minSamples }),
  onInconclusive: field.choice(["wait", "approve", "reject"] as const, "wait"),
  enforce: field.boolean(true),
};

export interface TelemetrySettings {
  connectionType: "ev2" | "azureRM";
  azureSubscription?: string;
  telemetryWorkspaceId?: string;
  telemetryConnection?: string;
  telemetryEndpoint?: string;
  telemetryQuery?: string;
  telemetryRegionColumn?: string;
  telemetryVersionColumn?: string;
  telemetryVersion?: string;
  telemetryRegions?: string;
  telemetryBaseline: BaselineKind;
  telemetryWindowMinutes: number;
  telemetryThresholds: string[];
  latencyTolerance: number;
  errorRateTolerance: number;
  minSamples: number;
  onInconclusive: "wait" | "approve" | "reject";
  enforce: boolean;
}

function regionList(text: string | undefined): string[] {
  return (text ?? "")
    .split(/[\s,;]+/)
    .map((r) => r.trim())
    .filter(Boolean);
}

/** Cross-input rules of the telemetry inputs, for `readInputs`' `check`. */
export function checkTelemetry(s: TelemetrySettings): Array<[string, string]> {
  if (!s.telemetryWorkspaceId) return [];
  const problems: Array<[string, string]> = [];
  if (!s.telemetryConnection && !(s.connectionType === "azureRM" && s.azureSubscription))
    problems.push([
      "telemetryConnection",
      "is required with telemetryWorkspaceId (unless connectionType is azureRM): an Azure Resource Manager service connection whose identity may read the workspace (Log Analytics Reader)",
    ]);
  for (const name of ["telemetryRegionColumn", "telemetryVersionColumn"] as const) {
    const problem = columnProblem(s[name] ?? "");
    if (problem) problems.push([name, `${problem} (got ${JSON.stringify(s[name])})`]);
  }
  const bad = regionList(s.telemetryRegions).find((r) => !REGION.test(r));
  if (bad !== undefined)
    problems.push([
      "telemetryRegions",
      `must be region names separated by commas or new lines, such as eastus, westeurope (got ${JSON.stringify(bad)})`,
    ]);
  return problems;
}

/** Reads the requests of both sides and judges them; throws on a query that fails (the gate decides nothing). */
export async function judgeTelemetry(
  agent: TaskAgent,
  s: TelemetrySettings & { telemetryWorkspaceId: string },
  rollout: Rollout,
  http: HttpClientOptions,
  now = new Date(),
): Promise<TelemetryEvidence> {
  const endpoint = (s.telemetryEndpoint ?? DEFAULT_LOG_ANALYTICS_ENDPOINT).replace(/\/+$/, "");
  const connection = s.telemetryConnection ?? s.azureSubscription!;
  const client = new LogAnalyticsClient({
    ...http,
    endpoint,
    workspaceId: s.telemetryWorkspaceId,
    getToken: azureRmTokenProvider(
      agent,
      connection,
      logAnalyticsScope(endpoint),
      http,
      "telemetryConnection",
    ),
  });
  const newVersion = s.telemetryVersion || rollout.artifactVersionNumber;
  const regions = regionList(s.telemetryRegions);
  if (regions.length === 0) regions.push(...newRegionsOf(rollout));
  const windowMs = s.telemetryWindowMinutes * 60_000;
  const thresholds = s.telemetryThresholds
    .map((l, i) => parseThresholdLine(l, i + 1))
    .filter(Boolean) as StressThreshold[];
  const judge = new TelemetryJudge(
    {
      alpha: DEFAULT_JUDGE_SETTINGS.alpha,
      latencyTolerance: s.latencyTolerance,
      errorRateTolerance: s.errorRateTolerance,
      minSamples: s.minSamples,
      thresholds,
      windowSeconds: windowMs / 1000,
      seed: 1,
    },
    s.telemetryBaseline,
  );
  const columns = {
    regionColumn: s.telemetryRegionColumn ?? DEFAULT_REGION_COLUMN,
    versionColumn: s.telemetryVersionColumn ?? DEFAULT_VERSION_COLUMN,
  };
  const fresh: Omit<RequestQueryParameters, "regionColumn" | "versionColumn"> = {
    start: new Date(now.getTime() - windowMs),
    end: now,
    regions,
    versions: { in: [newVersion] },
  };
  const rolloutStart = new Date(rollout.createdTimestamp);
  const base: typeof fresh =
    s.telemetryBaseline === "previousVersion"
      ? {
          start: new Date(rolloutStart.getTime() - windowMs),
          end: rolloutStart,
          regions,
          versions: { notIn: [newVersion] },
        }
      : { ...fresh, regions: [], versions: { notIn: [newVersion] } };
  const judged = new Set(regions.map((r) => r.toLowerCase()));
  const queries: TelemetryQueryRun[] = [];
  for (const [side, p] of [
    ["new", fresh],
    ["baseline", base],
  ] as const) {
    if (regions.length === 0) break;
    const query = s.telemetryQuery
      ? customRequestQuery(s.telemetryQuery, p)
      : requestQuery({ ...p, ...columns });
    const timespan = timespanOf(p.start, p.end);
    agent.info(
      `Telemetry: querying the ${side === "new" ? `requests of ${newVersion}` : "baseline's requests"} in ${timespan}.`,
    );
    const table = await client.query(query, timespan, agent.cancellation);
    let rows = 0;
    for (const row of requestRows(table)) {
      // A custom query may answer more than it was asked: each side keeps only its own requests.
      const isNew = row.version === newVersion;
      if (side === "new") {
        if (!isNew || !judged.has(row.region.toLowerCase())) continue;
        judge.addNew(row);
      } else {
        if (isNew) continue;
        const inJudged = judged.has(row.region.toLowerCase());
        if (s.telemetryBaseline === "previousVersion" ? !inJudged : inJudged) continue;
        judge.addBaseline(row);
      }
      rows++;
    }
    queries.push({ side, query, timespan, rows });
  }
  const verdict = judge.verdict(regions);
  return {
    verdict: verdict.verdict,
    enforced: s.enforce,
    summary: regions.length
      ? verdict.summary
      : "Inconclusive: no region of the rollout has completed, so there is nothing to judge",
    workspaceId: s.telemetryWorkspaceId,
    endpoint,
    newVersion,
    baseline: s.telemetryBaseline,
    queries,
    settings: {
      alpha: DEFAULT_JUDGE_SETTINGS.alpha,
      latencyTolerance: s.latencyTolerance,
      errorRateTolerance: s.errorRateTolerance,
      minSamples: s.minSamples,
      thresholds: s.telemetryThresholds,
    },
    regions: verdict.regions,
  };
}
