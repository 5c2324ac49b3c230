/** StressTestStage's `publishBaseline`: a passed run published for later runs to compare with. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskAgent } from "../agent/agent";
import type { StressResultDocument } from "../stress";

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
