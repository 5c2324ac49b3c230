/**
 * Runs one *built* task (dist/tasks/<Task>/index.js) in its own Node process with the
 * environment the Azure Pipelines agent gives a Node task step, and reads its logging commands
 * back. The local pipeline runner and the task tests both use it, so what they run is exactly
 * what ships in the .vsix.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildProblem } from "../scripts/build-stamp.mjs";
import { parseLoggingCommand, type LoggingCommand } from "./agent-commands";

/** Where `npm run build` puts the task bundles. */
export const builtTasksDirectory = resolve(__dirname, "..", "dist", "tasks");

let buildChecked = false;
/**
 * Throws, naming `npm run build`, when this repository's bundles are missing or older than the
 * sources: a run of a stale bundle tests old code, and a missing one is no reason to skip.
 */
export function assertBuildCurrent(): void {
  if (buildChecked) return;
  const problem = buildProblem(resolve(__dirname, ".."));
  if (problem) throw new Error(problem);
  buildChecked = true;
}

export interface EndpointSetup {
  url: string;
  scheme?: string;
  parameters?: Record<string, string>;
  data?: Record<string, string>;
}

export interface TaskRunSetup {
  inputs?: Record<string, string | number | boolean | undefined>;
  /** Service connections by the id the inputs name. */
  endpoints?: Record<string, EndpointSetup>;
  /** Public pipeline variables, by their pipeline name ("System.Debug"). */
  variables?: Record<string, string | undefined>;
  /** Secret pipeline variables, passed as the agent passes them (SECRET_*, VSTS_SECRET_VARIABLES). */
  secretVariables?: Record<string, string>;
  /** Extra raw environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** The run fails (rejects) if the task has not exited by then; 0 or Infinity: no limit. */
  timeoutMs?: number;
  /** Agent.TempDirectory; default a new folder under the OS temp folder. */
  tempDirectory?: string;
  /** Folder holding the built tasks; default dist/tasks of this repository. */
  tasksDirectory?: string;
  /** Each complete line the task writes, as it writes it. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Aborting stops the task as the agent cancels one: SIGINT, then SIGKILL after `cancelGraceMs`. */
  signal?: AbortSignal;
  /** Default 5000. */
  cancelGraceMs?: number;
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
  /** JUnit (or other) result files announced with `results.publish`. */
  testResults: Array<{ type: string; files: string[]; runTitle?: string }>;
  progress: Array<{ value: number; activity: string }>;
  secrets: string[];
  /** Lines that are not logging commands (what a user reads in the log). */
  logLines: string[];
  /** Everything the agent would show or keep (stdout and stderr), less the setsecret commands it consumes. */
  visibleText: string;
  tempDirectory: string;
}

const envName = (name: string) => name.replace(/[. ]/g, "_").toUpperCase();

/** The environment the agent gives a Node task step. */
export function taskEnvironment(setup: TaskRunSetup, tempDirectory: string): Record<string, string> {
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
  // Under `npm test` (c8) the task's own V8 coverage goes where the test run's goes, so the
  // coverage report counts what the bundles ran (mapped back onto shared/ and tasks/).
  if (process.env.NODE_V8_COVERAGE) env.NODE_V8_COVERAGE = process.env.NODE_V8_COVERAGE;
  const publicNames: string[] = [];
  for (const [name, value] of Object.entries(setup.variables ?? {})) {
    if (value === undefined) continue;
    env[envName(name)] = value;
    publicNames.push(name);
  }
  const secretNames: string[] = [];
  for (const [name, value] of Object.entries(setup.secretVariables ?? {})) {
    env[`SECRET_${envName(name)}`] = value;
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

/** Calls `onLine` for each complete line of a stream; `flush` hands over a last unterminated one. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; flush(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        onLine(pending.slice(0, newline).replace(/\r$/, ""));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    },
    flush() {
      if (pending !== "") onLine(pending.replace(/\r$/, ""));
      pending = "";
    },
  };
}

/** Starts the *built* task (dist/tasks/<task>/index.js) with Node, exactly as the agent does. */
export function startBuiltTask(task: string, setup: TaskRunSetup = {}): StartedTask {
  const tempDirectory = setup.tempDirectory ?? mkdtempSync(join(tmpdir(), `${task}-`));
  mkdirSync(tempDirectory, { recursive: true });
  if (setup.tasksDirectory === undefined) assertBuildCurrent();
  const entry = join(setup.tasksDirectory ?? builtTasksDirectory, task, "index.js");
  const child = spawn(process.execPath, [entry], {
    cwd: setup.cwd ?? tempDirectory,
    env: taskEnvironment(setup, tempDirectory),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const lineWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const stdoutLines = lineSplitter((line) => setup.onLine?.(line, "stdout"));
  const stderrLines = lineSplitter((line) => setup.onLine?.(line, "stderr"));
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    stdoutLines.push(chunk);
    for (const w of [...lineWaiters]) {
      const line = stdout.split(/\r?\n/).find((l) => w.pattern.test(l));
      if (line !== undefined) {
        lineWaiters.splice(lineWaiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    stderrLines.push(chunk);
  });

  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGINT");
    killTimer = setTimeout(() => child.kill("SIGKILL"), setup.cancelGraceMs ?? 5000);
  };
  if (setup.signal?.aborted) cancel();
  else setup.signal?.addEventListener("abort", cancel, { once: true });

  const timeoutMs = setup.timeoutMs ?? 30_000;
  const limited = timeoutMs > 0 && Number.isFinite(timeoutMs);
  const done = new Promise<TaskRun>((resolvePromise, reject) => {
    const timer = limited
      ? setTimeout(() => {
          child.kill("SIGKILL");
          reject(
            new Error(`${task} did not exit within ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`),
          );
        }, timeoutMs)
      : undefined;
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      setup.signal?.removeEventListener("abort", cancel);
      stdoutLines.flush();
      stderrLines.flush();
      resolvePromise(parseTaskRun({ exitCode, signal, stdout, stderr, tempDirectory }));
    });
  });
  const waitForLine = (pattern: RegExp, waitMs = limited ? timeoutMs : 30_000) =>
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

/** What the agent makes of a finished task's output: its result, variables, issues, files. */
export function parseTaskRun(raw: {
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
    testResults: [],
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
      case "task.logissue":
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
      case "results.publish":
        run.testResults.push({
          type: p.type ?? "JUnit",
          files: (p.resultFiles ?? p.resultfiles ?? cmd.data ?? "")
            .split(",")
            .map((f) => f.trim())
            .filter(Boolean),
          runTitle: p.runTitle ?? p.runtitle,
        });
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
