/** `mode: run`: the load settings checked before anything is sent, then the load itself. */
import type { TaskAgent } from "../../agent/agent";
import {
  StressInputError,
  StressReadinessError,
  checkStressTestOptions,
  notReadyResult,
  parseThresholds,
  runStressTest,
  validateLoadSettings,
  type BaselineSource,
  type LoadProgress,
  type StressEndpoint,
  type StressLoadSettings,
  type StressResultDocument,
  type StressThreshold,
} from "../../stress";
import { timestamped } from "../common";
import { stageEndpoints } from "./endpoints";
import { beforeAnyLoad, taskInputError, type StressSettings } from "./inputs";

interface PreparedLoad {
  endpoints: StressEndpoint[];
  thresholds: StressThreshold[];
  settings: StressLoadSettings;
  baseline?: BaselineSource;
}

/** Thresholds, load settings and endpoints, each checked before any request is sent. */
export function prepareLoad(
  agent: TaskAgent,
  s: StressSettings,
  baseline: BaselineSource | undefined,
): Promise<PreparedLoad> {
  return beforeAnyLoad(async () => {
    const thresholds = parseThresholds(s.thresholds);
    const settings = validateLoadSettings({
      connections: s.connections,
      rate: s.rate,
      durationSeconds: s.durationSeconds,
      requests: s.requests,
      warmupSeconds: s.warmupSeconds,
      timeoutMs: s.timeoutMs,
      readinessTimeoutSeconds: s.readinessTimeoutSeconds,
      pipelining: s.pipelining,
    });
    const endpoints = await stageEndpoints(agent, s);
    checkStressTestOptions({ ...settings, endpoints, thresholds, baseline });
    return { thresholds, settings, endpoints, baseline };
  });
}

function describeEndpoints(endpoints: readonly StressEndpoint[]): string {
  return endpoints.map((e) => `${e.method} ${e.url}`).join(", ");
}

function describeSettings(s: StressLoadSettings): string {
  const model =
    s.rate === undefined
      ? `closed model, ${s.connections} connections`
      : `open model, ${s.rate} requests/s on up to ${s.connections} connections`;
  const length =
    s.requests === undefined
      ? `${s.durationSeconds} s`
      : `${s.requests} requests (at most ${s.durationSeconds} s)`;
  return `${model}, ${length}${s.warmupSeconds > 0 ? ` after ${s.warmupSeconds} s of warm-up` : ""}${s.pipelining > 1 ? `, pipelining ${s.pipelining}` : ""}`;
}

/** Progress on the agent (every call) and a log line when the phase changes or every 10 s. */
function progressReporter(agent: TaskAgent, s: StressLoadSettings): (p: LoadProgress) => void {
  const totalSeconds = s.warmupSeconds + s.durationSeconds;
  let lastPhase: LoadProgress["phase"] | undefined;
  let lastLogAt = 0;
  return (p) => {
    const byTime = p.elapsedSeconds / totalSeconds;
    const byCount = s.requests === undefined ? 0 : p.requests / s.requests;
    const activity = p.phase === "warmup" ? "Warming up" : p.phase === "draining" ? "Finishing" : "Loading";
    agent.setProgress(Math.min(99, 100 * Math.max(byTime, byCount)), activity);
    if (p.phase === lastPhase && p.elapsedSeconds - lastLogAt < 10) return;
    lastPhase = p.phase;
    lastLogAt = p.elapsedSeconds;
    const what = p.phase === "warmup" ? "warming up" : p.phase === "draining" ? "finishing" : "measuring";
    agent.info(
      timestamped(
        `${Math.round(p.elapsedSeconds)} s, ${what}: ${p.requests} measured requests, ${p.failures} failed.`,
      ),
    );
  };
}

/** Logs a readiness probe only when what it saw changed, not every retry. */
function readinessReporter(agent: TaskAgent) {
  const lastSeen = new Map<string, string>();
  return (endpoint: StressEndpoint, outcome: string, elapsedSeconds: number) => {
    if (lastSeen.get(endpoint.name) === outcome) return;
    lastSeen.set(endpoint.name, outcome);
    agent.info(
      timestamped(`Waiting for ${endpoint.url} to be ready (${outcome}; ${elapsedSeconds.toFixed(1)} s).`),
    );
  };
}

export async function runLoad(
  agent: TaskAgent,
  s: StressSettings,
  prepared: PreparedLoad,
): Promise<StressResultDocument> {
  const { endpoints, thresholds, settings, baseline } = prepared;
  const startedAt = new Date();
  agent.info(
    `Stress-testing ${endpoints.length} endpoint${endpoints.length === 1 ? "" : "s"} (${describeEndpoints(endpoints)}): ${describeSettings(settings)}.`,
  );
  agent.info(`Thresholds: ${thresholds.map((t) => t.text).join("; ")}.`);
  const options = { ...settings, endpoints, thresholds, baseline };
  try {
    return await runStressTest({
      ...options,
      signal: agent.cancellation,
      onProgress: progressReporter(agent, settings),
      onNotReady: readinessReporter(agent),
      useAgentProxy: s.useAgentProxy,
    });
  } catch (err) {
    // Written to the result file too, so that a merge of this job's file fails as well.
    if (err instanceof StressReadinessError) return notReadyResult(options, err, startedAt);
    throw err instanceof StressInputError ? taskInputError(err) : err;
  }
}
