/**
 * Bad input table: every input of every task with wrong values. Each row must fail the task with
 * a message that names the input (`Input '<name>'`) and says what a valid value looks like, and
 * nothing may leave the task: the EV2 simulator, Azure DevOps, the Teams sink and the load
 * target record no request. The table is data: adding a case is adding a line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTargetService, type TargetService } from "../../sim/target-service";
import { runBuiltTask, type TaskRunSetup } from "../support/run-built-task";
import {
  chaosCounts,
  flowSetup,
  manifestInputs,
  registerCountsReport,
  rolloutInputs,
  startFlowServices,
  nodeTasks,
  type FlowServices,
} from "./chaos-support";

registerCountsReport();

// Files the rows point at.
const dir = mkdtempSync(join(tmpdir(), "chaos-bad-input-"));
const missingFile = join(dir, "does-not-exist", "result.json");
const notJson = join(dir, "broken.json");
writeFileSync(notJson, '{"schemaVersion": 1, "passed": tru');
const notYaml = join(dir, "endpoints.yaml");
writeFileSync(notYaml, "endpoints:\n  - url: [unclosed\n    method: GET\n");
const wrongShape = join(dir, "not-a-result.json");
writeFileSync(wrongShape, JSON.stringify({ kind: "somethingElse", schemaVersion: 7 }));
const long = (n: number) => "a".repeat(n);

interface BadInput {
  task: string;
  /** The input the row gets wrong: the message must name it. */
  input: string;
  /** Overrides over the task's valid inputs (undefined removes one). */
  inputs: TaskRunSetup["inputs"];
  /** What the message must also say: the problem and the valid form. */
  says: RegExp;
  variables?: Record<string, string | undefined>;
  /** A secret the message must not repeat. */
  secret?: string;
}

/** Valid inputs of each task: a row changes only what it is about. */
function validInputs(
  task: string,
  s: FlowServices,
  target: TargetService | undefined,
): TaskRunSetup["inputs"] {
  switch (task) {
    case "TriggerEv2Rollout":
      return rolloutInputs;
    case "FollowRollout":
      return { rolloutId: "r-1" };
    case "GateApproval":
      return { rolloutId: "r-1", decision: "approve" };
    case "TeamsNotify":
      return { rolloutId: "r-1", webhookUrl: s.sink.url };
    case "StressTestStage":
      return { endpoints: `${target?.url}/eastus/api/orders`, durationSeconds: "1" };
    default:
      throw new Error(`no valid inputs for ${task}`);
  }
}

const ev2Tasks = ["TriggerEv2Rollout", "FollowRollout", "GateApproval", "TeamsNotify", "StressTestStage"];
const azureRm = {
  connectionType: "azureRM",
  ev2Connection: undefined,
  azureSubscription: "arm",
  ev2Url: "https://ev2.contoso.com",
  ev2Scope: "https://ev2.contoso.com/.default",
};

/** Wrong values of the connection inputs every EV2 task has. */
function connectionRows(task: string): BadInput[] {
  // prettier-ignore
  return [
    { task, input: "connectionType", inputs: { connectionType: "basic" }, says: /must be one of ev2, azureRM \(got "basic"\)/ },
    { task, input: "ev2Connection", inputs: { ev2Connection: "" }, says: /is required when connectionType is ev2: the name or id of an EV2 service connection/ },
    { task, input: "ev2Connection", inputs: { ev2Connection: "no-such-connection" }, says: /service connection 'no-such-connection' has no server URL/ },
    { task, input: "azureSubscription", inputs: { ...azureRm, azureSubscription: "" }, says: /is required when connectionType is azureRM: an Azure Resource Manager service connection/ },
    { task, input: "ev2Url", inputs: { ...azureRm, ev2Url: "ftp://ev2.contoso.com" }, says: /must be an http\(s\) URL such as https:\/\/ev2\.contoso\.com/ },
    { task, input: "ev2Url", inputs: { ...azureRm, ev2Url: "" }, says: /is required when connectionType is azureRM: the EV2 base URL, e\.g\. https:\/\/ev2\.contoso\.com/ },
    { task, input: "ev2Scope", inputs: { ...azureRm, ev2Scope: "" }, says: /is required when connectionType is azureRM: the token scope or resource, e\.g\. https:\/\/ev2\.contoso\.com\/\.default/ },
  ];
}

