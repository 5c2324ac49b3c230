/**
 * Rewrites the deployment report beside the records each time a step publishes one: the last
 * step of a job leaves the report of the whole job in the `ev2-records` artifact.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { TaskAgent } from "../agent/agent";
import type { RunIdentity, TaskRecord } from "../rollout/task-record";
import {
  DEPLOYMENT_REPORT_KIND,
  buildDeploymentReport,
  deploymentReportFiles,
  type DeploymentReport,
} from "./deployment-report";
import { renderApprovalWaitMarkdown, renderDeploymentReportMarkdown } from "./report-markdown";

/**
 * Records are a few KB; a follow of a rollout with tens of thousands of regions makes a large one.
 * Over this, a record is summarised for the report (its lists cut), never left out.
 */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Over this, the file is not parsed at all: the report names the step from the file name. */
const MAX_READ_BYTES = 64 * 1024 * 1024;
/** How many items of each list a summarised record keeps. */
const SUMMARY_LIST_ITEMS = 100;

/**
 * The task records in a folder (a job's `ev2-records` folder, or a downloaded artifact). Other
 * JSON there — the report itself, a Teams card kept after a failed delivery, an unreadable
 * file — is skipped, not an error.
 */
export function readRecordsFolder(dir: string): TaskRecord[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (name.endsWith(".json") ? (readRecordFile(join(dir, name)) ?? []) : []));
}

/** The task record in a file (summarised when it is very large), or undefined when the file is not one. */
export function readRecordFile(path: string): TaskRecord | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return undefined;
    if (stat.size > MAX_READ_BYTES) return unreadRecord(path, stat.size);
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (!isRecord(value)) return undefined;
    return stat.size > MAX_RECORD_BYTES ? summarised(value, stat.size) : value;
  } catch {
    // A file another step is still writing, or not JSON: the next step's report reads it.
    return undefined;
  }
}

const megabytes = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** The record with every list cut to its first items, and a note saying so. */
function summarised(record: TaskRecord, bytes: number): TaskRecord {
  const cut = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.slice(0, SUMMARY_LIST_ITEMS).map(cut)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x)]))
        : v;
  const note = `The record is ${megabytes(bytes)}: this report shows the first ${SUMMARY_LIST_ITEMS} items of each of its lists (regions, errors); the record in the artifact has them all.`;
  return {
    ...record,
    message: record.message ? `${record.message} ${note}` : note,
    details: { ...(cut(record.details) as TaskRecord["details"]), summarised: note },
  };
}

/** A record too large to read: the step still appears, named from its file (`<job>-<task>-<time>.json`). */
function unreadRecord(path: string, bytes: number): TaskRecord | undefined {
  const match = /^(.*)-([A-Za-z0-9]+)-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z)\.json$/.exec(basename(path));
  if (!match) return undefined;
  const [, job, task, stamp] = match;
  const startedAt = stamp.replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z$/, "T$1:$2:$3.$4Z");
  return {
    schemaVersion: 1,
    task,
    startedAt,
    endedAt: startedAt,
    result: "unknown",
    message: `The record (${basename(path)}) is ${megabytes(bytes)}, too large to read into the report; it is in the artifact.`,
    run: { jobName: job },
    details: {},
  };
}

function isRecord(v: unknown): v is TaskRecord {
  const o = v as Partial<TaskRecord> | null;
  return (
    o !== null &&
    typeof o === "object" &&
    !Array.isArray(o) &&
    (o as { kind?: unknown }).kind !== DEPLOYMENT_REPORT_KIND &&
    typeof o.task === "string" &&
    typeof o.startedAt === "string"
  );
}

/**
 * Builds the report from the folder's records, writes both files (redacted, named by the job
 * `run` names) and uploads them; returns the report and its JSON file. Records of earlier jobs that the job
 * downloaded (`download: current` of the artifact, into `$(Pipeline.Workspace)/<artifact>`)
 * are read too, so a job that does so reports on the whole run so far.
 */
export function publishDeploymentReport(
  agent: TaskAgent,
  dir: string,
  artifactName: string,
  run: Pick<RunIdentity, "stageName" | "jobName">,
): { report: DeploymentReport; file: string } {
  const workspace = agent.getVariable("Pipeline.Workspace");
  const downloaded = workspace ? join(workspace, artifactName) : undefined;
  const own = readdirSync(dir);
  const earlier =
    downloaded && resolve(downloaded) !== resolve(dir) && existsSync(downloaded)
      ? readdirSync(downloaded)
          .filter((name) => !own.includes(name))
          .flatMap((name) => (name.endsWith(".json") ? (readRecordFile(join(downloaded, name)) ?? []) : []))
      : [];
  const report = buildDeploymentReport([...earlier, ...readRecordsFolder(dir)]);
  const files = deploymentReportFiles(run);
  const json = join(dir, files.json);
  const markdown = join(dir, files.markdown);
  writeFileSync(json, agent.redact(`${JSON.stringify(report, null, 2)}\n`));
  writeFileSync(markdown, agent.redact(renderDeploymentReportMarkdown(report)));
  agent.uploadArtifact(artifactName, json);
  agent.uploadArtifact(artifactName, markdown);
  return { report, file: json };
}

/**
 * The "Waiting for approval" block a step adds to its summary while EV2 waits at a wait action:
 * the stage, the regions deployed since the last gate, the stress verdict and the link to approve.
 * Empty when EV2 does not wait, or when an earlier step of the job already showed the same block
 * (the Extensions tab keeps every step's summary: the block appears again only when it changed,
 * e.g. once the stress verdict is in).
 */
export function approvalWaitSummary(agent: TaskAgent, report: DeploymentReport): string {
  if (!report.waitingForApproval) return "";
  const block = agent.redact(renderApprovalWaitMarkdown(report.waitingForApproval));
  const dir = join(agent.tempDirectory(), "ev2-summaries");
  const last = join(dir, "waiting-for-approval.md");
  if (existsSync(last) && readFileSync(last, "utf8") === block) return "";
  mkdirSync(dir, { recursive: true });
  writeFileSync(last, block);
  return block;
}
