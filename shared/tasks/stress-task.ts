import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import * as z from "zod";
import type { TaskAgent } from "../agent/agent";
import { field, InputError, readInputs } from "../agent/inputs";
import type { TaskOutcome } from "../agent/run-task";
import { checkConnection, connectEv2, connectionInputs } from "../ev2/connection";
import { publishRecord, readRunIdentity, type RunIdentity } from "../rollout/record";
import {
  StressInputError,
  StressReadinessError,
  checkStressTestOptions,
  checkThresholdScopes,
  connectionsSchema,
  describeDistribution,
  describeNotReady,
  durationSecondsSchema,
  formatMs,
  mergeResults,
  notReadyResult,
  parseResultDocument,
  parseThresholds,
  pipeliningSchema,
  rateSchema,
  readinessTimeoutSecondsSchema,
  renderJUnitXml,
  renderMarkdownSummary,
  requestsSchema,
  resolveEndpoints,
  runStressTest,
  stressOutputs,
  timeoutMsSchema,
  validateLoadSettings,
  warmupSecondsSchema,
  type BaselineSource,
  type LoadProgress,
  type StressEndpoint,
  type StressLoadSettings,
  type StressResultDocument,
  type StressThreshold,
  type ThresholdVerdict,
} from "../stress";
import { matchFiles } from "../stress/file-pattern";
import { httpOptionsFor, timestamped } from "./common";
import { cancelReason, cancelRollout } from "./stress-cancel";
import { publishBaselineFile, stressBaselineArtifact } from "./stress-baseline";

/** The folder (under Agent.TempDirectory) the README tells PublishTestResults to read. */
export const stressResultsFolder = "stress";
/** The pipeline artifact that carries the result JSON and JUnit files. */
export const stressResultsArtifact = "stress-results";

/** Endpoints files and result files are small; anything larger is a mistake, not data. */
const MAX_INPUT_FILE_BYTES = 32 * 1024 * 1024;

/**
 * A number input checked by the stress library's own schema, so the task and the library never
 * disagree on a limit; the message names the valid range ("must be a whole number from 1 to 1000").
 */
function loadNumber(name: string, schema: z.ZodType<number>) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v?.trim();
      if (!raw) return undefined;
      const parsed = schema.safeParse(/^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
      if (parsed.success) return parsed.data;
      const message = parsed.error.issues[0]?.message ?? "is not valid";
      ctx.addIssue({
        code: "custom",
        message: message.startsWith(`${name} `) ? message.slice(name.length + 1) : message,
      });
      return z.NEVER;
    });
}

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
  connections: loadNumber("connections", connectionsSchema),
  rate: loadNumber("rate", rateSchema),
  durationSeconds: loadNumber("durationSeconds", durationSecondsSchema),
  requests: loadNumber("requests", requestsSchema),
  warmupSeconds: loadNumber("warmupSeconds", warmupSecondsSchema),
  timeoutMs: loadNumber("timeoutMs", timeoutMsSchema),
  readinessTimeoutSeconds: loadNumber("readinessTimeoutSeconds", readinessTimeoutSecondsSchema),
  pipelining: loadNumber("pipelining", pipeliningSchema),
  useAgentProxy: field.boolean(false),
  thresholds: field.text(),
  bearerToken: field.secret(),
  onThresholdFailure: field.choice(["fail", "warn", "cancelRollout"] as const, "fail"),
  rolloutId: field.text({
    pattern: /^[A-Za-z0-9._:-]{1,128}$/,
    expected: "an EV2 rollout id such as $(trigger.rolloutId)",
  }),
  baselineFile: field.text(),
  publishBaseline: field.boolean(false),
};

type StressSettings = ReturnType<typeof readStressInputs>;

function readStressInputs(agent: TaskAgent) {
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
      if (v.onThresholdFailure === "cancelRollout") {
        if (!v.rolloutId) {
          problems.push([
            "rolloutId",
            "is required when onThresholdFailure is cancelRollout: the EV2 rollout to cancel, e.g. $(trigger.rolloutId)",
          ]);
        }
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

async function beforeAnyLoad<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof StressInputError ? taskInputError(err) : err;
  }
}

function workingDirectory(agent: TaskAgent): string {
  return agent.getVariable("System.DefaultWorkingDirectory") ?? process.cwd();
}

/**
 * The absolute path a file input names, or undefined when none was given. The agent fills an
 * empty `filePath` input with the working directory itself, which is no file.
 */
