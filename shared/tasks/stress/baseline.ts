/**
 * StressTestStage's baselines: `baselineFile` read to compare with, and `publishBaseline`, a passed
 * run published for later runs to compare with.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskAgent } from "../../agent/agent";
import {
  formatMs,
  parseResultDocument,
  stressOutputs,
  type BaselineSource,
  type StressResultDocument,
} from "../../stress";
import { readInputFile, suppliedPath, type StressSettings } from "./inputs";

/** The pipeline artifact `publishBaseline` writes `baseline.json` into. */
export const stressBaselineArtifact = "stress-baseline";

/**
 * `publishBaseline`: a passed run becomes the baseline of later ones, as `baseline.json` in the
 * stress-baseline artifact (without its own comparison: a baseline stands on its own figures).
 */
export function publishBaselineFile(agent: TaskAgent, doc: StressResultDocument): string | undefined {
  if (!doc.passed) {
    agent.info(`Not published as the baseline: the run did not pass.`);
    return undefined;
  }
  const dir = join(agent.tempDirectory(), stressBaselineArtifact);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "baseline.json");
  const { baseline: _comparison, ...standalone } = doc;
  writeFileSync(file, agent.redact(JSON.stringify(standalone, null, 2)));
  agent.uploadArtifact(stressBaselineArtifact, file);
  agent.info(
    `Published this result as the baseline: baseline.json in the ${stressBaselineArtifact} artifact.`,
  );
  return file;
}

/** The baseline result the `baselineFile` input names; any problem is an input error naming it. */
export function readBaseline(agent: TaskAgent, s: StressSettings): BaselineSource | undefined {
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
