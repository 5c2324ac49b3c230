import { closeHttpConnections } from "../http/request";
import { useNetwork } from "../http/transport";
import { isAbortError } from "../http/retry";
import type { TaskAgent, TaskResult } from "./agent";
import { readAgentNetwork } from "./network";

export interface TaskOutcome {
  result: TaskResult;
  message: string;
}

/** An expected failure whose message is already what the user should read. */
export class TaskFailure extends Error {
  override name = "TaskFailure";
}

/**
 * The one place that owns a task's result: runs `body`, turns any error into one readable
 * line, sets the result exactly once and lets the process exit promptly.
 */
export async function runTask(
  taskName: string,
  body: (agent: TaskAgent) => Promise<TaskOutcome | void>,
  makeAgent: () => Promise<TaskAgent> | TaskAgent = defaultAgent,
): Promise<TaskOutcome> {
  let agent: TaskAgent | undefined;
  let outcome: TaskOutcome;
  try {
    agent = await makeAgent();
    // The agent's proxy and certificates, for every call the task makes from here on.
    useNetwork(readAgentNetwork(agent));
    outcome = (await body(agent)) ?? { result: "Succeeded", message: `${taskName} finished.` };
  } catch (err) {
    outcome = { result: "Failed", message: failureMessage(taskName, err, agent) };
  } finally {
    await closeHttpConnections().catch(() => undefined);
  }
  if (agent) agent.setResult(outcome.result, outcome.message);
  else console.error(outcome.message);
  if (outcome.result === "Failed") process.exitCode = 1;
  return outcome;
}

/** The one line a failure is reported with (also for records published before the error is rethrown). */
export function failureMessage(taskName: string, err: unknown, agent: TaskAgent | undefined): string {
  if (isAbortError(err) || agent?.cancellation.aborted) return `${taskName} was cancelled.`;
  if (err instanceof Error) {
    if (err.stack) agent?.debug(err.stack);
    return err.message;
  }
  return String(err);
}

async function defaultAgent(): Promise<TaskAgent> {
  const { PipelineAgent } = await import("./pipeline-agent");
  return new PipelineAgent();
}