function suppliedPath(agent: TaskAgent, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const base = workingDirectory(agent);
  const path = isAbsolute(value) ? value : resolve(base, value);
  const folders = [base, agent.getVariable("Build.SourcesDirectory")].filter((f): f is string => !!f);
  if (folders.some((f) => resolve(f) === resolve(path))) return undefined;
  return path;
}

/** Reads a file an input names; any problem is an input error naming it. */
function readInputFile(input: string, path: string, what: string): string {
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

/** `eastus, westus` → ["eastus", "westus"]; unset → [undefined] (one pass without a region). */
function regionList(region: string | undefined): Array<string | undefined> {
  const regions = (region ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  return regions.length === 0 ? [undefined] : [...new Set(regions)];
}

/**
 * The endpoints of the stage: with several regions (the comma-separated `deployedRegions` of
 * FollowRollout), every endpoint that uses `{region}` once per region; the others once.
 */
async function stageEndpoints(agent: TaskAgent, s: StressSettings): Promise<StressEndpoint[]> {
  const path = suppliedPath(agent, s.endpointsFile);
  const file = path
    ? {
        name: s.endpointsFile!,
        content: readInputFile(
          "endpointsFile",
          path,
          `a JSON or YAML file of endpoints, relative to ${workingDirectory(agent)}`,
        ),
      }
    : undefined;
  const endpoints: StressEndpoint[] = [];
  for (const region of regionList(s.region)) {
    const resolved = await resolveEndpoints({
      lines: s.endpoints,
      file,
      tokens: { region, stage: s.stage },
      bearerToken: s.bearerToken,
    });
    for (const e of resolved) {
      const same = endpoints.find((x) => x.name === e.name);
      if (!same) endpoints.push(e);
      // The same request again: the endpoint does not use {region}. Loaded once.
      else if (requestOf(same) !== requestOf(e)) {
        throw new InputError(
          `Input 'endpointsFile' names endpoint "${e.name}" the same in every region while its request differs by region; put {region} in its name (e.g. name: orders-{region}).`,
        );
      }
    }
  }
  return endpoints;
}

function requestOf(e: StressEndpoint): string {
  return JSON.stringify([e.method, e.url, e.headers, e.body]);
}

function describeEndpoints(endpoints: readonly StressEndpoint[]): string {
  return endpoints.map((e) => `${e.method} ${e.url}`).join(", ");
}

function describeSettings(s: StressLoadSettings): string {
  const model =
    s.rate === undefined
      ? `closed model, ${s.connections} connections`
      : `open model, ${s.rate} requests/s on up to ${s.connections} connections`;
  const length =
    s.requests === undefined
      ? `${s.durationSeconds} s`
      : `${s.requests} requests (at most ${s.durationSeconds} s)`;
  return `${model}, ${length}${s.warmupSeconds > 0 ? ` after ${s.warmupSeconds} s of warm-up` : ""}${s.pipelining > 1 ? `, pipelining ${s.pipelining}` : ""}`;
}

/** Progress on the agent (every call) and a log line when the phase changes or every 10 s. */
function progressReporter(agent: TaskAgent, s: StressLoadSettings): (p: LoadProgress) => void {
  const totalSeconds = s.warmupSeconds + s.durationSeconds;
  let lastPhase: LoadProgress["phase"] | undefined;
  let lastLogAt = 0;
  return (p) => {
    const byTime = p.elapsedSeconds / totalSeconds;
    const byCount = s.requests === undefined ? 0 : p.requests / s.requests;
    const activity = p.phase === "warmup" ? "Warming up" : p.phase === "draining" ? "Finishing" : "Loading";
    agent.setProgress(Math.min(99, 100 * Math.max(byTime, byCount)), activity);
    if (p.phase === lastPhase && p.elapsedSeconds - lastLogAt < 10) return;
    lastPhase = p.phase;
    lastLogAt = p.elapsedSeconds;
    const what = p.phase === "warmup" ? "warming up" : p.phase === "draining" ? "finishing" : "measuring";
    agent.info(
      timestamped(
        `${Math.round(p.elapsedSeconds)} s, ${what}: ${p.requests} measured requests, ${p.failures} failed.`,
      ),
    );
  };
}

/** Logs a readiness probe only when what it saw changed, not every retry. */
function readinessReporter(agent: TaskAgent) {
  const lastSeen = new Map<string, string>();
  return (endpoint: StressEndpoint, outcome: string, elapsedSeconds: number) => {
    if (lastSeen.get(endpoint.name) === outcome) return;
    lastSeen.set(endpoint.name, outcome);
    agent.info(
      timestamped(`Waiting for ${endpoint.url} to be ready (${outcome}; ${elapsedSeconds.toFixed(1)} s).`),
    );
  };
}

async function runLoad(
  agent: TaskAgent,
  s: StressSettings,
  prepared: {
    endpoints: StressEndpoint[];
    thresholds: StressThreshold[];
    settings: StressLoadSettings;
    baseline?: BaselineSource;
  },
): Promise<StressResultDocument> {
  const { endpoints, thresholds, settings, baseline } = prepared;
  const startedAt = new Date();
  agent.info(
    `Stress-testing ${endpoints.length} endpoint${endpoints.length === 1 ? "" : "s"} (${describeEndpoints(endpoints)}): ${describeSettings(settings)}.`,
  );
  agent.info(`Thresholds: ${thresholds.map((t) => t.text).join("; ")}.`);
  const options = { ...settings, endpoints, thresholds, baseline };
  try {
    return await runStressTest({
      ...options,
      signal: agent.cancellation,
      onProgress: progressReporter(agent, settings),
      onNotReady: readinessReporter(agent),
      useAgentProxy: s.useAgentProxy,
    });
  } catch (err) {
    // Written to the result file too, so that a merge of this job's file fails as well.
    if (err instanceof StressReadinessError) return notReadyResult(options, err, startedAt);
    throw err instanceof StressInputError ? taskInputError(err) : err;
  }
}

async function mergeFiles(
  agent: TaskAgent,
  s: StressSettings,
  baseline: BaselineSource | undefined,
): Promise<StressResultDocument> {
  const base = workingDirectory(agent);
  const files: string[] = [];
  s.resultFiles.forEach((line, i) => {
    const matched = matchFiles(line, base);
    if (matched.length === 0) {
      throw new InputError(
        `Input 'resultFiles' line ${i + 1} "${line}" matches no file (relative to ${base}); give the result files of the parallel jobs, e.g. $(Pipeline.Workspace)/stress-results/*.json.`,
      );
    }
    for (const f of matched) if (!files.includes(f)) files.push(f);
  });
  agent.info(`Merging ${files.length} result file${files.length === 1 ? "" : "s"}: ${files.join(", ")}.`);
  return beforeAnyLoad(() => {
    const docs = files.map((f) =>
      parseResultDocument(readInputFile("resultFiles", f, "a StressTestStage result file"), f),
    );
    const thresholds = s.thresholds ? parseThresholds(s.thresholds) : undefined;
    if (thresholds)
      checkThresholdScopes(
        thresholds,
        docs.flatMap((d) => d.endpoints),
      );
    return mergeResults(docs, { thresholds, baseline, sources: files });
  });
}

/** The baseline result the `baselineFile` input names; any problem is an input error naming it. */
function readBaseline(agent: TaskAgent, s: StressSettings): BaselineSource | undefined {
  const path = suppliedPath(agent, s.baselineFile);
  if (!path) return undefined;
  const text = readInputFile(
    "baselineFile",
    path,
    "the result file of an earlier StressTestStage run (its resultFile output, or baseline.json of a stress-baseline artifact)",
  );
  const baseline = {
    doc: parseResultDocument(text, s.baselineFile!, "baselineFile"),
    source: s.baselineFile!,
  };
  const o = stressOutputs(baseline.doc);
  agent.info(
    `Comparing with the baseline ${baseline.source}: run started ${baseline.doc.startedAt}, ${baseline.doc.overall.requests} requests, error rate ${o.errorRate ?? "n/a"}%, p95 ${o.p95Ms === null ? "n/a" : formatMs(o.p95Ms)}.`,
  );
  return baseline;
}

interface WrittenFiles {
  resultFile: string;
  junitFile: string;
}

/** Where this run's files go: one name per step, so steps and jobs never overwrite each other. */
function fileStem(agent: TaskAgent, run: RunIdentity, startedAt: string, s: StressSettings): string {
  // Jobs of one `parallel` strategy share their name; their position tells them apart.
  const position =
    Number(agent.getVariable("System.TotalJobsInPhase")) > 1
      ? agent.getVariable("System.JobPositionInPhase")
      : undefined;
  const parts = [
    run.jobName ?? "job",
    position,
    s.mode === "merge" ? "merged" : s.region?.replace(/\s*,\s*/g, "+"),
    s.stage,
  ];
  // Long region lists make long names; the time keeps them apart.
  const label = parts
    .filter(Boolean)
    .join("-")
    .replace(/[^A-Za-z0-9_+-]/g, "_")
    .slice(0, 80);
  return `${label}-${startedAt.replace(/[:.]/g, "-")}`;
}

function writeResults(
  agent: TaskAgent,
  doc: StressResultDocument,
  stem: string,
  suiteName: string,
): WrittenFiles {
  const dir = join(agent.tempDirectory(), stressResultsFolder);
  mkdirSync(dir, { recursive: true });
  const resultFile = join(dir, `${stem}-result.json`);
  const junitFile = join(dir, `${stem}-junit.xml`);
  writeFileSync(resultFile, agent.redact(JSON.stringify(doc, null, 2)));
  writeFileSync(junitFile, agent.redact(renderJUnitXml(doc, { suiteName })));
  agent.uploadArtifact(stressResultsArtifact, resultFile);
  agent.uploadArtifact(stressResultsArtifact, junitFile);
  return { resultFile, junitFile };
}

function setOutputs(agent: TaskAgent, doc: StressResultDocument, files: WrittenFiles): void {
  const o = stressOutputs(doc);
  const text = (v: number | null) => (v === null ? "" : String(v));
  agent.setOutput("passed", String(o.passed));
  agent.setOutput("errorRate", text(o.errorRate));
  agent.setOutput("p50Ms", text(o.p50Ms));
  agent.setOutput("p95Ms", text(o.p95Ms));
  agent.setOutput("p99Ms", text(o.p99Ms));
  agent.setOutput("requestsPerSecond", String(o.requestsPerSecond));
  agent.setOutput("resultFile", files.resultFile);
}

function failedThresholds(doc: StressResultDocument): ThresholdVerdict[] {
  return doc.thresholds.filter((t) => !t.passed);
}

function describeVerdict(v: ThresholdVerdict): string {
  return `${v.scope === "overall" ? "overall" : v.endpoint}: ${v.threshold} (${v.message})`;
}

export async function runStressTestStage(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  // Set first so that a later step's condition can read them whatever happens here.
  agent.setOutput("passed", "false");
  agent.setOutput("verdictAt", "");
  const s = readStressInputs(agent);
  const run = readRunIdentity(agent);
  const client =
    s.onThresholdFailure === "cancelRollout" ? connectEv2(agent, s, httpOptionsFor(agent)) : undefined;

  const baseline = await beforeAnyLoad(() => readBaseline(agent, s));
  let doc: StressResultDocument;
  if (s.mode === "merge") {
    doc = await mergeFiles(agent, s, baseline);
  } else {
    const prepared = await beforeAnyLoad(async () => {
      const thresholds = parseThresholds(s.thresholds);
      const settings = validateLoadSettings({
        connections: s.connections,
        rate: s.rate,
        durationSeconds: s.durationSeconds,
        requests: s.requests,
        warmupSeconds: s.warmupSeconds,
        timeoutMs: s.timeoutMs,
        readinessTimeoutSeconds: s.readinessTimeoutSeconds,
        pipelining: s.pipelining,
      });
      const endpoints = await stageEndpoints(agent, s);
      checkStressTestOptions({ ...settings, endpoints, thresholds, baseline });
      return { thresholds, settings, endpoints, baseline };
    });
    doc = await runLoad(agent, s, prepared);
  }
  // An endpoint that never became ready is the verdict, whatever the thresholds say.
  const notReady = doc.notReady?.map(describeNotReady).join("; ");
  const verdictAt = doc.passed || doc.aborted ? "" : new Date().toISOString();

  const where = [s.region, s.stage].filter(Boolean).join(" ");
  const title = `Stress test${where ? ` ${where}` : ""}${s.mode === "merge" ? " (merged)" : ""}`;
  const files = writeResults(agent, doc, fileStem(agent, run, startedAt, s), title);
  setOutputs(agent, doc, files);
  agent.setOutput("verdictAt", verdictAt);

  const failed = failedThresholds(doc);
  const o = stressOutputs(doc);
  const figures = `${doc.overall.requests} requests, error rate ${o.errorRate ?? "n/a"}%, p95 ${o.p95Ms === null ? "n/a" : formatMs(o.p95Ms)}`;
  let result: TaskOutcome["result"];
  let message: string;
  let cancel: Awaited<ReturnType<typeof cancelRollout>> | undefined;
  if (doc.aborted) {
    result = "Failed";
    message = `The stress test was cancelled after ${doc.measuredSeconds} s of measurement; the partial result, marked aborted, is in ${files.resultFile}.`;
  } else if (doc.passed) {
    result = "Succeeded";
    message = `Every threshold held (${doc.thresholds.length} checks; ${figures}).`;
  } else {
    const what =
      notReady ??
      `${failed.length} of ${doc.thresholds.length} threshold checks failed: ${failed.map(describeVerdict).join("; ")}`;
    if (s.onThresholdFailure === "cancelRollout") {
      cancel = await cancelRollout(agent, client!, s.rolloutId!, cancelReason(what, run));
      result = "Failed";
      message = `${what}. ${cancel.text}`;
    } else {
      result = s.onThresholdFailure === "warn" ? "SucceededWithIssues" : "Failed";
      message = `${what}.${s.onThresholdFailure === "warn" ? " The pipeline goes on (onThresholdFailure is warn)." : ""}`;
    }
  }
  if (!doc.aborted && (!notReady || doc.overall.requests > 0))
    agent.info(`${figures}; result in ${files.resultFile}, JUnit in ${files.junitFile}.`);
  const asked = doc.load.requests;
  if (asked !== undefined && !doc.aborted && !notReady && doc.overall.requests < asked) {
    agent.warning(
      s.mode === "merge"
        ? `The merged jobs measured ${doc.overall.requests} of the ${asked} requests asked for: at least one stopped at its time limit (durationSeconds) first.`
        : `Measured ${doc.overall.requests} of the ${asked} requests asked for: the run stopped at its time limit of ${doc.load.durationSeconds} s first. Give a longer durationSeconds (at most 600) to reach the count.`,
    );
  }
  const overallDistribution = doc.baseline?.overall.distribution;
  if (overallDistribution) {
    agent.info(
      `Latency against the baseline (Mann-Whitney U, reported only unless a threshold asks): ${describeDistribution(overallDistribution)}; ${overallDistribution.verdict === "same" ? "no meaningful difference" : overallDistribution.verdict}.`,
    );
  }
  const baselineFile = s.publishBaseline && !doc.aborted ? publishBaselineFile(agent, doc) : undefined;

  const summary = [
    renderMarkdownSummary(doc, title),
    ...(cancel ? [`**Rollout:** ${cancel.text}`, ""] : []),
    ...(baselineFile
      ? [
          `Published as the baseline of later runs: \`baseline.json\` in the \`${stressBaselineArtifact}\` artifact.`,
          "",
        ]
      : []),
    `Result: \`${basename(files.resultFile)}\` and JUnit \`${basename(files.junitFile)}\` in the \`${stressResultsArtifact}\` artifact.`,
    "",
  ].join("\n");
  publishRecord(
    agent,
    {
      schemaVersion: 1,
      task: "StressTestStage",
      startedAt,
      endedAt: new Date().toISOString(),
      result,
      message,
      run,
      rolloutId: s.rolloutId,
      details: {
        mode: s.mode,
        region: s.region,
        stage: s.stage,
        passed: doc.passed,
        aborted: doc.aborted,
        notReady,
        verdictAt: verdictAt || undefined,
        load: doc.load,
        jobs: doc.jobs,
        outputs: o,
        endpoints: doc.endpoints.map((e) => ({ name: e.name, method: e.method, url: e.url })),
        failedThresholds: failed.map(describeVerdict),
        onThresholdFailure: s.onThresholdFailure,
        rolloutCancelled: cancel?.cancelled,
        cancelError: cancel?.error,
        resultFile: files.resultFile,
        junitFile: files.junitFile,
        baseline: doc.baseline && {
          source: doc.baseline.source,
          startedAt: doc.baseline.startedAt,
          distribution: overallDistribution && {
            verdict: overallDistribution.verdict,
            cliffsDelta: overallDistribution.cliffsDelta,
            pSlower: overallDistribution.pSlower,
          },
        },
        baselinePublished: baselineFile,
      },
    },
    summary,
  );
  return { result, message };
}
