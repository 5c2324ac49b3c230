/**
 * Rewrites the deployment report beside the records each time a step publishes one: the last
 * step of a job leaves the report of the whole job in the `ev2-records` artifact.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TaskAgent } from "../agent/agent";
import type { RunIdentity, TaskRecord } from "../rollout/task-record";
import { DEPLOYMENT_REPORT_KIND, buildDeploymentReport, deploymentReportFiles } from "./deployment-report";
import { renderDeploymentReportMarkdown } from "./report-markdown";

/** Records are a few KB; anything this large in the folder is not one. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;

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

/** The task record in a file, or undefined when the file is not one. */
export function readRecordFile(path: string): TaskRecord | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile() || stat.size > MAX_RECORD_BYTES) return undefined;
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    return isRecord(value) ? value : undefined;
  } catch {
    // A file another step is still writing, or not JSON: the next step's report reads it.
    return undefined;
  }
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
 * `run` names) and uploads them; returns the JSON file. Records of earlier jobs that the job
 * downloaded (`download: current` of the artifact, into `$(Pipeline.Workspace)/<artifact>`)
 * are read too, so a job that does so reports on the whole run so far.
 */
export function publishDeploymentReport(
  agent: TaskAgent,
  dir: string,
  artifactName: string,
  run: Pick<RunIdentity, "stageName" | "jobName">,
): string {
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
  return json;
}
