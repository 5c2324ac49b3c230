/**
 * One load-generator run in a process of its own, reporting requests and the CPU time this
 * process spent on them (process.cpuUsage around the run only, so start-up is not counted).
 * Tells its parent "started" just before the load begins.
 */
import * as net from "node:net";
import { completeEndpoint, parseThresholds, runStressTest, validateLoadSettings } from "../../shared/stress";
import { decodeHistogram } from "../../shared/stress/histogram";

export interface GeneratorJob {
  tool: "engine" | "autocannon" | "bare-node";
  /** One endpoint per URL, all on the same origin; the connections are shared out among them. */
  urls: string[];
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
  /** The user-space part of cpuMicros (the rest is the kernel's, on the process's behalf). */
  userCpuMicros?: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Open model: p99 from the actual send time. */
  uncorrectedP99Ms?: number | null;
  /** The generator process's peak resident memory, MB (start-up included). */
  peakRssMb?: number;
  /** Engine only: latencies in its histograms, which must be one per answered request. */
  latenciesRecorded?: number;
  /** Engine only: requests that got an answer (the rest failed in transport). */
  answered?: number;
}

export type GeneratorMessage = { type: "started" } | { type: "report"; report: GeneratorReport };

/** A run's figures, and checks to make once its CPU has been read (they are not the generator's work). */
interface Run {
  report: Omit<GeneratorReport, "cpuMicros">;
  afterwards?: () => Partial<GeneratorReport>;
}

async function runEngine(job: GeneratorJob): Promise<Run> {
  const doc = await runStressTest({
    ...validateLoadSettings({
      connections: job.connections,
      rate: job.rate,
      durationSeconds: job.durationSeconds,
      readinessTimeoutSeconds: 0,
    }),
    endpoints: job.urls.map((url, i) => completeEndpoint({ name: `endpoint${i + 1}`, url })),
    thresholds: parseThresholds(""),
  });
  const o = doc.overall;
  const report = {
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
  const afterwards = () => {
    let latenciesRecorded = 0;
    let answered = 0;
    for (const e of doc.endpoints) {
      latenciesRecorded += decodeHistogram(e.histogram).totalCount;
      for (const n of Object.values(e.statusCodes)) answered += n;
    }
    return { latenciesRecorded, answered };
  };
  return { report, afterwards };
}

async function runAutocannon(job: GeneratorJob): Promise<Run> {
  // Loaded only for its own runs: its module graph would otherwise sit in the engine's heap.
  const { default: autocannon } = await import("autocannon");
  const several = job.urls.length > 1;
  const result = await autocannon({
    url: several ? new URL(job.urls[0]).origin : job.urls[0],
    connections: job.connections,
    duration: job.durationSeconds,
    // Several endpoints: each connection goes through their paths in turn.
    ...(several ? { requests: job.urls.map((url) => ({ path: new URL(url).pathname })) } : {}),
  });
  return {
    report: {
      requests: result.requests.total,
      seconds: result.duration,
      requestsPerSecond: result.requests.total / result.duration,
      errors: result.errors + result.timeouts + result.non2xx,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
    },
  };
}

/**
 * Not a load generator but a floor: plain http over net sockets that write the request again on
 * every read, with no parsing, no clock and nothing recorded (it takes each read for one whole
 * answer, which holds for the sample service's small answers). It shows what Node's own socket
 * layer costs a request, beside the engine, which does the same I/O plus the work a load test
 * needs.
 */
async function runBareNode(job: GeneratorJob): Promise<Run> {
  const urls = job.urls.map((url) => new URL(url));
  const requests = urls.map((u) =>
    Buffer.from(`GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${u.host}\r\n\r\n`, "latin1"),
  );
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let answers = 0;
  let stop = false;
  const started = performance.now();
  const timer = setTimeout(() => (stop = true), job.durationSeconds * 1000);
  await new Promise<void>((done) => {
    let live = job.connections;
    for (let c = 0; c < job.connections; c++) {
      const url = urls[c % urls.length];
      const request = requests[c % urls.length];
      const socket: net.Socket = net.connect({
        host: url.hostname,
        port: Number(url.port),
        onread: {
          buffer,
          callback: () => {
            answers++;
            if (!stop) {
              socket.write(request);
              return true;
            }
            socket.destroy();
            if (--live === 0) done();
            return false;
          },
        },
      });
      socket.setNoDelay(true);
      socket.write(request);
    }
  });
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  return {
    report: {
      requests: answers,
      seconds,
      requestsPerSecond: answers / seconds,
      errors: 0,
      p50Ms: null,
      p99Ms: null,
    },
  };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as GeneratorJob;
  process.send?.({ type: "started" } satisfies GeneratorMessage);
  const before = process.cpuUsage();
  const run =
    job.tool === "engine"
      ? await runEngine(job)
      : job.tool === "bare-node"
        ? await runBareNode(job)
        : await runAutocannon(job);
  const cpu = process.cpuUsage(before);
  const report = { ...run.report, ...run.afterwards?.() };
  process.send?.(
    {
      type: "report",
      report: {
        ...report,
        cpuMicros: cpu.user + cpu.system,
        userCpuMicros: cpu.user,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
      },
    } satisfies GeneratorMessage,
    () => process.exit(0),
  );
}

void main();
