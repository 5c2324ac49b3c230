/** The step's result from a stress result: passed, failed (fail, warn or cancel the rollout), cancelled. */
import type { TaskAgent } from "../../agent/agent";
import type { TaskOutcome } from "../../agent/run-task";
import type { Ev2Client } from "../../ev2/client";
import type { RunIdentity } from "../../rollout/record";
import {
  describeEarlyAbort,
  describeNotReady,
  formatMs,
  stressOutputs,
  type StressResultDocument,
  type ThresholdVerdict,
} from "../../stress";
import { cancelReason, cancelRollout } from "./cancel";
import type { StressSettings } from "./inputs";
import type { WrittenFiles } from "./results";

export interface StressVerdict extends TaskOutcome {
  /** Why an endpoint never became ready, when one did not: the verdict whatever the thresholds say. */
  notReady?: string;
  failed: ThresholdVerdict[];
  /** "1200 requests, error rate 0%, p95 12 ms". */
  figures: string;
  cancel?: Awaited<ReturnType<typeof cancelRollout>>;
}

export function describeVerdict(v: ThresholdVerdict): string {
  return `${v.scope === "overall" ? "overall" : v.endpoint}: ${v.threshold} (${v.message})`;
}

export async function decideVerdict(
  agent: TaskAgent,
  s: StressSettings,
  doc: StressResultDocument,
  files: WrittenFiles,
  cancelWith: { client: Ev2Client | undefined; run: RunIdentity },
): Promise<StressVerdict> {
  // An endpoint that never became ready is the verdict, whatever the thresholds say.
  const notReady = doc.notReady?.map(describeNotReady).join("; ");
  const failed = doc.thresholds.filter((t) => !t.passed);
  const o = stressOutputs(doc);
  const figures = `${doc.overall.requests} requests, error rate ${o.errorRate ?? "n/a"}%, p95 ${o.p95Ms === null ? "n/a" : formatMs(o.p95Ms)}`;
  let result: TaskOutcome["result"];
  let message: string;
  let cancel: StressVerdict["cancel"];
  if (doc.aborted) {
    result = "Failed";
    message = `The stress test was cancelled after ${doc.measuredSeconds} s of measurement; the partial result, marked aborted, is in ${files.resultFile}.`;
  } else if (doc.passed) {
    result = "Succeeded";
    message = `Every threshold held (${doc.thresholds.length} checks; ${figures}).`;
  } else {
    const checks = `${failed.length} of ${doc.thresholds.length} threshold checks failed: ${failed.map(describeVerdict).join("; ")}`;
    const what =
      notReady ?? (doc.earlyAbort ? `The load was ${describeEarlyAbort(doc.earlyAbort)}. ${checks}` : checks);
    if (s.onThresholdFailure === "cancelRollout") {
      cancel = await cancelRollout(
        agent,
        cancelWith.client!,
        s.rolloutId!,
        cancelReason(what, cancelWith.run),
      );
      result = "Failed";
      message = `${what}. ${cancel.text}`;
    } else {
      result = s.onThresholdFailure === "warn" ? "SucceededWithIssues" : "Failed";
      message = `${what}.${s.onThresholdFailure === "warn" ? " The pipeline goes on (onThresholdFailure is warn)." : ""}`;
    }
  }
  return { result, message, notReady, failed, figures, cancel };
}
