/**
 * GateApproval's telemetry inputs and their checks: light, so a run reads and validates them
 * without loading the query client or the judge (shared/gate/telemetry.ts, loaded on use).
 */
import { field } from "../agent/inputs";
import { parseThresholdLine, ThresholdSyntaxError } from "../stress/thresholds";
import { DEFAULT_LOG_ANALYTICS_ENDPOINT } from "../telemetry/log-analytics";
import {
  COLUMN_FORMS,
  columnProblem,
  DEFAULT_REGION_COLUMN,
  DEFAULT_VERSION_COLUMN,
} from "../telemetry/query";
import { DEFAULT_JUDGE_SETTINGS, telemetryThresholdProblem, type BaselineKind } from "../telemetry/settings";

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

export function regionList(text: string | undefined): string[] {
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
