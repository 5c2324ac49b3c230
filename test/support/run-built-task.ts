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
