/**
 * One load-generator run in a process of its own, reporting requests and the CPU time this
 * process spent on them (process.cpuUsage around the run only, so start-up is not counted).
 * Tells its parent "started" just before the load begins.
 */
import autocannon from "autocannon";
import { completeEndpoint, parseThresholds, runStressTest, validateLoadSettings } from "../../shared/stress";

export interface GeneratorJob {
  tool: "engine" | "autocannon";
  url: string;
  connections: number;
  durationSeconds: number;
  /** Engine only: open model at this rate. */
  rate?: number;
}

export interface GeneratorReport {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  /** User + system CPU of the generator process during the run, microseconds. */
  cpuMicros: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Open model: p99 from the actual send time. */
  uncorrectedP99Ms?: number | null;
  /** The generator process's peak resident memory, MB (start-up included). */
  peakRssMb?: number;
}

export type GeneratorMessage = { type: "started" } | { type: "report"; report: GeneratorReport };

async function runEngine(job: GeneratorJob): Promise<Omit<GeneratorReport, "cpuMicros">> {
  const doc = await runStressTest({
    ...validateLoadSettings({
      connections: job.connections,
      rate: job.rate,
      durationSeconds: job.durationSeconds,
      readinessTimeoutSeconds: 0,
    }),
    endpoints: [completeEndpoint({ url: job.url })],
    thresholds: parseThresholds(""),
  });
  const o = doc.overall;
  return {
    requests: o.requests,
    seconds: doc.measuredSeconds,
    requestsPerSecond: o.requestsPerSecond,
    errors: o.failures,
    p50Ms: o.latencyMs?.p50 ?? null,
    p99Ms: o.latencyMs?.p99 ?? null,
    ...(o.uncorrectedLatencyMs !== undefined
      ? { uncorrectedP99Ms: o.uncorrectedLatencyMs?.p99 ?? null }
      : {}),
  };
}

async function runAutocannon(job: GeneratorJob): Promise<Omit<GeneratorReport, "cpuMicros">> {
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSeconds,
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    errors: result.errors + result.timeouts + result.non2xx,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as GeneratorJob;
  process.send?.({ type: "started" } satisfies GeneratorMessage);
  const before = process.cpuUsage();
  const report = job.tool === "engine" ? await runEngine(job) : await runAutocannon(job);
  const cpu = process.cpuUsage(before);
  process.send?.(
    {
      type: "report",
      report: {
        ...report,
        cpuMicros: cpu.user + cpu.system,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
      },
    } satisfies GeneratorMessage,
    () => process.exit(0),
  );
}

void main();
