/**
 * Everything a task needs from the Azure Pipelines agent, and nothing more. The library only
 * ever sees this interface: `TaskLibAgent` is the real one, `FakeAgent` the in-memory one.
 */
export type TaskResult = "Succeeded" | "SucceededWithIssues" | "Failed";

export interface EndpointAuthorization {
  scheme: string;
  parameters: Record<string, string>;
}

export interface TaskAgent {
  /** The raw input, undefined when unset or blank. */
  getInput(name: string): string | undefined;
  getVariable(name: string): string | undefined;
  getEndpointUrl(id: string): string | undefined;
  getEndpointAuthorization(id: string): EndpointAuthorization | undefined;
  /** One authorization parameter, as task-lib's getEndpointAuthorizationParameter reads it. */
  getEndpointAuthorizationParameter(id: string, key: string): string | undefined;
  getEndpointData(id: string, key: string): string | undefined;

  /** Masks `value` (and its encoded forms, see SecretMask) in every later line of the log. */
  setSecret(value: string): void;
  /** `text` with every registered secret masked: for files the task publishes. */
  redact(text: string): string;
  setOutput(name: string, value: string): void;
  setResult(result: TaskResult, message: string): void;

  info(message: string): void;
  debug(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  beginGroup(title: string): void;
  endGroup(): void;
  setProgress(percent: number, activity: string): void;

  /** Shows a markdown file on the run's Extensions tab. */
  uploadSummary(path: string): void;
  /** Publishes a file or folder as a pipeline artifact (container folder = artifact name). */
  uploadArtifact(artifactName: string, path: string): void;

  /** A folder the task may write to (Agent.TempDirectory, else the OS temp folder). */
  tempDirectory(): string;
  /** Aborts when the agent asks the task to stop (SIGINT, SIGTERM). */
  readonly cancellation: AbortSignal;
}
