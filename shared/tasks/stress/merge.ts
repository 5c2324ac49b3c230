/** `mode: merge`: the result files of parallel jobs, found by path or glob, judged as one run. */
import type { TaskAgent } from "../../agent/agent";
import { InputError } from "../../agent/inputs";
import {
  checkThresholdScopes,
  mergeResults,
  parseResultDocument,
  parseThresholds,
  type BaselineSource,
  type StressResultDocument,
} from "../../stress";
import { matchFiles } from "../../stress/file-pattern";
import { beforeAnyLoad, readInputFile, workingDirectory, type StressSettings } from "./inputs";

export async function mergeFiles(
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
