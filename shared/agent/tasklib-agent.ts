import * as os from "node:os";
// Must come before task-lib: see agent-environment.ts.
import { agentEnvironment, envKey } from "./agent-environment";
import * as tl from "azure-pipelines-task-lib/task";
import type { EndpointAuthorization, TaskAgent, TaskResult } from "./agent";
import { neutraliseLoggingCommands } from "./logging-commands";
import { SecretMask } from "./secret-mask";

/** The real agent, over azure-pipelines-task-lib: the only module that imports it. */
export class TaskLibAgent implements TaskAgent {
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
        tl.debug(`received ${signal}`);
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
    // The agent masks the value whatever its length; the task masks the forms it can take too.
    tl.setSecret(value);
    for (const form of this.mask.add(value)) if (form !== value) tl.setSecret(form);
  }
  redact(text: string): string {
    return this.mask.redact(text);
  }
  /** What may be shown: no secret in any form, no logging command from outside. */
  private shown(text: string): string {
    return neutraliseLoggingCommands(this.mask.redact(text));
  }
  setOutput(name: string, value: string): void {
    tl.setVariable(name, value, false, true);
  }
  setResult(result: TaskResult, message: string): void {
    tl.setResult(tl.TaskResult[result], this.shown(message), true);
  }
  info(message: string): void {
    console.log(this.shown(message));
  }
  debug(message: string): void {
    tl.debug(this.shown(message));
  }
  warning(message: string): void {
    tl.warning(this.shown(message));
  }
  error(message: string): void {
    tl.error(this.shown(message));
  }
  beginGroup(title: string): void {
    console.log(`##[group]${this.shown(title)}`);
  }
  endGroup(): void {
    console.log("##[endgroup]");
  }
  setProgress(percent: number, activity: string): void {
    tl.setProgress(Math.max(0, Math.min(100, Math.round(percent))), this.shown(activity));
  }
  uploadSummary(path: string): void {
    tl.uploadSummary(path);
  }
  uploadArtifact(artifactName: string, path: string): void {
    tl.uploadArtifact(artifactName, path, artifactName);
  }
  tempDirectory(): string {
    return tl.getVariable("Agent.TempDirectory") || os.tmpdir();
  }
}

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
