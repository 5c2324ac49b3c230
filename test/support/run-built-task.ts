import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseLoggingCommand, type LoggingCommand } from "./agent-commands";

const root = resolve(__dirname, "..", "..");

export interface EndpointSetup {
  url: string;
  scheme?: string;
  parameters?: Record<string, string>;
  data?: Record<string, string>;
}

export interface TaskRunSetup {
  inputs?: Record<string, string | number | boolean | undefined>;
  endpoints?: Record<string, EndpointSetup>;
  /** Public pipeline variables, by their pipeline name ("System.Debug"). */
  variables?: Record<string, string | undefined>;
  /** Secret pipeline variables, passed as the agent passes them (SECRET_*, VSTS_SECRET_VARIABLES). */
  secretVariables?: Record<string, string>;
  /** Extra raw environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** The run fails the test if the task has not exited by then. */
  timeoutMs?: number;
}

export interface TaskRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  commands: LoggingCommand[];
  result?: { result: string; message: string };
  /** Output variables (isOutput=true) by name. */
  outputs: Record<string, string>;
  variables: Record<string, { value: string; isOutput: boolean; isSecret: boolean }>;
  issues: Array<{ type: string; message: string }>;
  warnings: string[];
  errors: string[];
  summaries: string[];
  artifacts: Array<{ name: string; containerFolder: string; path: string }>;
  progress: Array<{ value: number; activity: string }>;
  secrets: string[];
  /** Lines that are not logging commands (what a user reads in the log). */
  logLines: string[];
  /** Everything the agent would show or keep (stdout and stderr), less the setsecret commands it consumes. */
  visibleText: string;
  tempDirectory: string;
}

/** The environment the agent gives a Node task step. */
export function agentEnvironment(setup: TaskRunSetup, tempDirectory: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AGENT_TEMPDIRECTORY: tempDirectory,
    AGENT_WORKFOLDER: tempDirectory,
    AGENT_VERSION: "4.260.0",
    SYSTEM_HOSTTYPE: "build",
    SYSTEM_CULTURE: "en-US",
    SYSTEM_DEFAULTWORKINGDIRECTORY: tempDirectory,
    BUILD_ARTIFACTSTAGINGDIRECTORY: join(tempDirectory, "a"),
    COMMON_TESTRESULTSDIRECTORY: join(tempDirectory, "TestResults"),
  };
  const publicNames: string[] = [];
  for (const [name, value] of Object.entries(setup.variables ?? {})) {
    if (value === undefined) continue;
    env[name.replace(/[. ]/g, "_").toUpperCase()] = value;
    publicNames.push(name);
  }
  const secretNames: string[] = [];
  for (const [name, value] of Object.entries(setup.secretVariables ?? {})) {
    env[`SECRET_${name.replace(/[. ]/g, "_").toUpperCase()}`] = value;
    secretNames.push(name);
  }
  env.VSTS_PUBLIC_VARIABLES = JSON.stringify(publicNames);
  env.VSTS_SECRET_VARIABLES = JSON.stringify(secretNames);
  for (const [name, value] of Object.entries(setup.inputs ?? {})) {
    if (value !== undefined) env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = String(value);
  }
  for (const [id, ep] of Object.entries(setup.endpoints ?? {})) {
    env[`ENDPOINT_URL_${id}`] = ep.url;
    const scheme = ep.scheme ?? "Token";
    env[`ENDPOINT_AUTH_${id}`] = JSON.stringify({ parameters: ep.parameters ?? {}, scheme });
    env[`ENDPOINT_AUTH_SCHEME_${id}`] = scheme;
    for (const [k, v] of Object.entries(ep.parameters ?? {}))
      env[`ENDPOINT_AUTH_PARAMETER_${id}_${k.toUpperCase()}`] = v;
    for (const [k, v] of Object.entries(ep.data ?? {})) env[`ENDPOINT_DATA_${id}_${k.toUpperCase()}`] = v;
  }
  return { ...env, ...setup.env };
}

