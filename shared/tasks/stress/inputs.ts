/** StressTestStage's inputs: the typed settings, the checks across inputs, and the files they name. */
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { TaskAgent } from "../../agent/agent";
import { field, InputError, readInputs } from "../../agent/inputs";
import { checkConnection, connectionInputs, thisRunsRolloutIdInput } from "../../ev2/connection";
import { STRESS_RANGES, StressInputError } from "../../stress";

/** Endpoints files and result files are small; anything larger is a mistake, not data. */
const MAX_INPUT_FILE_BYTES = 32 * 1024 * 1024;

export const stressInputs = {
  ...connectionInputs,
  mode: field.choice(["run", "merge"] as const, "run"),
  endpoints: field.text(),
  endpointsFile: field.text(),
  // Both end up in URLs unencoded: plain names only.
  region: field.text({
    pattern: /^[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+)*$/,
    expected: "a region name such as eastus, or a comma-separated list such as eastus,westus",
    maxLength: 256,
  }),
  stage: field.text({
    pattern: /^[A-Za-z0-9._-]+$/,
    expected: "a stage name of letters, digits, '.', '_' or '-', such as Stage1-Canary",
    maxLength: 128,
  }),
  resultFiles: field.lines({ max: 100 }),
  // The library's own ranges, so the task and the library never disagree on a limit.
  connections: field.optionalNumber(STRESS_RANGES.connections),
  rate: field.optionalNumber(STRESS_RANGES.rate),
  durationSeconds: field.optionalNumber(STRESS_RANGES.durationSeconds),
  requests: field.optionalNumber(STRESS_RANGES.requests),
  warmupSeconds: field.optionalNumber(STRESS_RANGES.warmupSeconds),
  timeoutMs: field.optionalNumber(STRESS_RANGES.timeoutMs),
  readinessTimeoutSeconds: field.optionalNumber(STRESS_RANGES.readinessTimeoutSeconds),
  pipelining: field.optionalNumber(STRESS_RANGES.pipelining),
  useAgentProxy: field.boolean(false),
  thresholds: field.text(),
  bearerToken: field.secret(),
  onThresholdFailure: field.choice(["fail", "warn", "cancelRollout"] as const, "fail"),
  rolloutId: thisRunsRolloutIdInput(),
  baselineFile: field.text(),
  publishBaseline: field.boolean(false),
};

export type StressSettings = ReturnType<typeof readStressInputs>;

export function readStressInputs(agent: TaskAgent) {
  return readInputs(agent, stressInputs, {
    secrets: ["bearerToken"],
    check: (v) => {
      const problems: Array<[string, string]> = [];
      if (v.mode === "run" && !v.endpoints && !suppliedPath(agent, v.endpointsFile)) {
        problems.push([
          "endpoints",
          "is required when mode is run (or endpointsFile): one URL a line, e.g. https://orders-{region}.contoso.com/health",
        ]);
      }
      if (v.mode === "merge" && v.resultFiles.length === 0) {
        problems.push([
          "resultFiles",
          "is required when mode is merge: the result files of the parallel jobs, one path or glob a line, e.g. $(Pipeline.Workspace)/stress-results/*.json",
        ]);
      }
      // Empty rolloutId: the newest rollout this release or run started is cancelled (stress-task).
      if (v.onThresholdFailure === "cancelRollout") {
        problems.push(...checkConnection(v));
      }
      return problems;
    },
  });
}

/**
 * The library reports bad input as StressInputError naming the input ("endpoints: ...",
 * "endpointsFile x.yaml: ..."); the task says it the way every task does: "Input 'endpoints' ...".
 */
export function taskInputError(err: StressInputError): InputError {
  const input = err.input.split(" ")[0];
  const rest = err.message.startsWith(input) ? err.message.slice(input.length) : `: ${err.message}`;
  const text = (rest.startsWith(":") ? rest : ` ${rest.trimStart()}`).replace(/:$/, "");
  return new InputError(`Input '${input}'${text}${/[.!?]$/.test(text) ? "" : "."}`);
}

/** Runs checks that come before any load: the library's input errors become the task's. */
export async function beforeAnyLoad<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof StressInputError ? taskInputError(err) : err;
  }
}

export function workingDirectory(agent: TaskAgent): string {
  return agent.getVariable("System.DefaultWorkingDirectory") ?? process.cwd();
}

/**
 * The absolute path a file input names, or undefined when none was given. The agent fills an
 * empty `filePath` input with the working directory itself, which is no file.
 */
export function suppliedPath(agent: TaskAgent, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const base = workingDirectory(agent);
  const path = isAbsolute(value) ? value : resolve(base, value);
  const folders = [base, agent.getVariable("Build.SourcesDirectory")].filter((f): f is string => !!f);
  if (folders.some((f) => resolve(f) === resolve(path))) return undefined;
  return path;
}

/** Reads a file an input names; any problem is an input error naming it. */
export function readInputFile(input: string, path: string, what: string): string {
  let size: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new InputError(`Input '${input}': ${path} is a folder; give ${what}.`);
    size = stat.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (err as Error).message;
    throw new InputError(`Input '${input}' cannot be read: ${path} ${why}. Give ${what}.`);
  }
  if (size > MAX_INPUT_FILE_BYTES)
    throw new InputError(`Input '${input}': ${path} is ${size} bytes; ${what} is far smaller.`);
  return readFileSync(path, "utf8");
}
