import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskAgent } from "../agent/agent";
import { approvalWaitSummary, publishDeploymentReport } from "../report/publish-report";
import type { RunIdentity, TaskRecord } from "./task-record";

export type { RunIdentity, TaskRecord } from "./task-record";

export const recordArtifactName = "ev2-records";

export function readRunIdentity(agent: TaskAgent): RunIdentity {
  const v = (name: string) => agent.getVariable(name);
  const collectionUri = v("System.CollectionUri") ?? v("System.TeamFoundationCollectionUri");
  const project = v("System.TeamProject");
  const buildId = v("Build.BuildId");
  const releaseId = v("Release.ReleaseId");
  const runUrl =
    releaseId && collectionUri && project
      ? `${collectionUri.replace(/\/?$/, "/")}${encodeURIComponent(project)}/_releaseProgress?releaseId=${releaseId}`
      : buildId && collectionUri && project
        ? `${collectionUri.replace(/\/?$/, "/")}${encodeURIComponent(project)}/_build/results?buildId=${buildId}`
        : undefined;
  return {
    collectionId: v("System.CollectionId"),
    collectionUri,
    projectId: v("System.TeamProjectId"),
    project,
    buildId,
    releaseId,
    releaseEnvironmentId: v("Release.EnvironmentId"),
    releaseDeploymentId: v("Release.DeploymentId"),
    stageName: v("System.StageName") ?? v("Release.EnvironmentName"),
    jobName: v("System.JobName") ?? v("System.PhaseName"),
    attempt: v("System.JobAttempt"),
    requestedFor: v("Build.RequestedFor") ?? v("Release.RequestedFor"),
    runUrl,
    repositoryId: v("Build.Repository.ID"),
    sourceVersion: v("Build.SourceVersion"),
  };
}

/**
 * The step's display name as a file name: the agent refuses an attachment whose name holds a
 * character that a file name may not (on any of its platforms), so those become spaces.
 */
function summaryTitle(agent: TaskAgent, task: string): string {
  const title = (agent.getVariable("Task.DisplayName") ?? "")
    // eslint-disable-next-line no-control-regex -- control characters are what must go
    .replace(/[\u0000-\u001f<>:"/\\|?*]+/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[. ]+$/, "")
    .slice(0, 100)
    .trim();
  return title || task;
}

/**
 * Writes the record and hands it to the agent, rewrites the job's deployment report
 * (docs/deployment-report.md) from every record in the folder, then writes the step's summary,
 * with the "Waiting for approval" block while EV2 waits at a wait action. Never throws: evidence
 * must not fail a run.
 */
export function publishRecord(
  agent: TaskAgent,
  record: TaskRecord,
  summaryMarkdown: string,
): string | undefined {
  const dir = join(agent.tempDirectory(), recordArtifactName);
  const stamp = record.startedAt.replace(/[:.]/g, "-");
  let file: string | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    const job = (record.run.jobName ?? "job").replace(/[^A-Za-z0-9_-]/g, "_");
    file = join(dir, `${job}-${record.task}-${stamp}.json`);
    writeFileSync(file, agent.redact(JSON.stringify(record, null, 2)));
    agent.uploadArtifact(recordArtifactName, file);
  } catch (err) {
    agent.warning(`Could not publish the ${record.task} record: ${(err as Error).message}`);
    return undefined;
  }
  let waiting = "";
  try {
    const { report } = publishDeploymentReport(agent, dir, recordArtifactName, record.run);
    waiting = approvalWaitSummary(agent, report);
  } catch (err) {
    agent.warning(`Could not update the deployment report: ${(err as Error).message}`);
  }
  try {
    // The Extensions tab titles each summary by its file name: name it after the step, in a
    // folder of its own since the agent uploads it after the step has moved on.
    const summaryDir = join(agent.tempDirectory(), "ev2-summaries", `${record.task}-${stamp}`);
    mkdirSync(summaryDir, { recursive: true });
    const summary = join(summaryDir, `${summaryTitle(agent, record.task)}.md`);
    writeFileSync(
      summary,
      agent.redact(waiting ? `${summaryMarkdown.replace(/\n*$/, "\n\n")}${waiting}` : summaryMarkdown),
    );
    agent.uploadSummary(summary);
  } catch (err) {
    agent.warning(`Could not publish the ${record.task} summary: ${(err as Error).message}`);
  }
  return file;
}
