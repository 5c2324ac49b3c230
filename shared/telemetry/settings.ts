/**
 * The telemetry judge's defaults and what its thresholds may say: light, for reading inputs
 * without loading the judge.
 */
import { isDistributionThreshold, type StressThreshold } from "../stress/thresholds";

/** Where the baseline comes from: each region's own earlier requests, or other regions pooled. */
export type BaselineKind = "previousVersion" | "otherRegions";

export const DEFAULT_JUDGE_SETTINGS = {
  alpha: 0.05,
  latencyTolerance: 1.1,
  errorRateTolerance: 0.5,
  minSamples: 100,
} as const;

/** The statistics' thresholds must be figures: the whole-distribution line is the judge's own test. */
export function telemetryThresholdProblem(t: StressThreshold): string | undefined {
  if (isDistributionThreshold(t))
    return `"${t.text}": the telemetry gate always compares latencies with the baseline (Mann-Whitney U); set latencyTolerance instead`;
  if (t.window)
    return `"${t.text}": a sliding window ("over ${t.window.seconds}s") is for StressTestStage's load; the telemetry gate judges its whole query window: write the line without it`;
  return undefined;
}
