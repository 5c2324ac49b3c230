/**
 * Plays an Azure Pipelines YAML file on this machine as the agent would: stages and jobs in
 * dependency order, conditions, variables and `$(macros)`, output variables across steps, jobs
 * and stages, and each of the extension's task steps run from its built bundle in its own Node
 * process with the agent's environment. What it cannot run, it says and skips.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { platform } from "node:os";
import { dirname, join, resolve } from "node:path";
import { buildDeploymentReport, isDeploymentReportFile } from "../shared/report/deployment-report";
import { renderDeploymentReportMarkdown } from "../shared/report/report-markdown";
import { readRecordFile } from "../shared/report/publish-report";
import { recordArtifactName } from "../shared/rollout/record";
import { parseLoggingCommand } from "./agent-commands";
import {
  compileExpression,
  evaluateCondition,
  ExpressionError,
  toStr,
  type ExprValue,
  type RunResult,
  type StatusContext,
} from "./expressions";
import { classifyLogLine, SecretMasker, type LogLine } from "./log-lines";
import {
  readPipeline,
  runOrder,
  type JobDefinition,
  type PipelineDefinition,
  type StageDefinition,
  type StepDefinition,
  type DownloadStepDefinition,
  type TaskStepDefinition,
  type VariableDefinition,
} from "./pipeline-file";
import type {
  JobRecord,
  NotRunnableStep,
  PipelineEvent,
  PipelineRunResult,
  RunFiles,
  StageRecord,
  StepRecord,
} from "./run-events";
import { RunFolder } from "./run-folder";
import { findInput, TaskCatalog, type BuiltTask } from "./task-catalog";
import { builtTasksDirectory, startBuiltTask, type EndpointSetup, type TaskRun } from "./task-process";
import type { InputRewriter } from "./local-routes";
import { expandMacros, VariableSet } from "./variables";

/** Who and what the run is, as the agent's predefined variables tell the tasks. */
export interface RunIdentity {
  collectionUri: string;
  collectionId: string;
  project: string;
  projectId: string;
  buildId: string;
  buildNumber: string;
  definitionName: string;
  requestedFor: string;
  requestedForEmail: string;
  repositoryId: string;
  repositoryName: string;
  sourceVersion: string;
  sourceBranch: string;
}

