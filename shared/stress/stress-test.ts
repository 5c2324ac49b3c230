/**
 * One stress test from validated options to a result document: check everything that can be
 * checked before sending anything, wait for the endpoints to be ready, load them, judge.
 */
import { checkBaselineThresholds, type BaselineSource } from "./baseline";
import { checkUniqueNames, type StressEndpoint } from "./endpoints";
import { StressInputError, type StressReadinessError } from "./errors";
import { runLoad, type LoadProgress } from "./engine";
import { EndpointRecorder } from "./measurements";
import { socketRouteFor } from "../http/transport";
import { waitUntilReady } from "./readiness";
import {
  buildResultDocument,
  describeLoad,
  type NotReadyEndpoint,
  type StressResultDocument,
} from "./result";
import {
  checkEndpointCount,
  checkEndpointUrl,
  validateLoadSettings,
  type StressLoadSettings,
} from "./settings";
import { ThresholdWatch } from "./sliding-window";
import { checkThresholdScopes, type StressThreshold } from "./thresholds";

export interface StressTestOptions extends StressLoadSettings {
  endpoints: StressEndpoint[];
  /** Parsed thresholds (parseThresholds gives the defaults for an empty input). */
  thresholds: StressThreshold[];
  /** A baseline run to compare with; required by thresholds such as `p95 < 1.2x baseline`. */
  baseline?: BaselineSource;
  /** Cancels promptly; the result then covers what ran and says aborted. */
  signal?: AbortSignal;
  /** About once a second during the load. */
  onProgress?: (progress: LoadProgress) => void;
  /** Told about each readiness probe that did not succeed yet. */
  onNotReady?: (endpoint: StressEndpoint, outcome: string, elapsedSeconds: number) => void;
  /**
   * Send the load and the readiness probes through the agent's proxy. Default false: load
   * through a corporate proxy measures the proxy. The agent's certificates apply either way.
   */
  useAgentProxy?: boolean;
}

/** Everything that can be wrong before a request is sent; throws StressInputError. */
export function checkStressTestOptions(options: StressTestOptions): void {
  validateLoadSettings(options);
  checkEndpointCount(options.endpoints.length);
  for (const e of options.endpoints) checkEndpointUrl(e.url);
  checkUniqueNames(options.endpoints);
  if (options.connections < options.endpoints.length) {
    throw new StressInputError(
      `connections (${options.connections}) must be at least the number of endpoints (${options.endpoints.length}): each endpoint gets connections of its own`,
      "connections",
    );
  }
  checkThresholdScopes(options.thresholds, options.endpoints);
  checkThresholdWindows(options.thresholds, validateLoadSettings(options).durationSeconds);
  checkBaselineThresholds(options.thresholds, options.baseline);
}

/** A window longer than the run could never fill. */
function checkThresholdWindows(thresholds: readonly StressThreshold[], durationSeconds: number): void {
  for (const t of thresholds) {
    if (t.window !== undefined && t.window.seconds > durationSeconds) {
      throw new StressInputError(
        `thresholds line ${t.line} "${t.text}": the ${t.window.seconds} s window is longer than the run (durationSeconds ${durationSeconds}), so it could never fill; give a window of at most ${durationSeconds} s (e.g. over ${Math.max(1, Math.floor(durationSeconds / 3))}s)`,
        "thresholds",
      );
    }
  }
}

/** A result with no request measured: the run was cancelled, or an endpoint never became ready. */
function nothingMeasured(
  options: StressTestOptions,
  startedAt: Date,
  why: { aborted: boolean; notReady?: NotReadyEndpoint[] },
): StressResultDocument {
  const settings = validateLoadSettings(options);
  return buildResultDocument({
    endpoints: options.endpoints,
    totals: options.endpoints.map((e) =>
      new EndpointRecorder(e.expectedStatus, settings.rate !== undefined).totals(0),
    ),
    thresholds: options.thresholds,
    load: describeLoad(settings),
    aborted: why.aborted,
    notReady: why.notReady,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    measuredSeconds: 0,
    jobs: 1,
    baseline: options.baseline,
  });
}

/**
 * The result of a run that `runStressTest` rejected with a StressReadinessError: nothing
 * measured, the endpoint recorded in `notReady`, not passed. What a job writes so that a merge
 * of its file fails too.
 */
export function notReadyResult(
  options: StressTestOptions,
  err: StressReadinessError,
  startedAt: Date,
): StressResultDocument {
  return nothingMeasured(options, startedAt, {
    aborted: false,
    notReady: [{ endpoint: err.endpoint, url: err.url, message: err.message }],
  });
}

/**
 * Runs a stress test. Rejects with StressInputError before any request for bad options, and
 * with StressReadinessError when an endpoint is not ready in time; otherwise resolves with the
 * result document (also when thresholds fail or the run was aborted).
 */
export async function runStressTest(options: StressTestOptions): Promise<StressResultDocument> {
  checkStressTestOptions(options);
  const settings = validateLoadSettings(options);
  const startedAt = new Date();
  const ready = await waitUntilReady(options.endpoints, {
    timeoutSeconds: settings.readinessTimeoutSeconds,
    requestTimeoutMs: settings.timeoutMs,
    signal: options.signal,
    onNotReady: options.onNotReady,
    useAgentProxy: options.useAgentProxy ?? false,
  });
  // Cancelled while waiting: a result with nothing measured, marked aborted.
  if (!ready) return nothingMeasured(options, startedAt, { aborted: true });
  const watch = ThresholdWatch.create(options.thresholds, options.endpoints);
  const outcome = await runLoad({
    ...settings,
    endpoints: options.endpoints,
    watch,
    signal: options.signal,
    onProgress: options.onProgress,
    routeFor: (url) => socketRouteFor(url, options.useAgentProxy ?? false),
  });
  return buildResultDocument({
    endpoints: options.endpoints,
    totals: outcome.totals,
    thresholds: options.thresholds,
    load: describeLoad(settings),
    aborted: outcome.aborted,
    earlyAbort: outcome.earlyAbort,
    windows: watch?.figures(),
    startedAt: outcome.startedAt.toISOString(),
    finishedAt: outcome.finishedAt.toISOString(),
    measuredSeconds: outcome.measuredSeconds,
    jobs: 1,
    baseline: options.baseline,
  });
}
