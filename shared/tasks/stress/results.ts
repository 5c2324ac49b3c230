/** What a StressTestStage run leaves behind: the result and JUnit files, and the step's outputs. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskAgent } from "../../agent/agent";
import type { RunIdentity } from "../../rollout/record";
import { renderJUnitXml, stressOutputs, type StressResultDocument } from "../../stress";
import type { StressSettings } from "./inputs";

/** The folder (under Agent.TempDirectory) the README tells PublishTestResults to read. */
export const stressResultsFolder = "stress";
/** The pipeline artifact that carries the result JSON and JUnit files. */
export const stressResultsArtifact = "stress-results";

export interface WrittenFiles {
  resultFile: string;
  junitFile: string;
}

/** Where this run's files go: one name per step, so steps and jobs never overwrite each other. */
export function fileStem(agent: TaskAgent, run: RunIdentity, startedAt: string, s: StressSettings): string {
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

export function writeResults(
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

export function setOutputs(agent: TaskAgent, doc: StressResultDocument, files: WrittenFiles): void {
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