/** What makes a task use its connection: StressTestStage only talks to EV2 to cancel the rollout. */
const usesConnection: Record<string, TaskRunSetup["inputs"]> = {
  StressTestStage: { onThresholdFailure: "cancelRollout", rolloutId: "r-1" },
};

// One row a case (prettier would spread each over five lines).
// prettier-ignore
const table: BadInput[] = [
  // The connection inputs, in every task that talks to EV2.
  ...ev2Tasks.flatMap((task): BadInput[] =>
    connectionRows(task).map((row) => ({ ...row, inputs: { ...usesConnection[task], ...row.inputs } })),
  ),

  // TriggerEv2Rollout
  ...(["serviceGroupName", "serviceId", "stageMapName", "environment"] as const).flatMap(
    (input): BadInput[] => [
      { task: "TriggerEv2Rollout", input, inputs: { [input]: "" }, says: /is required, for example "/ },
      { task: "TriggerEv2Rollout", input, inputs: { [input]: "has spaces/and slashes" }, says: /must be letters, digits, '\.', '_' or '-' \(got "has spaces\/and slashes"\)/ },
    ],
  ),
  { task: "TriggerEv2Rollout", input: "serviceGroupName", inputs: { serviceGroupName: long(300) }, says: /must be at most 256 characters \(got 300\)/ },
  { task: "TriggerEv2Rollout", input: "environment", inputs: { environment: long(65) }, says: /must be at most 64 characters/ },
  { task: "TriggerEv2Rollout", input: "artifactVersion", inputs: { artifactVersion: "1.2 3" }, says: /must be latest, lastSucceeded, previous or a version such as 1\.2\.3/ },
  { task: "TriggerEv2Rollout", input: "stageMapVersion", inputs: { stageMapVersion: "v 2" }, says: /must be latest or a version such as v2/ },
  { task: "TriggerEv2Rollout", input: "selectionScope", inputs: { selectionScope: "regions(eastus).steps(*)" }, says: /line 1 .*four parts.*a valid scope looks like regions\(eastus,westus\)\.steps\(\*\)\.stamps\(\*\)\.actions\(\*\)/ },
  { task: "TriggerEv2Rollout", input: "selectionScope", inputs: { selectionScope: "regions(*).steps(*).stamps(*).actions(*)\nregion(eastus).steps(*).stamps(*).actions(*)" }, says: /line 2 .*must be regions\(\.\.\.\), found region\(\.\.\.\).*a valid scope looks like/ },
  { task: "TriggerEv2Rollout", input: "selectionScope", inputs: { selectionScope: "regions(east us).steps(*).stamps(*).actions(*)" }, says: /regions\(east us\) must be \* or comma-separated names/ },
  { task: "TriggerEv2Rollout", input: "selectionScope", inputs: { selectionScope: "regions().steps(*).stamps(*).actions(*)" }, says: /regions\(\) must be \* or comma-separated names/ },
  { task: "TriggerEv2Rollout", input: "exclusionScope", inputs: { exclusionScope: "everything but eastus" }, says: /line 1 .*four parts.*a valid scope looks like/ },
  { task: "TriggerEv2Rollout", input: "onConcurrentRollout", inputs: { onConcurrentRollout: "wait" }, says: /must be one of fail, follow \(got "wait"\)/ },
  { task: "TriggerEv2Rollout", input: "idempotencyKey", inputs: { idempotencyKey: "has spaces" }, says: /must be 1 to 128 characters of A-Z a-z 0-9 \. _ : \/ -/ },
  { task: "TriggerEv2Rollout", input: "idempotencyKey", inputs: { idempotencyKey: long(129) }, says: /must be 1 to 128 characters/ },
  { task: "TriggerEv2Rollout", input: "createTrackingBranch", inputs: { createTrackingBranch: "yes" }, says: /must be true or false \(got "yes"\)/ },
  { task: "TriggerEv2Rollout", input: "trackingBranch", inputs: { createTrackingBranch: "true", trackingBranch: "ev2/{nope}" }, says: /\{nope\}.*(valid|Valid) tokens/, variables: { "Build.SourceVersion": "abc", "Build.Repository.ID": "repo" } },
  { task: "TriggerEv2Rollout", input: "trackingBranch", inputs: { createTrackingBranch: "true", trackingBranch: "ev2/{environment" }, says: /'\{' or '\}' that is not part of a token\. Valid tokens/, variables: { "Build.SourceVersion": "abc", "Build.Repository.ID": "repo" } },
  { task: "TriggerEv2Rollout", input: "repository", inputs: { createTrackingBranch: "true" }, says: /is required when the pipeline has no repository of its own/, variables: { "Build.SourceVersion": "abc" } },
  { task: "TriggerEv2Rollout", input: "rollbackOf", inputs: { rollbackOf: "not an id!" }, says: /must be the rollout id to cancel, e\.g\. \$\(trigger\.rolloutId\)/ },
  { task: "TriggerEv2Rollout", input: "badVerdictAt", inputs: { badVerdictAt: "yesterday" }, says: /must be an ISO 8601 time such as 2026-11-22T10:15:00Z/ },

  // FollowRollout
  { task: "FollowRollout", input: "rolloutId", inputs: { rolloutId: "../rollouts/x" }, says: /must be an EV2 rollout id such as \$\(trigger\.rolloutId\)/ },
  { task: "FollowRollout", input: "rolloutId", inputs: { rolloutId: "$(trigger.rolloutId)" }, says: /holds \$\(trigger\.rolloutId\): that variable is not defined in this run/ },
  { task: "FollowRollout", input: "until", inputs: { until: "forever" }, says: /must be one of completion, stage, waitAction \(got "forever"\)/ },
  { task: "FollowRollout", input: "stageName", inputs: { until: "stage" }, says: /is required when until is stage: the name of the stage that must complete, e\.g\. Stage2-WestUS/ },
  { task: "FollowRollout", input: "pollingIntervalSeconds", inputs: { pollingIntervalSeconds: "0" }, says: /must be a whole number from 1 to 300 seconds \(got 0\)/ },
  { task: "FollowRollout", input: "pollingIntervalSeconds", inputs: { pollingIntervalSeconds: "5.5" }, says: /must be a whole number from 1 to 300 seconds \(got "5\.5"\)/ },
  { task: "FollowRollout", input: "pollingIntervalSeconds", inputs: { pollingIntervalSeconds: "thirty" }, says: /must be a whole number from 1 to 300 seconds/ },
  { task: "FollowRollout", input: "timeoutMinutes", inputs: { timeoutMinutes: "-1" }, says: /must be a number from 0 to 10080 minutes/ },
  { task: "FollowRollout", input: "timeoutMinutes", inputs: { timeoutMinutes: "99999999999999999999" }, says: /must be a number from 0 to 10080 minutes/ },
  { task: "FollowRollout", input: "onFailure", inputs: { onFailure: "retry" }, says: /must be one of fail, cancelRollout/ },
  { task: "FollowRollout", input: "restartFailed", inputs: { restartFailed: "maybe" }, says: /must be true or false/ },
  { task: "FollowRollout", input: "onPipelineCancel", inputs: { onPipelineCancel: "ignore" }, says: /must be one of leaveRunning, cancelRollout/ },
  { task: "FollowRollout", input: "rollbackOf", inputs: { rollbackOf: "bad id!" }, says: /Input 'rollbackOf' must be / },
  { task: "FollowRollout", input: "timeToSafetySeconds", inputs: { timeToSafetySeconds: "soon" }, says: /must be a number from 0 to 604800 seconds \(got "soon"\)/ },

  // GateApproval
  { task: "GateApproval", input: "rolloutId", inputs: { rolloutId: "r 1" }, says: /must be an EV2 rollout id such as/ },
  { task: "GateApproval", input: "actionId", inputs: { actionId: "wait 1" }, says: /must be a wait action id such as wait-1/ },
  { task: "GateApproval", input: "decision", inputs: { decision: "maybe" }, says: /must be one of approve, reject, evaluate/ },
  { task: "GateApproval", input: "comment", inputs: { comment: long(2001) }, says: /must be at most 2000 characters/ },
  { task: "GateApproval", input: "evidence", inputs: { decision: "evaluate", evidence: missingFile }, says: /line 1 .*does not exist \(give the resultFile output of a StressTestStage step\)/ },
  { task: "GateApproval", input: "evidence", inputs: { decision: "evaluate", evidence: notJson }, says: /line 1 .*is not JSON: expected a StressTestStage result file/ },
  { task: "GateApproval", input: "evidence", inputs: { decision: "evaluate", evidence: wrongShape }, says: /is not a StressTestStage result \(kind stressTestResult, schemaVersion 1\)/ },
  { task: "GateApproval", input: "evidence", inputs: { decision: "evaluate", evidence: dir }, says: /line 1 .*StressTestStage result/ },
  { task: "GateApproval", input: "healthProbes", inputs: { decision: "evaluate", healthProbes: "ftp://orders/health" }, says: /line 1 .*must be an http\(s\) URL such as https:\/\/orders-eastus\.contoso\.com\/health/ },
  { task: "GateApproval", input: "healthProbes", inputs: { decision: "evaluate", healthProbes: "https://orders/health and more" }, says: /must be an http\(s\) URL/ },
  { task: "GateApproval", input: "healthProbes", inputs: { decision: "evaluate", healthProbes: "https://orders/health < 90s" }, says: /optionally with a latency limit \(default 5 s\)/ },
  { task: "GateApproval", input: "waitTimeoutMinutes", inputs: { waitTimeoutMinutes: "5000" }, says: /must be a number from 0 to 1440 minutes/ },
  { task: "GateApproval", input: "requireApproval", inputs: { requireApproval: "perhaps" }, says: /must be true or false/ },
  { task: "GateApproval", input: "pollingIntervalSeconds", inputs: { pollingIntervalSeconds: "0.5" }, says: /must be a whole number from 1 to 300 seconds/ },
  { task: "GateApproval", input: "onUnhealthy", inputs: { decision: "evaluate", onUnhealthy: "shrug" }, says: /must be one of reject, leaveWaiting, fail/ },
  { task: "GateApproval", input: "telemetryWorkspaceId", inputs: { decision: "evaluate", telemetryWorkspaceId: "my-workspace" }, says: /must be the Log Analytics workspace's Workspace ID, a GUID/ },
  { task: "GateApproval", input: "telemetryConnection", inputs: { decision: "evaluate", telemetryWorkspaceId: "0b7c2c5e-1111-4222-8333-444455556666" }, says: /'telemetryConnection' is required with telemetryWorkspaceId/ },
  { task: "GateApproval", input: "telemetryEndpoint", inputs: { decision: "evaluate", telemetryEndpoint: "ftp://api.loganalytics.io" }, says: /must be the Log Analytics API's base URL/ },
  { task: "GateApproval", input: "telemetryRegionColumn", inputs: { decision: "evaluate", telemetryWorkspaceId: "0b7c2c5e-1111-4222-8333-444455556666", telemetryConnection: "arm", telemetryRegionColumn: "region; drop" }, says: /'telemetryRegionColumn' .*\(got "region; drop"\)/ },
  { task: "GateApproval", input: "telemetryVersionColumn", inputs: { decision: "evaluate", telemetryWorkspaceId: "0b7c2c5e-1111-4222-8333-444455556666", telemetryConnection: "arm", telemetryVersionColumn: "v|x" }, says: /'telemetryVersionColumn' .*\(got "v\|x"\)/ },
  { task: "GateApproval", input: "telemetryVersion", inputs: { decision: "evaluate", telemetryVersion: long(129) }, says: /must be at most 128 characters/ },
  { task: "GateApproval", input: "telemetryRegions", inputs: { decision: "evaluate", telemetryWorkspaceId: "0b7c2c5e-1111-4222-8333-444455556666", telemetryConnection: "arm", telemetryRegions: "eastus, west/europe" }, says: /must be region names separated by commas or new lines/ },
  { task: "GateApproval", input: "telemetryBaseline", inputs: { decision: "evaluate", telemetryBaseline: "yesterday" }, says: /must be one of previousVersion, otherRegions/ },
  { task: "GateApproval", input: "telemetryWindowMinutes", inputs: { decision: "evaluate", telemetryWindowMinutes: "0" }, says: /must be a number from 1 to 1440 minutes/ },
  { task: "GateApproval", input: "telemetryQuery", inputs: { decision: "evaluate", telemetryQuery: long(20001) }, says: /must be at most 20000 characters/ },
  { task: "GateApproval", input: "telemetryThresholds", inputs: { decision: "evaluate", telemetryThresholds: "p95 < soon" }, says: /'telemetryThresholds' line 1 "p95 < soon"/ },
  { task: "GateApproval", input: "latencyTolerance", inputs: { decision: "evaluate", latencyTolerance: "0.5" }, says: /must be a number from 1 to 10/ },
  { task: "GateApproval", input: "errorRateTolerance", inputs: { decision: "evaluate", errorRateTolerance: "101" }, says: /must be a number from 0 to 100 percentage points/ },
  { task: "GateApproval", input: "minSamples", inputs: { decision: "evaluate", minSamples: "5" }, says: /must be a whole number from 10 to 1000000/ },
  { task: "GateApproval", input: "onInconclusive", inputs: { decision: "evaluate", onInconclusive: "later" }, says: /must be one of wait, approve, reject/ },
  { task: "GateApproval", input: "enforce", inputs: { decision: "evaluate", enforce: "maybe" }, says: /must be true or false/ },

  // TeamsNotify
  { task: "TeamsNotify", input: "webhookUrl", inputs: { webhookUrl: "" }, says: /is required \(pass it as a secret variable/ },
  { task: "TeamsNotify", input: "webhookUrl", inputs: { webhookUrl: "not a url sig=s3cr3t-not-a-url" }, says: /is not a valid URL .*Expected a Teams Workflows webhook URL/, secret: "s3cr3t-not-a-url" },
  { task: "TeamsNotify", input: "webhookUrl", inputs: { webhookUrl: "http://prod-00.westus.logic.azure.com/workflows/x?sig=s3cr3t-plain-http" }, says: /must be an https:\/\/ URL/, secret: "s3cr3t-plain-http" },
  { task: "TeamsNotify", input: "webhookUrl", inputs: { webhookUrl: "https://user:s3cr3t-pw@prod-00.westus.logic.azure.com/workflows/x" }, says: /must not contain a user name or password/, secret: "s3cr3t-pw" },
  { task: "TeamsNotify", input: "notification", inputs: { notification: "sometimes" }, says: /must be one of auto, started, stageCompleted/ },
  { task: "TeamsNotify", input: "rolloutId", inputs: { rolloutId: "bad id!" }, says: /must be an EV2 rollout id such as \$\(trigger\.rolloutId\)/ },
  { task: "TeamsNotify", input: "stressResultFile", inputs: { notification: "stressTest" }, says: /is required when notification is stressTest: the result file of a StressTestStage step/ },
  { task: "TeamsNotify", input: "stressResultFile", inputs: { notification: "stressTest", stressResultFile: missingFile }, says: /cannot be read: .* does not exist\. Give the resultFile output of a StressTestStage step/ },
  { task: "TeamsNotify", input: "stressResultFile", inputs: { notification: "stressTest", stressResultFile: notJson }, says: /is not a StressTestStage result \(schemaVersion 1\)/ },
  { task: "TeamsNotify", input: "rollbackOf", inputs: { notification: "rolledBack" }, says: /is required when notification is rolledBack: the id of the rollout that was rolled back/ },
  { task: "TeamsNotify", input: "rollbackOf", inputs: { rollbackOf: "bad id!" }, says: /must be the EV2 rollout id that was rolled back, such as \$\(badRolloutId\)/ },
  { task: "TeamsNotify", input: "timeToSafetySeconds", inputs: { timeToSafetySeconds: "soon" }, says: /must be a number from 0 to 604800 seconds \(got "soon"\)/ },
  { task: "TeamsNotify", input: "timeToSafetySeconds", inputs: { timeToSafetySeconds: "-3" }, says: /must be a number from 0 to 604800 seconds \(got -3\)/ },
  { task: "TeamsNotify", input: "failOnError", inputs: { failOnError: "sometimes" }, says: /must be true or false/ },
  { task: "TeamsNotify", input: "telemetryResultFile", inputs: { telemetryResultFile: missingFile }, says: /'telemetryResultFile' cannot be used: .* does not exist\. Give the telemetryResultFile output of a GateApproval step/ },
  { task: "TeamsNotify", input: "telemetryResultFile", inputs: { telemetryResultFile: notJson }, says: /'telemetryResultFile' cannot be used: / },

  // StressTestStage (joins when its bundle is built; the valid forms follow shared/stress)
  { task: "StressTestStage", input: "mode", inputs: { mode: "replay" }, says: /must be one of run, merge/ },
  { task: "StressTestStage", input: "endpoints", inputs: { endpoints: "ftp://orders/api" }, says: /only http and https URLs can be loaded/ },
  { task: "StressTestStage", input: "endpoints", inputs: { endpoints: "not a url at all" }, says: /expected one URL a line/ },
  { task: "StressTestStage", input: "endpointsFile", inputs: { endpoints: undefined, endpointsFile: missingFile }, says: /does not exist/ },
  { task: "StressTestStage", input: "endpointsFile", inputs: { endpoints: undefined, endpointsFile: notYaml }, says: /not valid JSON or YAML/ },
  { task: "StressTestStage", input: "endpointsFile", inputs: { endpoints: undefined, endpointsFile: notJson }, says: /not valid JSON or YAML/ },
  { task: "StressTestStage", input: "region", inputs: { region: "east us" }, says: /must be a region name such as eastus, or a comma-separated list such as eastus,westus \(got "east us"\)/ },
  { task: "StressTestStage", input: "region", inputs: { region: long(300) }, says: /must be at most \d+ characters/ },
  { task: "StressTestStage", input: "stage", inputs: { stage: "Stage 1" }, says: /must be a stage name of letters, digits, '\.', '_' or '-', such as Stage1-Canary/ },
  { task: "StressTestStage", input: "stage", inputs: { stage: long(300) }, says: /must be at most \d+ characters/ },
  { task: "StressTestStage", input: "resultFiles", inputs: { mode: "merge", endpoints: undefined, resultFiles: missingFile }, says: /line 1 ".*" matches no file .*give the result files of the parallel jobs/ },
  { task: "StressTestStage", input: "resultFiles", inputs: { mode: "merge", endpoints: undefined, resultFiles: notJson }, says: /not JSON/ },
  { task: "StressTestStage", input: "resultFiles", inputs: { mode: "merge", endpoints: undefined }, says: /is required when mode is merge/ },
  { task: "StressTestStage", input: "connections", inputs: { connections: "0" }, says: /a whole number from 1 to 1000/ },
  { task: "StressTestStage", input: "connections", inputs: { connections: "lots" }, says: /a whole number from 1 to 1000/ },
  { task: "StressTestStage", input: "rate", inputs: { rate: "-5" }, says: /greater than 0 and at most 100000/ },
  { task: "StressTestStage", input: "durationSeconds", inputs: { durationSeconds: "601" }, says: /greater than 0 and at most 600/ },
  { task: "StressTestStage", input: "warmupSeconds", inputs: { warmupSeconds: "-1" }, says: /from 0 to 300/ },
  { task: "StressTestStage", input: "timeoutMs", inputs: { timeoutMs: "0" }, says: /from 1 to 600000/ },
  { task: "StressTestStage", input: "requests", inputs: { requests: "1.5" }, says: /a whole number from 1 to 60000000/ },
  { task: "StressTestStage", input: "pipelining", inputs: { pipelining: "17" }, says: /a whole number from 1 to 16/ },
  { task: "StressTestStage", input: "readinessTimeoutSeconds", inputs: { readinessTimeoutSeconds: "3601" }, says: /from 0 to 3600/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "p95 < fast" }, says: /line 1 "p95 < fast": not a threshold; valid forms: '<metric> <op> <value><unit>'/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "error_rate < 1%\np95 = 500ms" }, says: /line 2 "p95 = 500ms": "=" is not an operator here \(use <, <=, > or >=\); valid forms/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "health: p95 < 200ms" }, says: /"health" is none of the endpoints loaded/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "error_rate < 150%" }, says: /at most 100%/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "error_rate < 1% abort" }, says: /line 1 "error_rate < 1% abort": "abort" needs a window to watch: write e.g. error_rate < 1% over 30s abort; valid forms/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "error_rate < 1% over 30 abort" }, says: /the window "30" needs a unit, s or m \(e\.g\. over 30s\)/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "p95 < 1.2x baseline over 30s" }, says: /a sliding window takes a fixed limit, not the baseline/ },
  { task: "StressTestStage", input: "thresholds", inputs: { thresholds: "error_rate < 1% over 1m abort", durationSeconds: "30" }, says: /the 60 s window is longer than the run \(durationSeconds 30\), so it could never fill/ },
  { task: "StressTestStage", input: "baselineFile", inputs: { baselineFile: missingFile }, says: /cannot be read: .* does not exist\. Give the result file of an earlier StressTestStage run/ },
  { task: "StressTestStage", input: "baselineFile", inputs: { baselineFile: notJson }, says: /not JSON/ },
  { task: "StressTestStage", input: "baselineFile", inputs: { baselineFile: dir }, says: /is a folder; give the result file of an earlier StressTestStage run/ },
  { task: "StressTestStage", input: "useAgentProxy", inputs: { useAgentProxy: "sometimes" }, says: /must be true or false/ },
  { task: "StressTestStage", input: "publishBaseline", inputs: { publishBaseline: "often" }, says: /must be true or false \(got "often"\)/ },
  { task: "StressTestStage", input: "onThresholdFailure", inputs: { onThresholdFailure: "panic" }, says: /must be one of fail, warn, cancelRollout/ },
  { task: "StressTestStage", input: "rolloutId", inputs: { onThresholdFailure: "cancelRollout", rolloutId: "r 1" }, says: /must be an EV2 rollout id such as \$\(trigger\.rolloutId\)/ },
];