export interface StartedTask {
  child: ChildProcess;
  /** Resolves with the run once the process has exited. */
  done: Promise<TaskRun>;
  /** Resolves when a stdout line matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Starts the *built* task (dist/tasks/<task>/index.js) with Node, exactly as the agent does. */
export function startBuiltTask(task: string, setup: TaskRunSetup = {}): StartedTask {
  const tempDirectory = mkdtempSync(join(tmpdir(), `${task}-`));
  const entry = join(root, "dist", "tasks", task, "index.js");
  const child = spawn(process.execPath, [entry], {
    cwd: setup.cwd ?? tempDirectory,
    env: agentEnvironment(setup, tempDirectory),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const lineWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    for (const w of [...lineWaiters]) {
      const line = stdout.split(/\r?\n/).find((l) => w.pattern.test(l));
      if (line !== undefined) {
        lineWaiters.splice(lineWaiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timeoutMs = setup.timeoutMs ?? 30_000;
  const done = new Promise<TaskRun>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(`${task} did not exit within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`),
      );
    }, timeoutMs);
    child.on("exit", (exitCode, signal) => {
      clearTimeout(timer);
      // let the last stdout chunks arrive
      setImmediate(() => resolvePromise(parseRun({ exitCode, signal, stdout, stderr, tempDirectory })));
    });
  });
  const waitForLine = (pattern: RegExp, waitMs = timeoutMs) =>
    new Promise<string>((res, rej) => {
      const existing = stdout.split(/\r?\n/).find((l) => pattern.test(l));
      if (existing !== undefined) return res(existing);
      const timer = setTimeout(
        () => rej(new Error(`no line matching ${pattern} within ${waitMs} ms:\n${stdout}`)),
        waitMs,
      );
      lineWaiters.push({ pattern, resolve: (l) => (clearTimeout(timer), res(l)) });
    });
  return { child, done, waitForLine };
}

export function runBuiltTask(task: string, setup: TaskRunSetup = {}): Promise<TaskRun> {
  return startBuiltTask(task, setup).done;
}

function parseRun(raw: {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  tempDirectory: string;
}): TaskRun {
  const run: TaskRun = {
    ...raw,
    commands: [],
    outputs: {},
    variables: {},
    issues: [],
    warnings: [],
    errors: [],
    summaries: [],
    artifacts: [],
    progress: [],
    secrets: [],
    logLines: [],
    visibleText: "",
  };
  run.visibleText = [
    ...raw.stdout.split(/\r?\n/).filter((l) => !l.includes("##vso[task.setsecret]")),
    raw.stderr,
  ].join("\n");
  for (const line of raw.stdout.split(/\r?\n/)) {
    const cmd = parseLoggingCommand(line);
    if (!cmd) {
      if (line !== "") run.logLines.push(line);
      continue;
    }
    run.commands.push(cmd);
    const p = cmd.properties;
    switch (cmd.command) {
      case "task.setvariable": {
        const isOutput = p.isOutput === "true" || p.isoutput === "true";
        const isSecret = p.issecret === "true" || p.isSecret === "true";
        run.variables[p.variable] = { value: cmd.data, isOutput, isSecret };
        if (isOutput) run.outputs[p.variable] = cmd.data;
        break;
      }
      case "task.complete":
        run.result = { result: p.result, message: cmd.data };
        break;
      case "task.issue":
        run.issues.push({ type: p.type, message: cmd.data });
        if (p.type === "warning") run.warnings.push(cmd.data);
        if (p.type === "error") run.errors.push(cmd.data);
        break;
      case "task.uploadsummary":
        run.summaries.push(cmd.data);
        break;
      case "artifact.upload":
        run.artifacts.push({ name: p.artifactname, containerFolder: p.containerfolder, path: cmd.data });
        break;
      case "task.setprogress":
        run.progress.push({ value: Number(p.value), activity: cmd.data });
        break;
      case "task.setsecret":
        run.secrets.push(cmd.data);
        break;
    }
  }
  return run;
}
