/**
 * StressTestStage: inputs (stress/inputs), a load run (stress/load) or a merge of parallel jobs'
 * results (stress/merge), the verdict (stress/verdict, which may cancel the rollout), the files and
 * outputs (stress/results), the baseline (stress/baseline) and the record of the step.
 */
import { basename } from "node:path";
import type { TaskAgent } from "../agent/agent";
import type { TaskOutcome } from "../agent/run-task";
import { connectEv2 } from "../ev2/connection";
import { findRunRollout } from "../rollout/find-rollout";
import { publishRecord, readRunIdentity } from "../rollout/record";
import { describeDistribution, renderMarkdownSummary, stressOutputs } from "../stress";
import { httpOptionsFor } from "./common";
import { publishBaselineFile, readBaseline, stressBaselineArtifact } from "./stress/baseline";
import { beforeAnyLoad, readStressInputs } from "./stress/inputs";
import { prepareLoad, runLoad } from "./stress/load";
import { mergeFiles } from "./stress/merge";
import { fileStem, setOutputs, stressResultsArtifact, writeResults } from "./stress/results";
import { decideVerdict, describeVerdict } from "./stress/verdict";

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
  const load = s.mode === "merge" ? undefined : await prepareLoad(agent, s, baseline);
  // cancelRollout with rolloutId empty: the rollout this release or run started, found (or not) before any load.
  if (client && !s.rolloutId)
    s.rolloutId = (await findRunRollout(client, run, (m) => agent.info(m))).rolloutId;
  const doc = load ? await runLoad(agent, s, load) : await mergeFiles(agent, s, baseline);
  const verdictAt = doc.passed || doc.aborted ? "" : new Date().toISOString();

  const where = [s.region, s.stage].filter(Boolean).join(" ");
  const title = `Stress test${where ? ` ${where}` : ""}${s.mode === "merge" ? " (merged)" : ""}`;
  const files = writeResults(agent, doc, fileStem(agent, run, startedAt, s), title);
  setOutputs(agent, doc, files);
  agent.setOutput("verdictAt", verdictAt);

  const { result, message, notReady, failed, figures, cancel } = await decideVerdict(agent, s, doc, files, {
    client,
    run,
  });
  const o = stressOutputs(doc);
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
        // A windowed `abort` line stopped the load: which, where, when and the time to detect.
        earlyAbort: doc.earlyAbort && {
          threshold: doc.earlyAbort.threshold,
          scope: doc.earlyAbort.scope,
          endpoint: doc.earlyAbort.endpoint,
          observed: doc.earlyAbort.observed,
          windowSeconds: doc.earlyAbort.windowSeconds,
          atSeconds: doc.earlyAbort.atSeconds,
          firstFailingSecond: doc.earlyAbort.firstFailingSecond,
          timeToDetectSeconds: doc.earlyAbort.timeToDetectSeconds,
          resultFile: doc.earlyAbort.resultFile,
        },
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
