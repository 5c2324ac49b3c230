import * as os from "node:os";
import { TaskCommand } from "azure-pipelines-task-lib/taskcommand";
import { agentEnvironment, envKey } from "./agent-environment";
import type { EndpointAuthorization, TaskAgent, TaskResult } from "./agent";
import { neutraliseLoggingCommands } from "./logging-commands";
import { SecretMask } from "./secret-mask";

/**
 * The real agent: the task's side of the Azure Pipelines agent protocol, as
 * azure-pipelines-task-lib speaks it. Inputs, variables and endpoints come from the environment
 * the agent gives the step (see agent-environment.ts); logging commands are written with
 * task-lib's own formatter (`taskcommand`), and each command below is the one task-lib's
 * function of the same name writes (task.setsecret, task.setvariable, task.issue with
 * source=TaskInternal, task.complete with done=true...). task-lib's main module is not loaded:
 * it is a third of a task's start-up (child processes, globbing, localisation), none of it used.
 */
export class PipelineAgent implements TaskAgent {
  private readonly controller = new AbortController();
  readonly cancellation = this.controller.signal;

  private readonly secretVariables: Set<string>;
  private readonly mask = new SecretMask();

  constructor() {
    const names = parseNames(agentEnvironment.VSTS_SECRET_VARIABLES);
    this.secretVariables = new Set([
      ...names.map(envKey),
      ...Object.keys(agentEnvironment)
        .filter((k) => k.startsWith("SECRET_"))
        .map((k) => k.slice("SECRET_".length)),
    ]);
    const stop = (signal: NodeJS.Signals) => {
      if (!this.controller.signal.aborted) {
        this.debug(`received ${signal}`);
        this.controller.abort(new Error(`The pipeline was cancelled (${signal}).`));
      }
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  }

  getInput(name: string): string | undefined {
    return nonBlank(agentEnvironment[`INPUT_${envKey(name)}`]);
  }
  getVariable(name: string): string | undefined {
    const key = envKey(name);
    return nonBlank(
      this.secretVariables.has(key)
        ? agentEnvironment[`SECRET_${key}`]
        : (process.env[key] ?? agentEnvironment[key]),
    );
  }
  getEndpointUrl(id: string): string | undefined {
    return nonBlank(agentEnvironment[`ENDPOINT_URL_${id}`]);
  }
  getEndpointAuthorization(id: string): EndpointAuthorization | undefined {
    const json = agentEnvironment[`ENDPOINT_AUTH_${id}`];
    if (!json) return undefined;
    try {
      const auth = JSON.parse(json) as { scheme?: string; parameters?: Record<string, string> };
      return { scheme: auth.scheme ?? "", parameters: { ...auth.parameters } };
    } catch {
      return undefined;
    }
  }
  getEndpointAuthorizationParameter(id: string, key: string): string | undefined {
    // The agent names SystemVssConnection's variables in upper case; the local runner does not.
    for (const name of new Set([id, id.toUpperCase()])) {
      const value = nonBlank(agentEnvironment[`ENDPOINT_AUTH_PARAMETER_${name}_${key.toUpperCase()}`]);
      if (value) return value;
      const fromJson = nonBlank(this.getEndpointAuthorization(name)?.parameters[key]);
      if (fromJson) return fromJson;
    }
    return undefined;
  }
  getEndpointData(id: string, key: string): string | undefined {
    return nonBlank(agentEnvironment[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`]);
  }
  setSecret(value: string): void {
    if (!value) return;
    // As task-lib: the agent cannot mask a value across lines.
    if (/\r|\n/.test(value) && `${process.env.SYSTEM_UNSAFEALLOWMULTILINESECRET}`.toUpperCase() !== "TRUE")
      throw new Error("Secrets cannot contain multiple lines");
    // The agent masks the value whatever its length; the task masks the forms it can take too.
    command("task.setsecret", {}, value);
    for (const form of this.mask.add(value)) if (form !== value) command("task.setsecret", {}, form);
  }
  redact(text: string): string {
    return this.mask.redact(text);
  }
  /** What may be shown: no secret in any form, no logging command from outside. */
  private shown(text: string): string {
    return neutraliseLoggingCommands(this.mask.redact(text));
  }
  setOutput(name: string, value: string): void {
    this.debug(`set ${name}=${value}`);
    // Later steps of this job see it; task-lib keeps it in the process environment too.
    process.env[envKey(name)] = value;
    command("task.setvariable", { variable: name, isOutput: "true", issecret: "false" }, value);
  }
  setResult(result: TaskResult, message: string): void {
    const shown = this.shown(message);
    this.debug(`task result: ${result}`);
    if (result === "Failed" && shown) this.issue("error", shown);
    else if (result === "SucceededWithIssues" && shown) this.issue("warning", shown);
    command("task.complete", { result, done: "true" }, shown);
  }
  info(message: string): void {
    console.log(this.shown(message));
  }
  debug(message: string): void {
    if (skipDebug) return;
    command("task.debug", null, this.shown(message));
  }
  warning(message: string): void {
    this.issue("warning", this.shown(message));
  }
  error(message: string): void {
    this.issue("error", this.shown(message));
  }
  private issue(type: "warning" | "error", shown: string): void {
    command("task.issue", { type, source: "TaskInternal", correlationId }, shown);
  }
  beginGroup(title: string): void {
    console.log(`##[group]${this.shown(title)}`);
  }
  endGroup(): void {
    console.log("##[endgroup]");
  }
  setProgress(percent: number, activity: string): void {
    const value = Math.max(0, Math.min(100, Math.round(percent)));
    command("task.setprogress", { value: `${value}` }, this.shown(activity));
  }
  uploadSummary(path: string): void {
    command("task.uploadsummary", null, path);
  }
  uploadArtifact(artifactName: string, path: string): void {
    command("artifact.upload", { containerfolder: artifactName, artifactname: artifactName }, path);
  }
  tempDirectory(): string {
    return this.getVariable("Agent.TempDirectory") ?? os.tmpdir();
  }
}

/** One logging command on stdout, formatted (and escaped) by task-lib's own TaskCommand. */
function command(name: string, properties: Record<string, string> | null, message: string): void {
  process.stdout.write(`${new TaskCommand(name, properties, message).toString()}${os.EOL}`);
}

/** The agent's correlation id for issues (task-lib reads it once and hides it from child processes). */
const correlationId = agentEnvironment.COMMAND_CORRELATION_ID ?? "";
delete process.env.COMMAND_CORRELATION_ID;

/** As task-lib: debug lines are dropped only when the agent asks to skip them outside debug mode. */
const skipDebug =
  agentEnvironment.DISTRIBUTEDTASK_TASKS_NODE_SKIPDEBUGLOGSWHENDEBUGMODEOFF?.toLowerCase() === "true" &&
  agentEnvironment.SYSTEM_DEBUG?.toLowerCase() !== "true";

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function parseNames(json: string | undefined): string[] {
  try {
    const names: unknown = JSON.parse(json ?? "[]");
    return Array.isArray(names) ? names.map(String) : [];
  } catch {
    return [];
  }
}