/** Inputs where any value is valid; the table cannot get them wrong. */
const anyValueIsValid: Record<string, string[]> = {
  StressTestStage: ["bearerToken"],
};

describe("chaos: bad input table — every input of every task", function () {
  this.timeout(60_000);
  let services: FlowServices;
  let target: TargetService | undefined;
  before(async () => {
    services = await startFlowServices({ clockSpeed: 0 });
    target = await startTargetService();
  });
  after(async () => {
    await services.close();
    await target?.close();
  });

  it("the table has a row for every input of every task", () => {
    for (const task of nodeTasks) {
      const covered = new Set(table.filter((r) => r.task === task).map((r) => r.input));
      const missing = [...manifestInputs(task)].filter(
        (name) => !covered.has(name) && !anyValueIsValid[task]?.includes(name),
      );
      assert.deepEqual(missing, [], `${task} inputs with no bad-input row`);
      for (const name of covered) assert.ok(manifestInputs(task).has(name), `${task} has no input ${name}`);
    }
  });

  for (const row of table) {
    const shown = Object.entries(row.inputs ?? {})
      .map(([k, v]) => {
        const value = v === undefined ? "(unset)" : String(v).replace(dir, "<tmp>");
        return `${k}=${JSON.stringify(value.length > 40 ? `${value.slice(0, 12)}…(${value.length} chars)` : value)}`;
      })
      .join(" ");
    const title = `${row.task} ${row.input}: ${shown}`;
    it(title, async () => {
      const sent = () => [
        services.sim.requests.length,
        services.ado.requests.length,
        services.sink.received.length,
        target?.stats().requests ?? 0,
      ];
      const before = sent();
      const inputs = { ...validInputs(row.task, services, target), ...row.inputs };
      const run = await runBuiltTask(
        row.task,
        flowSetup(services, inputs, { variables: row.variables, timeoutMs: 20_000 }),
      );
      chaosCounts.badInputCases++;
      assert.equal(run.result?.result, "Failed", run.stdout);
      const message = run.result!.message;
      assert.match(message, new RegExp(`Input '${row.input}'`), message);
      assert.match(message, row.says, message);
      assert.doesNotMatch(message, /undefined|\[object Object\]|TypeError/, message);
      if (row.secret) assert.ok(!run.visibleText.includes(row.secret), "the secret is repeated");
      const [ev2, ado, teams, load] = sent().map((n, i) => n - before[i]);
      assert.deepEqual(
        { ev2, ado, teams, load },
        { ev2: 0, ado: 0, teams: 0, load: 0 },
        "requests that left the task",
      );
    });
  }
});

