/**
 * Production telemetry as gate evidence: the requests of the regions just deployed, on the new
 * version, from Application Insights (Log Analytics), judged per region against a baseline (see
 * shared/telemetry/judge.ts). What it found, and how (each query, its time span, each test), is
 * kept whole for the record, the report and the summary.
 */
import type { TaskAgent } from "../agent/agent";
import { azureRmTokenProvider } from "../ev2/connection";
import type { Rollout } from "../ev2/schemas";
import type { HttpClientOptions } from "../http/request";
import { newRegionsOf } from "../rollout/new-regions";
import { parseThresholdLine, type StressThreshold } from "../stress/thresholds";
import { type TelemetryEvidence, type TelemetryQueryRun } from "../telemetry/evidence";
import { TelemetryJudge } from "../telemetry/judge";
import {
  DEFAULT_LOG_ANALYTICS_ENDPOINT,
  LogAnalyticsClient,
  logAnalyticsScope,
} from "../telemetry/log-analytics";
import {
  customRequestQuery,
  DEFAULT_REGION_COLUMN,
  DEFAULT_VERSION_COLUMN,
  requestQuery,
  timespanOf,
  type RequestQueryParameters,
} from "../telemetry/query";
import { DEFAULT_JUDGE_SETTINGS } from "../telemetry/settings";
import { regionList, type TelemetrySettings } from "./telemetry-inputs";

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
    let rows = 0;
    // Rows are judged as the answer arrives: memory does not grow with them.
    await client.queryRequests(
      query,
      timespan,
      (row) => {
        // A custom query may answer more than it was asked: each side keeps only its own requests.
        const isNew = row.version === newVersion;
        if (side === "new") {
          if (!isNew || !judged.has(row.region.toLowerCase())) return;
          judge.addNew(row);
        } else {
          if (isNew) return;
          const inJudged = judged.has(row.region.toLowerCase());
          if (s.telemetryBaseline === "previousVersion" ? !inJudged : inJudged) return;
          judge.addBaseline(row);
        }
        rows++;
      },
      agent.cancellation,
    );
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
