/**
 * Runs a built task as the agent does. The code lives in pipeline/task-process.ts, which the
 * local pipeline runner uses too; the tests keep importing it from here.
 */
export {
  runBuiltTask,
  startBuiltTask,
  taskEnvironment as agentEnvironment,
  type EndpointSetup,
  type StartedTask,
  type TaskRun,
  type TaskRunSetup,
} from "../../pipeline/task-process";

import { isDeploymentReportFile } from "../../shared/report/deployment-report";
import { recordArtifactName } from "../../shared/rollout/record";
import type { TaskRun } from "../../pipeline/task-process";

/** The task records a run uploaded to `ev2-records` (its job's deployment report left out). */
export function recordArtifacts(run: Pick<TaskRun, "artifacts">): TaskRun["artifacts"] {
  return run.artifacts.filter((a) => a.name === recordArtifactName && !isDeploymentReportFile(a.path));
}

/** The deployment report files a run uploaded (JSON and markdown). */
export function reportArtifacts(run: Pick<TaskRun, "artifacts">): TaskRun["artifacts"] {
  return run.artifacts.filter((a) => a.name === recordArtifactName && isDeploymentReportFile(a.path));
}