const stableGuid = (text: string) => {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** A local run's identity: a new build id each time, so each run starts its own rollout. */
export function localRunIdentity(overrides: Partial<RunIdentity> = {}): RunIdentity {
  const now = new Date();
  const buildId = overrides.buildId ?? String(Math.floor(now.getTime() / 1000) % 100_000_000);
  const project = overrides.project ?? "local";
  const repositoryName = overrides.repositoryName ?? project;
  return {
    collectionUri: "https://dev.azure.com/local/",
    collectionId: stableGuid("collection:local"),
    projectId: stableGuid(`project:${project}`),
    buildNumber: `${now.toISOString().slice(0, 10).replace(/-/g, "")}.${buildId}`,
    definitionName: "local",
    requestedFor: "Local Runner",
    requestedForEmail: "local.runner@localhost",
    repositoryId: stableGuid(`repository:${project}:${repositoryName}`),
    sourceVersion: "0".repeat(40),
    sourceBranch: "refs/heads/main",
    ...overrides,
    project,
    repositoryName,
    buildId,
  };
}

/** The endpoint a service connection name stands for, or undefined when this run has none. */
export type ConnectionResolver = (name: string, type: string) => EndpointSetup | undefined;

export interface PipelineRunOptions {
  /** The YAML file; read unless `text` or `definition` is given. */
  file: string;
  text?: string;
  /** What to play, already read (a classic release, see classic/release-player.ts). */
  definition?: PipelineDefinition;
  /** Emptied first if a previous run made it; refused if it holds anything else. */
  outputDirectory: string;
  /** Default dist/tasks of this repository. */
  tasksDirectory?: string;
  /** Where tasks run (System.DefaultWorkingDirectory); default the file's folder. */
  workingDirectory?: string;
  /** Queue-time variables: they win over the file's values. */
  variables?: Record<string, string>;
  /**
   * Inputs set on every step of a task (by task name), over the file's values: a simulated world
   * has the tasks poll its fast simulator every second (`pollingIntervalSeconds: 1`).
   */
  inputOverrides?: Record<string, Record<string, string>>;
  /**
   * Rewrites a step's input as written in the file, before its macros are expanded: local play
   * points literal remote hosts at the simulated services (`local-routes.ts`). Each note is logged.
   */
  rewriteInput?: InputRewriter;
  secretVariables?: Record<string, string>;
  /** Values for the file's `parameters`. */
  parameters?: Record<string, string>;
  connections?: ConnectionResolver;
  /** Said when a connection cannot be resolved, e.g. "run with --sim <scenario> or --ev2-url". */
  connectionHint?: string;
  run?: Partial<RunIdentity>;
  /** What the timeline calls the run (default "build <id>"); a classic release names the release. */
  runName?: string;
  /** System.AccessToken (a secret) for tasks that call Azure DevOps at `run.collectionUri`. */
  accessToken?: string;
  /** System.Debug=true, and debug lines shown. */
  debug?: boolean;
  /** Aborting cancels the run as a pipeline cancel does: the running task gets SIGINT. */
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** More values never to show. */
  secrets?: string[];
  /**
   * The approvals and checks of the environments a stage's deployment jobs use, asked before the
   * stage starts, as Azure DevOps does. Without it the stage runs as if they passed (and says so).
   */
  approvals?: StageApprovals;
  /** What a stage waits on besides its condition: a classic release's approvals and gates. */
  stageChecks?: StageChecks;
}

/** A stage's checks see its variables and can say what they are doing. */
export interface StageCheckContext {
  stage: StageDefinition;
  /** The stage's variables, macros expanded (secrets included: never show them). */
  variables: Record<string, string>;
  notice(level: "info" | "warning", message: string): void;
  signal?: AbortSignal;
}

export interface StageChecks {
  /** Before the stage's jobs: a returned reason fails the stage and its jobs do not run. */
  before?(context: StageCheckContext): Promise<string | undefined>;
  /** After its jobs succeeded (with or without issues): a returned reason fails the stage. */
  after?(context: StageCheckContext): Promise<string | undefined>;
}

/** A stage about to start whose deployment jobs use environments. */
export interface StageAwaitingApproval {
  stage: string;
  displayName: string;
  environments: string[];
}

export interface ApprovalDecision {
  verdict: "approved" | "rejected";
  by: string;
  comment?: string;
}

export type StageApprovals = (stage: StageAwaitingApproval) => Promise<ApprovalDecision> | ApprovalDecision;

/** Reads the file, runs it and reports; throws PipelineFileError when the file cannot be run at all. */
export async function runPipeline(options: PipelineRunOptions): Promise<PipelineRunResult> {
  const definition =
    options.definition ??
    readPipeline(options.text ?? readFileSync(options.file, "utf8"), { parameters: options.parameters });
  const catalog = TaskCatalog.load(options.tasksDirectory ?? builtTasksDirectory);
  const folder = RunFolder.prepare(options.outputDirectory);
  return new PipelineRun(definition, catalog, folder, options).execute();
}

interface Outcome {
  result: RunResult;
  /** `<step>.<variable>` → value (stage outputs: `<job>.<step>.<variable>`), unmasked. */
  outputs: Record<string, string>;
}

interface JobContext {
  stage: StageDefinition;
  job: JobDefinition;
  variables: VariableSet;
  status: RunResult;
  tempDirectory: string;
  /** Names given to unnamed steps, per task. */
  generatedNames: Map<string, number>;
  outputs: Record<string, string>;
}

const worst = (results: RunResult[]): RunResult => {
  for (const r of ["Canceled", "Failed", "SucceededWithIssues", "Succeeded"] as const)
    if (results.includes(r)) return r;
  return "Skipped";
};

class PipelineRun {
  private readonly masker = new SecretMasker();
  private readonly identity: RunIdentity;
  private readonly workingDirectory: string;
  private readonly startedAt = new Date();
  private readonly stageOutcomes = new Map<string, Outcome & { jobs: Map<string, Outcome> }>();
  private readonly files: Omit<RunFiles, "runRecord" | "logs" | "summary" | "report"> = {
    summaries: [],
    records: [],
    jobReports: [],
    artifacts: [],
    testResults: [],
  };
  private readonly summaryParts: string[] = [];
  /** Every job's outcome, by `<stage>/<job>` in lower case. */
  private readonly jobOutcomeCache = new Map<string, Outcome>();
  private pipelineVariables = new VariableSet();

  constructor(
    private readonly definition: PipelineDefinition,
    private readonly catalog: TaskCatalog,
    private readonly folder: RunFolder,
    private readonly options: PipelineRunOptions,
  ) {
    this.identity = localRunIdentity(options.run);
    this.workingDirectory = resolve(options.workingDirectory ?? dirname(resolve(options.file)));
    for (const s of options.secrets ?? []) this.masker.add(s);
    for (const s of Object.values(options.secretVariables ?? {})) this.masker.add(s);
    this.masker.add(options.accessToken);
  }

  private get runName(): string {
    return this.options.runName ?? `build ${this.identity.buildId}`;
  }

  private get canceled(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  private emit(event: PipelineEvent): void {
    this.options.onEvent?.(event);
  }

  async execute(): Promise<PipelineRunResult> {
    const started = Date.now();
    this.emit({
      type: "runStarted",
      file: this.options.file,
      buildId: this.identity.buildId,
      runName: this.runName,
      outputDirectory: this.folder.root,
      notices: this.definition.notices,
      notRunnable: this.notRunnable(),
    });
    this.pipelineVariables = this.layer(this.predefinedVariables(), this.definition.variables, {
      variables: {},
    });
    const stages: StageRecord[] = [];
    for (const stage of runOrder(this.definition.stages)) stages.push(await this.runStage(stage));
    // Stages in file order for the record, whatever order they ran in.
    stages.sort(
      (a, b) =>
        this.definition.stages.findIndex((s) => s.name === a.name) -
        this.definition.stages.findIndex((s) => s.name === b.name),
    );
    const ran = stages.filter((s) => s.result !== "Skipped").map((s) => s.result);
    const result: RunResult = this.canceled ? "Canceled" : ran.length === 0 ? "Skipped" : worst(ran);
    const summary = this.summaryParts.length > 0 ? this.folder.path("summary.md") : undefined;
    if (summary) writeFileSync(summary, this.summaryParts.join("\n"));
    const report = this.writeRunReport();
    const runResult: PipelineRunResult = {
      file: this.options.file,
      result,
      buildId: this.identity.buildId,
      runName: this.runName,
      startedAt: this.startedAt.toISOString(),
      durationMs: Date.now() - started,
      stages,
      notices: this.definition.notices,
      outputDirectory: this.folder.root,
      files: {
        runRecord: this.folder.path("run.json"),
        logs: this.folder.path("logs"),
        summary,
        report,
        ...this.files,
      },
    };
    writeFileSync(runResult.files.runRecord, JSON.stringify(runResult, null, 2));
    this.emit({ type: "runFinished", result: runResult });
    return runResult;
  }

  /**
   * The deployment report of the whole run, from every job's records: what a reviewer would
   * build from the run's downloaded `ev2-records` artifact.
   */
  private writeRunReport(): RunFiles["report"] {
    if (this.files.records.length === 0) return undefined;
    const records = this.files.records.flatMap((f) => readRecordFile(f) ?? []);
    const report = buildDeploymentReport(records);
    const files = {
      json: this.folder.path("deployment-report.json"),
      markdown: this.folder.path("deployment-report.md"),
    };
    writeFileSync(files.json, this.masker.mask(`${JSON.stringify(report, null, 2)}\n`));
    writeFileSync(files.markdown, this.masker.mask(renderDeploymentReportMarkdown(report)));
    return files;
  }

  /** Steps and jobs that cannot run here, listed before the run starts. */
  private notRunnable(): NotRunnableStep[] {
    const found: NotRunnableStep[] = [];
    for (const stage of this.definition.stages) {
      if (stage.unsupported)
        found.push({
          where: `stage ${stage.name}`,
          label: stage.displayName ?? stage.name,
          reason: stage.unsupported,
        });
      for (const job of stage.jobs) {
        const where = `${stage.name} / ${job.name}`;
        if (job.unsupported)
          found.push({ where, label: job.displayName ?? job.name, reason: job.unsupported });
        for (const step of job.steps) {
          const problem =
            step.kind === "unsupported"
              ? step.reason
              : step.kind === "task"
                ? this.taskProblem(step)
                : undefined;
          if (problem)
            found.push({
              where: `${where} / step ${step.index}`,
              label: step.kind === "task" ? `task: ${step.task}` : step.label,
              reason: problem,
            });
        }
      }
    }
    return found;
  }

  private taskProblem(step: TaskStepDefinition): string | undefined {
    const found = this.catalog.find(step.task);
    if ("problem" in found) return found.problem;
    return found.task.notRunnable;
  }

  // ---- variables ----------------------------------------------------------------------

  private predefinedVariables(): VariableSet {
    const id = this.identity;
    const vars = new VariableSet();
    const set = (name: string, value: string) => vars.set(name, value);
    set("System.CollectionId", id.collectionId);
    set("System.CollectionUri", id.collectionUri);
    set("System.TeamFoundationCollectionUri", id.collectionUri);
    set("System.TeamProject", id.project);
    set("System.TeamProjectId", id.projectId);
    set("System.HostType", "build");
    set("System.DefinitionName", id.definitionName);
    set("System.DefaultWorkingDirectory", this.workingDirectory);
    set("Build.BuildId", id.buildId);
    set("Build.BuildNumber", id.buildNumber);
    set("Build.DefinitionName", id.definitionName);
    set("Build.Reason", "Manual");
    set("Build.RequestedFor", id.requestedFor);
    set("Build.RequestedForEmail", id.requestedForEmail);
    set("Build.QueuedBy", id.requestedFor);
    set("Build.Repository.ID", id.repositoryId);
    set("Build.Repository.Name", id.repositoryName);
    set("Build.Repository.Provider", "TfsGit");
    set("Build.SourceVersion", id.sourceVersion);
    set("Build.SourceBranch", id.sourceBranch);
    set("Build.SourceBranchName", id.sourceBranch.split("/").at(-1) ?? "");
    set("Build.SourcesDirectory", this.workingDirectory);
    set("Agent.Name", "local-pipeline-runner");
    set("Agent.OS", platform() === "win32" ? "Windows_NT" : platform() === "darwin" ? "Darwin" : "Linux");
    if (this.options.debug) set("System.Debug", "true");
    return vars;
  }

  /**
   * The variables a scope sees: `base`, then `definitions` (a `$[ expression ]` evaluated in
   * `values`), then the queue-time variables and secrets, which always win.
   */
  private layer(
    base: VariableSet,
    definitions: VariableDefinition[],
    values: Record<string, ExprValue>,
  ): VariableSet {
    const vars = base.clone();
    for (const d of definitions) {
      const runtime = /^\s*\$\[(.*)\]\s*$/s.exec(d.value);
      if (runtime) {
        try {
          const evaluated = compileExpression(runtime[1].trim()).evaluate({
            values: { ...values, variables: vars.expandedValues() },
          });
          vars.set(d.name, toStr(evaluated));
        } catch (err) {
          if (err instanceof ExpressionError) throw new ExpressionError(`variable ${d.name}: ${err.message}`);
          throw err;
        }
      } else {
        vars.set(d.name, d.value);
      }
    }
    for (const [name, value] of Object.entries(this.options.variables ?? {})) vars.set(name, value);
    for (const [name, value] of Object.entries(this.options.secretVariables ?? {}))
      vars.set(name, value, { secret: true });
    return vars;
  }

  // ---- stages -------------------------------------------------------------------------

  private async runStage(stage: StageDefinition): Promise<StageRecord> {
    const started = Date.now();
    const label = stage.displayName ?? stage.name;
    const skipped = (reason: string): StageRecord => {
      const record: StageRecord = {
        name: stage.name,
        displayName: label,
        result: "Skipped",
        reason,
        durationMs: 0,
        jobs: stage.jobs.map((j) => this.skippedJob(stage, j, "its stage did not run")),
      };
      this.stageOutcomes.set(stage.name.toLowerCase(), {
        result: "Skipped",
        outputs: {},
        jobs: new Map(record.jobs.map((j) => [j.name.toLowerCase(), { result: "Skipped", outputs: {} }])),
      });
      this.emit({ type: "stageFinished", stage: record });
      return record;
    };
    if (stage.unsupported) return skipped(`not supported: ${stage.unsupported}`);

    const dependencies: Record<string, ExprValue> = {};
    const results: Record<string, RunResult> = {};
    for (const d of stage.dependsOn) {
      const o = this.stageOutcomes.get(d.toLowerCase())!;
      dependencies[d] = { result: o.result, outputs: o.outputs };
      results[d] = o.result;
    }
    const verdict = this.decide(stage.condition, "stage", {
      values: { variables: this.pipelineVariables.expandedValues(), dependencies },
      status: { kind: "dependencies", results, canceled: this.canceled },
    });
    if (!verdict.run)
      return verdict.invalid ? this.finishStage(stage, started, [], verdict.reason) : skipped(verdict.reason);

    const environments = [...new Set(stage.jobs.flatMap((j) => (j.environment ? [j.environment] : [])))];
    if (environments.length > 0) {
      const which = environments.map((e) => `'${e}'`).join(", ");
      if (!this.options.approvals) {
        this.emit({
          type: "notice",
          level: "info",
          message: `Stage ${stage.name}: the approvals and checks of environment ${which} are not simulated; the stage runs as if they passed.`,
        });
      } else {
        const decision = await this.options.approvals({
          stage: stage.name,
          displayName: label,
          environments,
        });
        const said = `${decision.by}${decision.comment ? `: "${decision.comment}"` : ""}`;
        if (decision.verdict === "approved")
          this.emit({
            type: "notice",
            level: "info",
            message: `Stage ${stage.name}: environment ${which} approved by ${said}`,
          });
        else
          return this.finishStage(
            stage,
            started,
            [],
            `the approval of environment ${which} was rejected by ${said}`,
          );
      }
    }
    this.emit({ type: "stageStarted", stage: stage.name, displayName: label });
    let stageVariables: VariableSet;
    try {
      stageVariables = this.layer(this.pipelineVariables, stage.variables, { dependencies });
    } catch (err) {
      return this.finishStage(stage, started, [], `stage variables: ${(err as Error).message}`);
    }
    const stageDependencies: Record<string, ExprValue> = {};
    for (const d of stage.dependsOn) {
      const jobs: Record<string, ExprValue> = {};
      for (const [name, o] of this.stageOutcomes.get(d.toLowerCase())!.jobs)
        jobs[name] = { result: o.result, outputs: o.outputs };
      stageDependencies[d] = jobs;
    }
    const checks = this.options.stageChecks;
    const checkContext = (): StageCheckContext => ({
      stage,
      variables: stageVariables.expandedValues(),
      notice: (level, message) => this.emit({ type: "notice", level, message }),
      signal: this.options.signal,
    });
    const refused = await checks?.before?.(checkContext());
    if (refused) return this.finishStage(stage, started, [], refused);
    const jobOutcomes = new Map<string, Outcome>();
    const records: JobRecord[] = [];
    for (const job of runOrder(stage.jobs)) {
      const record = await this.runJob(stage, job, stageVariables, jobOutcomes, stageDependencies);
      records.push(record);
    }
    records.sort(
      (a, b) =>
        stage.jobs.findIndex((j) => j.name === a.name) - stage.jobs.findIndex((j) => j.name === b.name),
    );
    const ran = records.filter((j) => j.result !== "Skipped").map((j) => j.result);
    if (checks?.after && ran.length > 0 && ["Succeeded", "SucceededWithIssues"].includes(worst(ran))) {
      const failed = await checks.after(checkContext());
      if (failed) return this.finishStage(stage, started, records, failed);
    }
    return this.finishStage(stage, started, records);
  }

  private finishStage(
    stage: StageDefinition,
    started: number,
    jobs: JobRecord[],
    failure?: string,
  ): StageRecord {
    const ran = jobs.filter((j) => j.result !== "Skipped").map((j) => j.result);
    const result: RunResult = failure ? "Failed" : ran.length === 0 ? "Skipped" : worst(ran);
    const record: StageRecord = {
      name: stage.name,
      displayName: stage.displayName ?? stage.name,
      result,
      reason: failure ?? (ran.length === 0 ? "none of its jobs ran" : undefined),
      durationMs: Date.now() - started,
      jobs,
    };
    const outputs: Record<string, string> = {};
    const jobOutcomes = new Map<string, Outcome>();
    for (const j of jobs) {
      const o = this.jobOutcomeCache.get(`${stage.name}/${j.name}`.toLowerCase()) ?? {
        result: j.result,
        outputs: {},
      };
      jobOutcomes.set(j.name.toLowerCase(), o);
      for (const [k, v] of Object.entries(o.outputs)) outputs[`${j.name}.${k}`] = v;
    }
    this.stageOutcomes.set(stage.name.toLowerCase(), { result, outputs, jobs: jobOutcomes });
    if (failure)
      this.emit({ type: "notice", level: "warning", message: `Stage ${stage.name} failed: ${failure}` });
    this.emit({ type: "stageFinished", stage: record });
    return record;
  }

  /** Runs when the condition (default `succeeded()`) holds; an invalid condition fails. */
  private decide(
    condition: string | undefined,
    what: "stage" | "job" | "step",
    context: { values: Record<string, ExprValue>; status: StatusContext },
  ): { run: true } | { run: false; reason: string; invalid?: boolean } {
    const source = condition?.trim() ? condition.trim() : "succeeded()";
    const variables = context.values.variables as Record<string, string> | undefined;
    const expanded = expandMacros(source, (n) => {
      const key = Object.keys(variables ?? {}).find((k) => k.toLowerCase() === n.toLowerCase());
      return key === undefined ? undefined : variables![key];
    });
    try {
      if (evaluateCondition(expanded, context)) return { run: true };
    } catch (err) {
      if (err instanceof ExpressionError)
        return { run: false, reason: `its condition cannot be evaluated: ${err.message}`, invalid: true };
      throw err;
    }
    if (this.canceled) return { run: false, reason: "the run was canceled" };
    if (!condition?.trim())
      return {
        run: false,
        reason:
          what === "step"
            ? "an earlier step failed (default condition succeeded())"
            : "what it depends on did not succeed (default condition succeeded())",
      };
    return { run: false, reason: `condition ${source} is false` };
  }

  // ---- jobs ---------------------------------------------------------------------------

  private skippedJob(stage: StageDefinition, job: JobDefinition, reason: string): JobRecord {
    return {
      stage: stage.name,
      name: job.name,
      displayName: job.displayName ?? job.name,
      result: "Skipped",
      reason,
      durationMs: 0,
      steps: [],
      outputs: {},
    };
  }

  private async runJob(
    stage: StageDefinition,
    job: JobDefinition,
    stageVariables: VariableSet,
    siblings: Map<string, Outcome>,
    stageDependencies: Record<string, ExprValue>,
  ): Promise<JobRecord> {
    const started = Date.now();
    const label = job.displayName ?? job.name;
    const finish = (record: JobRecord, outcome: Outcome): JobRecord => {
      siblings.set(job.name.toLowerCase(), outcome);
      this.jobOutcomeCache.set(`${stage.name}/${job.name}`.toLowerCase(), outcome);
      this.emit({ type: "jobFinished", job: record });
      return record;
    };
    const skip = (reason: string, result: RunResult = "Skipped") =>
      finish({ ...this.skippedJob(stage, job, reason), result }, { result, outputs: {} });
    if (job.unsupported) return skip(`not supported: ${job.unsupported}`);

    const dependencies: Record<string, ExprValue> = {};
    const results: Record<string, RunResult> = {};
    for (const d of job.dependsOn) {
      const o = siblings.get(d.toLowerCase())!;
      dependencies[d] = { result: o.result, outputs: o.outputs };
      results[d] = o.result;
    }
    const values = { variables: stageVariables.expandedValues(), dependencies, stageDependencies };
    const verdict = this.decide(job.condition, "job", {
      values,
      status: { kind: "dependencies", results, canceled: this.canceled },
    });
    if (!verdict.run) return skip(verdict.reason, verdict.invalid ? "Failed" : "Skipped");

    this.emit({ type: "jobStarted", stage: stage.name, job: job.name, displayName: label });
    const tempDirectory = this.folder.jobDirectory(stage.name, job.name);
    let variables: VariableSet;
    try {
      variables = this.layer(stageVariables, job.variables, { dependencies, stageDependencies });
    } catch (err) {
      const message = `job variables: ${(err as Error).message}`;
      this.emit({ type: "notice", level: "warning", message: `Job ${job.name} failed: ${message}` });
      return finish(
        { ...this.skippedJob(stage, job, message), result: "Failed", durationMs: Date.now() - started },
        { result: "Failed", outputs: {} },
      );
    }
    const readOnly: Record<string, string> = {
      "System.StageName": stage.name,
      "System.StageDisplayName": stage.displayName ?? stage.name,
      "System.StageAttempt": "1",
      "System.JobName": job.name,
      "System.JobDisplayName": label,
      "System.JobAttempt": "1",
      "System.JobId": stableGuid(`${this.identity.buildId}:${stage.name}:${job.name}`),
      "System.PhaseName": job.name,
      "System.PhaseDisplayName": label,
      "Agent.JobName": label,
      "Agent.TempDirectory": tempDirectory,
      "Agent.BuildDirectory": tempDirectory,
      // Apart from the temp folder, as on an agent: downloads land here, tasks write there.
      "Pipeline.Workspace": join(tempDirectory, "w"),
      "Build.ArtifactStagingDirectory": join(tempDirectory, "a"),
      "Build.StagingDirectory": join(tempDirectory, "a"),
      "Common.TestResultsDirectory": join(tempDirectory, "TestResults"),
    };
    for (const [name, value] of Object.entries(readOnly)) variables.set(name, value);
    if (this.options.accessToken)
      variables.set("System.AccessToken", this.options.accessToken, { secret: true });

    const ctx: JobContext = {
      stage,
      job,
      variables,
      status: "Succeeded",
      tempDirectory,
      generatedNames: new Map(),
      outputs: {},
    };
    const deadline = job.timeoutInMinutes > 0 ? started + job.timeoutInMinutes * 60_000 : Infinity;
    const steps: StepRecord[] = [];
    for (const step of job.steps) steps.push(await this.runStep(ctx, step, deadline));

    let result: RunResult = this.canceled && ctx.status !== "Failed" ? "Canceled" : ctx.status;
    if (result === "Failed" && job.continueOnError) result = "SucceededWithIssues";
    const prefix = job.kind === "deployment" ? `${job.name}.` : "";
    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(ctx.outputs)) outputs[`${prefix}${k}`] = v;
    const record: JobRecord = {
      stage: stage.name,
      name: job.name,
      displayName: label,
      result,
      durationMs: Date.now() - started,
      steps,
      outputs: this.maskedMap(outputs, variables),
      tempDirectory,
    };
    return finish(record, { result, outputs });
  }

  private maskedMap(values: Record<string, string>, variables: VariableSet): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) {
      const plain = k.split(".").slice(-2).join(".");
      out[k] = variables.isSecret(plain) ? "***" : this.masker.mask(v);
    }
    return out;
  }

  // ---- steps --------------------------------------------------------------------------

  private stepName(ctx: JobContext, step: StepDefinition, taskName: string): string {
    if (step.name) return step.name;
    const n = (ctx.generatedNames.get(taskName) ?? 0) + 1;
    ctx.generatedNames.set(taskName, n);
    return `${taskName}${n}`;
  }

  private async runStep(ctx: JobContext, step: StepDefinition, deadline: number): Promise<StepRecord> {
    const { stage, job, variables } = ctx;
    const found = step.kind === "task" ? this.catalog.find(step.task) : undefined;
    const task = found && "task" in found ? found.task : undefined;
    const name = this.stepName(
      ctx,
      step,
      task?.name ??
        (step.kind === "task" ? step.task.split("@")[0] : step.label.split(":")[0]).replace(/\W/g, "_"),
    );
    const expand = (text: string) => expandMacros(text, (n) => variables.get(n));
    const label = step.kind === "task" ? step.task : step.label;
    const displayName = this.masker.mask(
      step.displayName
        ? expand(step.displayName)
        : step.kind === "task" && task
          ? defaultDisplayName(task, step.inputs, expand)
          : label,
    );
    const base: StepRecord = {
      index: step.index,
      name,
      displayName,
      label,
      result: "Skipped",
      attempts: 0,
      durationMs: 0,
      outputs: {},
      warnings: [],
      errors: [],
      summaries: [],
      artifacts: [],
      testResults: [],
    };
    const notRun = (message: string, unsupported = false): StepRecord => {
      const record: StepRecord = { ...base, message, unsupported: unsupported || undefined };
      this.emit({ type: "stepFinished", stage: stage.name, job: job.name, step: record });
      return record;
    };

    const jobFailed = ctx.status === "Failed";
    if (step.hook === "onFailure" && !jobFailed)
      return notRun("on: failure steps run only when the deployment failed");
    if (step.hook === "onSuccess" && (jobFailed || this.canceled))
      return notRun("on: success steps run only when the deployment succeeded");
    if (step.kind === "unsupported") return notRun(`not supported: ${step.reason}`, true);
    const problem = found && "problem" in found ? found.problem : task?.notRunnable;
    if (step.kind === "task" && (problem || !task)) return notRun(`not supported: ${problem}`, true);
    if (!step.enabled) return notRun("enabled: false");

    variables.set("Agent.JobStatus", ctx.status);
    const verdict = this.decide(step.condition, "step", {
      values: { variables: variables.expandedValues() },
      status: { kind: "step", jobStatus: ctx.status, canceled: this.canceled },
    });
    if (!verdict.run) {
      if (!verdict.invalid) return notRun(verdict.reason);
      const record: StepRecord = { ...base, result: "Failed", message: verdict.reason };
      ctx.status = "Failed";
      this.emit({ type: "stepFinished", stage: stage.name, job: job.name, step: record });
      return record;
    }
    if (step.kind === "task" && found && "majorDiffers" in found && found.majorDiffers)
      this.emit({
        type: "notice",
        level: "info",
        message: `${step.task}: runs the built ${task!.name} ${task!.version}.`,
      });

    const started = Date.now();
    let record: StepRecord = base;
    const attempts = step.kind === "task" ? 1 + step.retryCountOnTaskFailure : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      this.emit({
        type: "stepStarted",
        stage: stage.name,
        job: job.name,
        index: step.index,
        name,
        displayName,
        label,
        attempt,
      });
      record =
        step.kind === "download"
          ? this.download(ctx, step, { ...base, attempts: attempt })
          : await this.runTaskOnce(ctx, step, task!, { ...base }, deadline, attempt);
      if (record.result !== "Failed" || this.canceled || attempt === attempts) break;
      this.emit({
        type: "notice",
        level: "warning",
        message: `${displayName} failed; retrying (attempt ${attempt + 1} of ${attempts}).`,
      });
    }
    record.durationMs = Date.now() - started;
    if (record.result === "Failed" && step.continueOnError) {
      record.result = "SucceededWithIssues";
      record.continuedOnError = true;
    }
    ctx.status = worst([ctx.status, record.result === "Skipped" ? "Succeeded" : record.result]);
    this.emit({ type: "stepFinished", stage: stage.name, job: job.name, step: record });
    return record;
  }

  /**
   * `download: current`: what this run's earlier jobs published, copied as the agent downloads it,
   * into `$(Pipeline.Workspace)/<artifact>`. An artifact the run does not have fails the step, as
   * in Azure DevOps.
   */
  private download(ctx: JobContext, step: DownloadStepDefinition, record: StepRecord): StepRecord {
    const started = Date.now();
    const workspace = ctx.variables.get("Pipeline.Workspace") ?? ctx.tempDirectory;
    const available = this.folder.artifactNames();
    const wanted = step.artifact ? [step.artifact] : available;
    const missing = wanted.filter((a) => !available.includes(a));
    const show = (kind: "text" | "error", text: string) =>
      this.emit({
        type: "stepLog",
        stage: ctx.stage.name,
        job: ctx.job.name,
        index: step.index,
        line: { kind, text, stream: "stdout" },
      });
    if (missing.length > 0) {
      const message = `Artifact ${missing.join(", ")} was not found for this run (it has ${available.length ? available.join(", ") : "no artifacts"} so far).`;
      show("error", message);
      return { ...record, result: "Failed", message, errors: [message], durationMs: Date.now() - started };
    }
    let files = 0;
    for (const artifact of wanted) files += this.folder.downloadArtifact(artifact, join(workspace, artifact));
    const message = `Downloaded ${files} file(s) of ${wanted.join(", ")} to ${workspace}.`;
    show("text", message);
    return { ...record, result: "Succeeded", message, durationMs: Date.now() - started };
  }

  private async runTaskOnce(
    ctx: JobContext,
    step: TaskStepDefinition,
    task: BuiltTask,
    record: StepRecord,
    deadline: number,
    attempt: number,
  ): Promise<StepRecord> {
    const { stage, job, variables } = ctx;
    record.attempts = attempt;
    const expand = (text: string) => expandMacros(text, (n) => variables.get(n));
    const logFile = this.folder.stepLogFile(stage.name, job.name, step.index, record.name);
    const logText: string[] = [];
    const show = (line: LogLine) => {
      logText.push(line.kind === "text" ? line.text : `##[${line.kind}]${line.text}`);
      this.emit({ type: "stepLog", stage: stage.name, job: job.name, index: step.index, line });
    };
    const fail = (message: string): StepRecord => {
      show({ kind: "error", text: message, stream: "stdout" });
      writeFileSync(logFile, `${logText.join("\n")}\n`);
      return { ...record, result: "Failed", message, errors: [message], logFile };
    };

    // Inputs as the agent passes them: macros expanded, task.json defaults for the rest.
    const inputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.inputs)) {
      const input = findInput(task, key);
      if (!input) {
        show({
          kind: "warning",
          text: `Input '${key}' is not an input of ${task.name}; it is ignored.`,
          stream: "stdout",
        });
        continue;
      }
      const rewrite = this.options.rewriteInput?.(task.name, input.name, value, {
        expand,
        workingDirectory: this.workingDirectory,
        tempDirectory: ctx.tempDirectory,
      });
      for (const text of rewrite?.notes ?? []) show({ kind: "text", text, stream: "stdout" });
      inputs[input.name] = expand(rewrite?.value ?? value);
    }
    Object.assign(inputs, this.options.inputOverrides?.[task.name]);
    for (const input of task.inputs)
      if (!(input.name in inputs) && input.defaultValue !== undefined && input.defaultValue !== "")
        inputs[input.name] = expand(input.defaultValue);

    const endpoints: Record<string, EndpointSetup> = {};
    for (const input of task.inputs) {
      const value = inputs[input.name];
      if (!input.type.startsWith("connectedService:") || !value) continue;
      const type = input.type.slice("connectedService:".length);
      const endpoint = this.options.connections?.(value, type);
      if (!endpoint) {
        const hint = this.options.connectionHint ? ` ${this.options.connectionHint}` : "";
        return fail(
          `Service connection '${value}' (${type}, input ${input.name}) is not available in this local run.${hint}`,
        );
      }
      for (const p of Object.values(endpoint.parameters ?? {})) this.masker.add(p);
      const id = stableGuid(`endpoint:${type}:${value}`);
      endpoints[id] = endpoint;
      inputs[input.name] = id;
    }
    if (this.options.accessToken) {
      endpoints.SystemVssConnection = {
        url: this.identity.collectionUri,
        scheme: "OAuth",
        parameters: { AccessToken: this.options.accessToken },
      };
    }

    const publicVariables: Record<string, string> = {};
    const secretVariables: Record<string, string> = {};
    for (const v of variables.list()) {
      const value = expand(v.value);
      if (v.secret) secretVariables[v.name] = value;
      else publicVariables[v.name] = value;
    }
    // The agent tells each step its display name (the step's section title on the run's page).
    publicVariables["Task.DisplayName"] = record.displayName;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env)) env[k] = expand(v);

    const stop = new AbortController();
    const onCancel = () => stop.abort();
    // Only a step running when the run is canceled is stopped: always() steps after it still run.
    this.options.signal?.addEventListener("abort", onCancel, { once: true });
    const stepDeadline = Math.min(
      deadline,
      step.timeoutInMinutes ? Date.now() + step.timeoutInMinutes * 60_000 : Infinity,
    );
    let timedOut = false;
    const timer = Number.isFinite(stepDeadline)
      ? setTimeout(
          () => {
            timedOut = true;
            stop.abort();
          },
          Math.max(0, stepDeadline - Date.now()),
        )
      : undefined;

    const onLine = (line: string, stream: "stdout" | "stderr") => {
      const cmd = stream === "stdout" ? parseLoggingCommand(line) : undefined;
      if (cmd?.command === "task.setsecret") this.masker.add(cmd.data);
      if (
        cmd?.command === "task.setvariable" &&
        /^true$/i.test(cmd.properties.issecret ?? cmd.properties.isSecret ?? "")
      )
        this.masker.add(cmd.data);
      const shown =
        stream === "stdout" ? classifyLogLine(line, stream) : { kind: "text" as const, text: line, stream };
      if (!shown || (shown.kind === "debug" && !this.options.debug)) return;
      show({ ...shown, text: this.masker.mask(shown.text) });
    };

    let run: TaskRun;
    try {
      run = await startBuiltTask(task.directory.split(/[\\/]/).at(-1)!, {
        tasksDirectory: this.catalog.directory,
        inputs,
        endpoints,
        variables: publicVariables,
        secretVariables,
        env,
        cwd: this.workingDirectory,
        tempDirectory: ctx.tempDirectory,
        timeoutMs: 0,
        onLine,
        signal: stop.signal,
      }).done;
    } catch (err) {
      return fail(`${task.name} could not be started: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      this.options.signal?.removeEventListener("abort", onCancel);
    }
    writeFileSync(logFile, `${logText.join("\n")}\n`);

    const { result, message } = timedOut
      ? { result: "Failed" as const, message: `${task.name} timed out and was stopped.` }
      : stop.signal.aborted
        ? { result: "Canceled" as const, message: run.result?.message ?? `${task.name} was canceled.` }
        : taskResult(run);
    const outputs: Record<string, string> = {};
    for (const [variable, v] of Object.entries(run.variables)) {
      if (v.isOutput) {
        variables.set(`${record.name}.${variable}`, v.value, { secret: v.isSecret });
        ctx.outputs[`${record.name}.${variable}`] = v.value;
        outputs[variable] = v.isSecret ? "***" : this.masker.mask(v.value);
      } else {
        variables.set(variable, v.value, { secret: v.isSecret });
      }
    }
    return {
      ...record,
      result,
      message: message === undefined ? undefined : this.masker.mask(message),
      outputs,
      warnings: run.warnings.map((w) => this.masker.mask(w)),
      errors: run.errors.map((e) => this.masker.mask(e)),
      logFile,
      ...this.collectFiles(ctx, record, run),
    };
  }

  /** Copies what the task published into the output folder. */
  private collectFiles(
    ctx: JobContext,
    record: StepRecord,
    run: TaskRun,
  ): Pick<StepRecord, "summaries" | "artifacts" | "testResults"> {
    const { stage, job } = ctx;
    const at = (p: string) => resolve(this.workingDirectory, p);
    const missing = (what: string, p: string) =>
      this.emit({
        type: "notice",
        level: "warning",
        message: `${record.displayName}: ${what} ${p} does not exist.`,
      });
    const summaries: string[] = [];
    for (const s of run.summaries) {
      if (!existsSync(at(s))) {
        missing("summary", s);
        continue;
      }
      const dest = this.folder.copySummary(at(s), stage.name, job.name, record.name);
      const content = this.masker.mask(readFileSync(dest, "utf8"));
      writeFileSync(dest, content);
      summaries.push(dest);
      this.summaryParts.push(
        `## ${record.displayName}\n\n_${stage.name} / ${job.name} / ${record.name}_\n\n${content.trimEnd()}\n`,
      );
    }
    const artifacts: string[] = [];
    const testResults: string[] = [];
    for (const a of run.artifacts) {
      if (!existsSync(at(a.path))) {
        missing(`artifact ${a.name} file`, a.path);
        continue;
      }
      const copied = this.folder.copyArtifact(a.name, at(a.path));
      artifacts.push(...copied);
      if (a.name === recordArtifactName)
        for (const f of copied) {
          const list = isDeploymentReportFile(f) ? this.files.jobReports : this.files.records;
          if (!list.includes(f)) list.push(f);
        }
      for (const f of copied)
        if (f.endsWith(".xml") && /<testsuites?[\s>]/.test(readFileSync(f, "utf8"))) testResults.push(f);
    }
    for (const publish of run.testResults)
      for (const f of publish.files) {
        if (!existsSync(at(f))) {
          missing("test result", f);
          continue;
        }
        testResults.push(this.folder.copyTestResult(at(f), stage.name, job.name));
      }
    this.files.summaries.push(...summaries);
    this.files.artifacts.push(...artifacts);
    this.files.testResults.push(...testResults);
    return { summaries, artifacts, testResults };
  }
}

