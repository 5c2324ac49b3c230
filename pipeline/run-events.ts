/** What a local run reports as it goes (events) and when it is over (records). */
import type { RunResult } from "./expressions";
import type { LogLine } from "./log-lines";
import type { PipelineNotice } from "./pipeline-file";

export type { RunResult } from "./expressions";

export interface StepRecord {
  /** 1-based position in the job. */
  index: number;
  /** The step's `name` (or the one the runner gave it): outputs are `$(<name>.<variable>)`. */
  name: string;
  displayName: string;
  /** `TriggerEv2Rollout@1`, or how an unsupported step reads (`script: npm test`). */
  label: string;
  result: RunResult;
  /** The task's own result message, or why it did not run. */
  message?: string;
  /** The runner cannot run this kind of step (script, another task, a template...). */
  unsupported?: boolean;
  /** Failed, but `continueOnError: true` made it count as succeeded with issues. */
  continuedOnError?: boolean;
  attempts: number;
  durationMs: number;
  /** Output variables (isOutput=true) by name, secrets shown as ***. */
  outputs: Record<string, string>;
  warnings: string[];
  errors: string[];
  logFile?: string;
  summaries: string[];
  artifacts: string[];
  testResults: string[];
}

export interface JobRecord {
  stage: string;
  name: string;
  displayName: string;
  result: RunResult;
  /** Why it did not run. */
  reason?: string;
  durationMs: number;
  steps: StepRecord[];
  /** `<step>.<variable>` → value, as `dependencies.<job>.outputs[...]` reads them (secrets as ***). */
  outputs: Record<string, string>;
  /** Agent.TempDirectory. */
  tempDirectory?: string;
}

export interface StageRecord {
  name: string;
  displayName: string;
  result: RunResult;
  reason?: string;
  durationMs: number;
  jobs: JobRecord[];
}

export interface RunFiles {
  /** run.json: everything below, for tools. */
  runRecord: string;
  /** One log per step, under logs/<stage>/<job>/. */
  logs: string;
  /** summary.md: every summary in run order, as the run's Extensions tab shows them. */
  summary?: string;
  summaries: string[];
  /** Task records of the `ev2-records` artifact (what each task did, for audit). */
  records: string[];
  /** Each job's deployment report (markdown and JSON) as the job uploaded it to `ev2-records`. */
  jobReports: string[];
  /** deployment-report.md and .json: the report of the whole run, built from every job's records. */
  report?: { markdown: string; json: string };
  /** Every artifact file, records included. */
  artifacts: string[];
  /** JUnit and other test result files. */
  testResults: string[];
}

export interface PipelineRunResult {
  file: string;
  result: RunResult;
  buildId: string;
  /** What the run is called in the timeline: "build 42", or "release Release-42" for a classic release. */
  runName: string;
  startedAt: string;
  durationMs: number;
  stages: StageRecord[];
  notices: PipelineNotice[];
  outputDirectory: string;
  files: RunFiles;
}

/** A step the runner will not run because it cannot, found before the run starts. */
export interface NotRunnableStep {
  where: string;
  label: string;
  reason: string;
}

export type PipelineEvent =
  | {
      type: "runStarted";
      file: string;
      buildId: string;
      runName: string;
      outputDirectory: string;
      notices: PipelineNotice[];
      notRunnable: NotRunnableStep[];
    }
  | { type: "stageStarted"; stage: string; displayName: string }
  | { type: "stageFinished"; stage: StageRecord }
  | { type: "jobStarted"; stage: string; job: string; displayName: string }
  | { type: "jobFinished"; job: JobRecord }
  | {
      type: "stepStarted";
      stage: string;
      job: string;
      index: number;
      name: string;
      displayName: string;
      label: string;
      attempt: number;
    }
  | { type: "stepLog"; stage: string; job: string; index: number; line: LogLine }
  | { type: "stepFinished"; stage: string; job: string; step: StepRecord }
  | { type: "notice"; level: "info" | "warning"; message: string }
  | { type: "runFinished"; result: PipelineRunResult };
