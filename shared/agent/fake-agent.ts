import * as os from "node:os";
import type { EndpointAuthorization, TaskAgent, TaskResult } from "./agent";
import { SecretMask } from "./secret-mask";

export interface FakeAgentSetup {
  inputs?: Record<string, string | undefined>;
  variables?: Record<string, string | undefined>;
  endpoints?: Record<string, { url?: string; auth?: EndpointAuthorization; data?: Record<string, string> }>;
  tempDirectory?: string;
}

export type LogLine = { kind: "info" | "debug" | "warning" | "error" | "group" | "endgroup"; text: string };

/** An in-memory agent that records what a task did, for fast library tests. */
export class FakeAgent implements TaskAgent {
  readonly secrets: string[] = [];
  readonly outputs: Record<string, string> = {};
  readonly log: LogLine[] = [];
  readonly summaries: string[] = [];
  readonly artifacts: Array<{ name: string; path: string }> = [];
  readonly progress: Array<{ percent: number; activity: string }> = [];
  result: { result: TaskResult; message: string } | undefined;
  private readonly mask = new SecretMask();
  private readonly controller = new AbortController();
  readonly cancellation = this.controller.signal;

  constructor(private readonly setup: FakeAgentSetup = {}) {}

  cancel(): void {
    this.controller.abort(new Error("The pipeline was cancelled (test)."));
  }
  getInput(name: string): string | undefined {
    const v = this.setup.inputs?.[name];
    return v === undefined || v.trim() === "" ? undefined : v;
  }
  getVariable(name: string): string | undefined {
    const vars = this.setup.variables ?? {};
    const key = Object.keys(vars).find((k) => k.toLowerCase() === name.toLowerCase());
    const v = key === undefined ? undefined : vars[key];
    return v === "" ? undefined : v;
  }
  getEndpointUrl(id: string): string | undefined {
    return this.setup.endpoints?.[id]?.url;
  }
  getEndpointAuthorization(id: string): EndpointAuthorization | undefined {
    return this.setup.endpoints?.[id]?.auth;
  }
  getEndpointAuthorizationParameter(id: string, key: string): string | undefined {
    const endpoints = this.setup.endpoints ?? {};
    const found = Object.keys(endpoints).find((k) => k.toLowerCase() === id.toLowerCase());
    const value = found === undefined ? undefined : endpoints[found]?.auth?.parameters[key];
    return value === "" ? undefined : value;
  }
  getEndpointData(id: string, key: string): string | undefined {
    return this.setup.endpoints?.[id]?.data?.[key];
  }
  setSecret(value: string): void {
    // As azure-pipelines-task-lib does: the agent cannot mask a value across lines.
    if (/\r|\n/.test(value)) throw new Error("Secrets can't contain multiple lines (LIB_MultilineSecret).");
    if (value) this.secrets.push(value);
    this.mask.add(value);
  }
  redact(text: string): string {
    return this.mask.redact(text);
  }
  setOutput(name: string, value: string): void {
    this.outputs[name] = value;
  }
  setResult(result: TaskResult, message: string): void {
    this.result = { result, message };
  }
  info(text: string): void {
    this.log.push({ kind: "info", text });
  }
  debug(text: string): void {
    this.log.push({ kind: "debug", text });
  }
  warning(text: string): void {
    this.log.push({ kind: "warning", text });
  }
  error(text: string): void {
    this.log.push({ kind: "error", text });
  }
  beginGroup(text: string): void {
    this.log.push({ kind: "group", text });
  }
  endGroup(): void {
    this.log.push({ kind: "endgroup", text: "" });
  }
  setProgress(percent: number, activity: string): void {
    this.progress.push({ percent, activity });
  }
  uploadSummary(path: string): void {
    this.summaries.push(path);
  }
  uploadArtifact(name: string, path: string): void {
    this.artifacts.push({ name, path });
  }
  tempDirectory(): string {
    return this.setup.tempDirectory ?? os.tmpdir();
  }
  /** Every line written, for assertions that a secret never appears. */
  allText(): string {
    return [...this.log.map((l) => l.text), this.result?.message ?? "", ...Object.values(this.outputs)].join(
      "\n",
    );
  }
}