/**
 * Valid but extreme inputs: the longest or largest values the inputs allow must work (or fail
 * with EV2's own answer), never crash on the way. Each row names what it expects.
 */
describe("chaos: valid inputs at their limits", function () {
  this.timeout(60_000);
  let services: FlowServices;
  let target: TargetService | undefined;
  beforeEach(async () => {
    services = await startFlowServices({ clockSpeed: 0 });
  });
  afterEach(() => services.close());
  before(async () => {
    target = await startTargetService();
  });
  after(() => target?.close());

  /** The regions of a 20-region stage, as FollowRollout's deployedRegions output lists them. */
  const twentyRegions =
    "eastus,eastus2,westus,westus2,westus3,centralus,northcentralus,southcentralus,westcentralus,canadacentral,canadaeast,brazilsouth,northeurope,westeurope,uksouth,ukwest,francecentral,germanywestcentral,swedencentral,southeastasia";

  const rows: Array<{
    what: string;
    task: string;
    inputs: (s: FlowServices, rolloutId: string) => TaskRunSetup["inputs"];
    result: "Succeeded" | "Failed";
    says?: RegExp;
    /** Start a rollout and take it to its gate first. */
    atGate?: boolean;
  }> = [
    {
      what: "a 128-character idempotency key",
      task: "TriggerEv2Rollout",
      inputs: () => ({ ...rolloutInputs, idempotencyKey: `k:${long(126)}` }),
      result: "Succeeded",
    },
    {
      what: "a 256-character service group EV2 does not know",
      task: "TriggerEv2Rollout",
      inputs: () => ({ ...rolloutInputs, serviceGroupName: long(256) }),
      result: "Failed",
      says: /ServiceNotFound/,
    },
    {
      what: "a 128-character rollout id EV2 does not know",
      task: "FollowRollout",
      inputs: () => ({ rolloutId: long(128) }),
      result: "Failed",
      says: /RolloutNotFound|not found/i,
    },
    {
      what: "a 2000-character comment with non-ASCII text",
      task: "GateApproval",
      inputs: (_s, rolloutId) => ({
        rolloutId,
        decision: "approve",
        comment: "Freigabe ✅ ".repeat(2000).slice(0, 2000),
      }),
      result: "Succeeded",
      atGate: true,
    },
    {
      what: "the twenty regions of a large stage (deployedRegions) with one endpoint",
      task: "StressTestStage",
      inputs: () => ({
        endpoints: `${target?.url}/health`,
        region: twentyRegions,
        durationSeconds: "1",
        connections: "1",
      }),
      result: "Succeeded",
    },
  ];

  for (const row of rows) {
    it(`${row.task}: ${row.what}`, async () => {
      let rolloutId = "";
      if (row.atGate) {
        rolloutId = (await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs))).outputs
          .rolloutId;
        services.sim.clock.advance(800_000);
      }
      const run = await runBuiltTask(row.task, flowSetup(services, row.inputs(services, rolloutId)));
      assert.equal(run.result?.result, row.result, run.result?.message);
      if (row.says) assert.match(run.result!.message, row.says);
      assert.doesNotMatch(run.result!.message, /ENAMETOOLONG|TypeError|RangeError|undefined/);
      if (row.result === "Succeeded") assert.ok(run.artifacts.length >= 1, "the record is published");
    });
  }
});