/** The task's instanceNameFormat with its `$(input)` references filled in, as the agent names an unnamed step. */
function defaultDisplayName(
  task: BuiltTask,
  inputs: Record<string, string>,
  expand: (t: string) => string,
): string {
  const format = task.instanceNameFormat ?? task.friendlyName;
  return format
    .replace(/\$\(([^)]+)\)/g, (_m, name: string) => {
      const key = Object.keys(inputs).find(
        (k) => findInput(task, k)?.name.toLowerCase() === name.toLowerCase(),
      );
      const fallback = task.inputs.find((i) => i.name.toLowerCase() === name.toLowerCase())?.defaultValue;
      return expand(key === undefined ? (fallback ?? "") : inputs[key]);
    })
    .replace(/\s+/g, " ")
    .trim();
}

/** The step's result as the agent decides it: the task's own, else the exit code. */
function taskResult(run: TaskRun): { result: RunResult; message?: string } {
  const reported = run.result?.result?.toLowerCase();
  const message = run.result?.message || undefined;
  const exitProblem =
    run.exitCode !== 0
      ? `the task process exited with ${run.exitCode === null ? `signal ${run.signal}` : `code ${run.exitCode}`}`
      : undefined;
  switch (reported) {
    case "succeeded":
      return exitProblem
        ? { result: "Failed", message: `${message ?? "Succeeded"}, but ${exitProblem}` }
        : { result: "Succeeded", message };
    case "succeededwithissues":
      return { result: exitProblem ? "Failed" : "SucceededWithIssues", message };
    case "failed":
      return { result: "Failed", message };
    case "cancelled":
    case "canceled":
      return { result: "Canceled", message };
    case "skipped":
      return { result: "Skipped", message };
  }
  const stderr = run.stderr.trim().split("\n").slice(-3).join(" | ");
  return exitProblem
    ? { result: "Failed", message: `${exitProblem} without reporting a result${stderr ? `: ${stderr}` : ""}` }
    : { result: "Succeeded" };
}
