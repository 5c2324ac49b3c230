/**
 * Stress engine benchmark: throughput and generator CPU per request against autocannon and wrk
 * (when it is on PATH; this bench installs nothing), at 10 and 100 connections to one endpoint
 * and at 100 connections over 20 endpoints at once (one per region, every latency recorded),
 * plus the open model's accuracy against a service that freezes.
 *
 * The sample service runs in a child process and every generator run in another, so each
 * generator's CPU is its own. Runs alternate between tools, in a different order each round;
 * figures are medians over the rounds. On a shared machine the numbers move from run to run:
 * compare the ratios, not the absolute values.
 *
 *   npx tsx bench/stress.ts [--duration 5] [--rounds 5] [--connections 10,100] [--endpoints 20]
 *   (or STRESS_BENCH_DURATION, STRESS_BENCH_ROUNDS, STRESS_BENCH_CONNECTIONS, STRESS_BENCH_ENDPOINTS;
 *   --endpoints 0 leaves the many-endpoint case out)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { GeneratorJob, GeneratorMessage, GeneratorReport } from "./stress/generator-process";
import type { TargetProcessMessage, TargetProcessReport } from "./stress/target-process";
import type { TargetBehaviour } from "../sim/target-service";
import { times, type BenchResults } from "./results";

export interface StressBenchOptions {
  /** Seconds per generator run; default 5. */
  durationSeconds?: number;
  /**
   * Alternating rounds per case; default 5. A run's CPU per request moves by several percent on a
   * shared machine, so two rounds' median could not tell 0.95x from 1.05x.
   */
  rounds?: number;
  /** Connection counts to compare at, against one endpoint; default 10 and 100. */
  connections?: number[];
  /** Endpoints (one per region) of the many-endpoint case, at 100 connections; default 20, 0 for none. */
  endpoints?: number;
}

/** The regions of the simulator's 50 x 20 rollout: one endpoint each in the many-endpoint case. */
const REGIONS = [
  "eastus",
  "eastus2",
  "westus",
  "westus2",
  "westus3",
  "centralus",
  "northcentralus",
  "southcentralus",
  "westcentralus",
  "canadacentral",
  "brazilsouth",
  "northeurope",
  "westeurope",
  "uksouth",
  "francecentral",
  "germanywestcentral",
  "swedencentral",
  "japaneast",
  "australiaeast",
  "southeastasia",
];
const MANY_ENDPOINTS_CONNECTIONS = 100;

/** One comparison: a connection count and the endpoints the load goes to. */
interface BenchCase {
  /** Figure id part, e.g. "c10" or "e20.c100". */
  id: string;
  title: string;
  connections: number;
  /** Paths on the sample service, one per endpoint. */
  paths: string[];
}

/** bare-node is a floor, not a load generator: Node's sockets with none of a load test's work. */
type Tool = "engine" | "autocannon" | "bare-node" | "wrk";

interface Measurement extends GeneratorReport {
  /** CPU the service spent per request during the run, microseconds (Linux only). */
  serverCpuPerRequest?: number;
}

const ROOT = resolve(__dirname, "..");
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * With two or more CPUs and taskset, the service runs on CPU 0 and the generators on CPU 1:
 * otherwise the scheduler sometimes puts both on one core and halves a run's throughput.
 */
const PINNING = availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).error === undefined;
const SERVICE_CPU = "0";
const GENERATOR_CPU = "1";

function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  return PINNING ? ["taskset", ["-c", cpu, command, ...args]] : [command, args];
}

/** A TypeScript child with an IPC channel, on the given CPU when pinning. */
function forkTs(file: string, args: string[], cpu: string): ChildProcess {
  const [command, argv] = pinned(cpu, process.execPath, ["--import", "tsx", join(__dirname, file), ...args]);
  return spawn(command, argv, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/** user + system CPU of a process, microseconds; undefined where /proc is missing. */
function processCpuMicros(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

class TargetProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(regions: string[]): Promise<TargetProcess> {
    const child = forkTs("stress/target-process.ts", [JSON.stringify(regions)], SERVICE_CPU);
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.once("message", (m: TargetProcessReport) => (m.type === "ready" ? resolveUrl(m.url) : undefined));
      child.once("exit", (code) => reject(new Error(`target service exited with ${code}`)));
    });
    return new TargetProcess(child, url);
  }

  cpuMicros(): number | undefined {
    return this.child.pid === undefined ? undefined : processCpuMicros(this.child.pid);
  }

  async setBehaviour(change: Partial<TargetBehaviour>): Promise<void> {
    await new Promise<void>((done) => {
      this.child.once("message", () => done());
      this.child.send({ type: "behaviour", change } satisfies TargetProcessMessage);
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => {
      this.child.once("exit", () => done());
      this.child.send({ type: "close" } satisfies TargetProcessMessage);
    });
  }
}

function runGenerator(job: GeneratorJob, onStarted?: () => void): Promise<GeneratorReport> {
  return new Promise((resolveReport, reject) => {
    const child = forkTs("stress/generator-process.ts", [JSON.stringify(job)], GENERATOR_CPU);
    child.on("message", (m: GeneratorMessage) => {
      if (m.type === "started") onStarted?.();
      else resolveReport(m.report);
    });
    child.once("exit", (code) =>
      code === 0 ? undefined : reject(new Error(`${job.tool} run exited with ${code}`)),
    );
  });
}

function wrkAvailable(): boolean {
  return spawnSync("wrk", ["--version"]).error === undefined;
}

/**
 * wrk's way to several URLs on one origin: a Lua script formats each endpoint's request once
 * and hands them out in turn (wrk calls `request` per request when a script defines it).
 */
function wrkScript(paths: string[]): string {
  return `local paths = { ${paths.map((p) => JSON.stringify(p)).join(", ")} }
local requests = {}
local n = 0
function init(args)
  for i, path in ipairs(paths) do requests[i] = wrk.format("GET", path) end
end
function request()
  n = n % #requests + 1
  return requests[n]
end
`;
}

/** wrk on one thread, its CPU read from the shell's `times` (children's user and system). */
function runWrk(
  origin: string,
  paths: string[],
  connections: number,
  durationSeconds: number,
): Promise<GeneratorReport> {
  let scriptDir: string | undefined;
  const scriptArgs: string[] = [];
  if (paths.length > 1) {
    scriptDir = mkdtempSync(join(tmpdir(), "stress-bench-wrk-"));
    writeFileSync(join(scriptDir, "endpoints.lua"), wrkScript(paths));
    scriptArgs.push("-s", join(scriptDir, "endpoints.lua"));
  }
  return new Promise<GeneratorReport>((resolveReport, reject) => {
    const [wrk, wrkArgs] = pinned(GENERATOR_CPU, "wrk", [
      "-t1",
      `-c${connections}`,
      `-d${durationSeconds}s`,
      "--latency",
      ...scriptArgs,
      `${origin}${paths[0]}`,
    ]);
    const script = `${[wrk, ...wrkArgs].map((a) => `'${a}'`).join(" ")} && times`;
    const child = spawn("bash", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("exit", (code) => {
      const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
      const times = out
        .trim()
        .split("\n")
        .at(-1)
        ?.match(/(\d+)m([\d.]+)s/g);
      if (code !== 0 || !total || !times || times.length < 2) {
        reject(new Error(`wrk failed (exit ${code}): ${out}`));
        return;
      }
      const seconds = Number(total[2]) / (total[3] === "ms" ? 1000 : 1);
      // `times` prints the shell's user and system time, then its children's: wrk's.
      const [userSeconds, systemSeconds] = times.map((t) => {
        const m = /(\d+)m([\d.]+)s/.exec(t)!;
        return Number(m[1]) * 60 + Number(m[2]);
      });
      const percentile = (p: string) => {
        const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
        return m ? Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1) : null;
      };
      const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
      resolveReport({
        requests: Number(total[1]),
        seconds,
        requestsPerSecond: Number(total[1]) / seconds,
        cpuMicros: (userSeconds + systemSeconds) * 1e6,
        userCpuMicros: userSeconds * 1e6,
        errors: errors ? Number(errors[1]) : 0,
        p50Ms: percentile("50"),
        p99Ms: percentile("99"),
      });
    });
  }).finally(() => {
    if (scriptDir !== undefined) rmSync(scriptDir, { recursive: true, force: true });
  });
}

async function measure(
  target: TargetProcess,
  tool: Tool,
  benchCase: BenchCase,
  durationSeconds: number,
): Promise<Measurement> {
  const { connections, paths } = benchCase;
  const serverBefore = target.cpuMicros();
  const report =
    tool === "wrk"
      ? await runWrk(target.url, paths, connections, durationSeconds)
      : await runGenerator({
          tool,
          urls: paths.map((p) => `${target.url}${p}`),
          connections,
          durationSeconds,
        });
  const serverAfter = target.cpuMicros();
  return {
    ...report,
    ...(serverBefore !== undefined && serverAfter !== undefined
      ? { serverCpuPerRequest: (serverAfter - serverBefore) / report.requests }
      : {}),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Per round, the engine's CPU per request over another tool's in the same round. */
function roundRatios(engine: Measurement[], other: Measurement[]): number[] {
  return engine.map((e, i) => e.cpuMicros / e.requests / (other[i].cpuMicros / other[i].requests));
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "))
    .join("\n");
}

async function compareThroughput(
  target: TargetProcess,
  tools: Tool[],
  benchCase: BenchCase,
  options: Required<StressBenchOptions>,
  results?: BenchResults,
) {
  const runs = new Map<Tool, Measurement[]>(tools.map((t) => [t, []]));
  for (let round = 0; round < options.rounds; round++) {
    const order = tools.map((_, i) => tools[(i + round) % tools.length]);
    for (const tool of order)
      runs.get(tool)!.push(await measure(target, tool, benchCase, options.durationSeconds));
  }
  const summary = tools.map((tool) => {
    const m = runs.get(tool)!;
    return {
      tool,
      rps: median(m.map((r) => r.requestsPerSecond)),
      cpu: median(m.map((r) => r.cpuMicros / r.requests)),
      user: m.every((r) => r.userCpuMicros !== undefined)
        ? median(m.map((r) => r.userCpuMicros! / r.requests))
        : undefined,
      server: m.every((r) => r.serverCpuPerRequest !== undefined)
        ? median(m.map((r) => r.serverCpuPerRequest!))
        : undefined,
      p99: median(m.map((r) => r.p99Ms ?? Number.NaN)),
      errors: m.reduce((n, r) => n + r.errors, 0),
      each: m.map((r) => Math.round(r.requestsPerSecond)).join("/"),
    };
  });
  const reference = summary.find((s) => s.tool === "autocannon")!;
  const wrk = summary.find((s) => s.tool === "wrk");
  const rows = [
    [
      "tool",
      "req/s",
      "runs req/s",
      "CPU µs/req",
      "user µs/req",
      "vs autocannon req/s",
      "vs autocannon CPU/req",
      ...(wrk ? ["vs wrk CPU/req"] : []),
      "server µs/req",
      "p99 ms",
      "errors",
    ],
  ];
  for (const s of summary) {
    rows.push([
      s.tool,
      s.rps.toFixed(0),
      s.each,
      s.cpu.toFixed(1),
      s.user === undefined ? "n/a" : s.user.toFixed(1),
      `${(s.rps / reference.rps).toFixed(2)}x`,
      `${(s.cpu / reference.cpu).toFixed(2)}x`,
      ...(wrk ? [`${(s.cpu / wrk.cpu).toFixed(2)}x`] : []),
      s.server === undefined ? "n/a" : s.server.toFixed(1),
      Number.isNaN(s.p99) ? "n/a" : s.p99.toFixed(2),
      String(s.errors),
    ]);
  }
  console.log(
    `\n${benchCase.title}, ${options.durationSeconds} s a run, median of ${options.rounds} alternating rounds:`,
  );
  console.log(table(rows));
  const engineRuns = runs.get("engine")!;
  const answered = engineRuns.reduce((n, r) => n + (r.answered ?? 0), 0);
  const recorded = engineRuns.reduce((n, r) => n + (r.latenciesRecorded ?? 0), 0);
  console.log(
    `engine: ${recorded} latencies recorded for ${answered} answers over its ${engineRuns.length} runs${recorded === answered ? " (every one)" : " (SOME MISSING)"}`,
  );
  if (benchCase.paths.length > 1)
    results?.add({
      id: `stress.${benchCase.id}.everyLatencyRecorded`,
      what: `Load generator, ${benchCase.title}: latencies recorded per answer`,
      measured: `${recorded} latencies for ${answered} answers`,
      ratio: answered > 0 ? recorded / answered : undefined,
      aim: "every one",
      met: recorded === answered,
    });
  const engine = summary.find((s) => s.tool === "engine")!;
  for (const other of summary.filter((s) => s.tool !== "engine")) {
    const rps = engine.rps / other.rps;
    const cpu = engine.cpu / other.cpu;
    // The same ratio round by round (each round runs every tool once, back to back): how far
    // the machine's noise moves it.
    const perRound = roundRatios(engineRuns, runs.get(other.tool)!);
    console.log(
      `engine/${other.tool} CPU per request, round by round: ${perRound.map((r) => r.toFixed(2)).join(" ")} (${perRound.filter((r) => r <= 1).length} of ${perRound.length} at most 1.0x)`,
    );
    if (other.tool === "bare-node") {
      // A floor, not a rival: what the engine adds to Node's own socket I/O.
      results?.add({
        id: `stress.${benchCase.id}.cpuPerRequest.vs-bare-node`,
        what: `Load generator, ${benchCase.title}: CPU per request vs a bare Node socket loop (no parsing, timing or recording)`,
        measured: `${engine.cpu.toFixed(1)} vs ${other.cpu.toFixed(1)} µs: ${times(cpu)} (round by round ${times(Math.min(...perRound))}-${times(Math.max(...perRound))})`,
        ratio: cpu,
      });
      continue;
    }
    results?.add({
      id: `stress.${benchCase.id}.rps.vs-${other.tool}`,
      what: `Load generator, ${benchCase.title}: requests/s vs ${other.tool}`,
      measured: `${engine.rps.toFixed(0)} vs ${other.rps.toFixed(0)}: ${times(rps)}`,
      ratio: rps,
      aim: other.tool === "autocannon" ? "at least 1.0x" : undefined,
      met: other.tool === "autocannon" ? rps >= 0.95 : undefined,
    });
    results?.add({
      id: `stress.${benchCase.id}.cpuPerRequest.vs-${other.tool}`,
      what: `Load generator, ${benchCase.title}: CPU per request vs ${other.tool}`,
      measured: `${engine.cpu.toFixed(1)} vs ${other.cpu.toFixed(1)} µs: ${times(cpu)} (round by round ${times(Math.min(...perRound))}-${times(Math.max(...perRound))})`,
      ratio: cpu,
      aim: "at most 1.0x",
      met: cpu <= 1,
    });
  }
}

async function checkOpenModelAccuracy(
  target: TargetProcess,
  durationSeconds: number,
  results?: BenchResults,
): Promise<void> {
  const rate = 1000;
  const connections = 10;
  const seconds = Math.max(durationSeconds, 5);
  const stallMs = 1000;
  const report = await runGenerator(
    {
      tool: "engine",
      urls: [`${target.url}/eastus/api/orders`],
      connections,
      rate,
      durationSeconds: seconds,
    },
    // The freeze starts a second into the run, well inside the measured window.
    () => void target.setBehaviour({ stall: { startsInMs: 1000, durationMs: stallMs } }),
  );
  await target.setBehaviour({ stall: undefined });
  // Sends due during the freeze wait for its end: latencies spread evenly over 0..stall, a
  // stall/duration share of all requests. The slowest 1% start 1% of the duration into it.
  const expected = stallMs - 0.01 * report.seconds * 1000;
  const corrected = report.p99Ms ?? Number.NaN;
  const deviation = ((corrected - expected) / expected) * 100;
  console.log(
    `\nOpen-model accuracy: ${rate} req/s, ${connections} connections, ${seconds} s; the service freezes for ${stallMs} ms from 1 s in`,
  );
  console.log(
    `  expected corrected p99 ≈ ${stallMs} − 1% × ${(report.seconds * 1000).toFixed(0)} ms = ${expected.toFixed(0)} ms`,
  );
  console.log(
    `  measured corrected p99 ${corrected.toFixed(1)} ms (${deviation >= 0 ? "+" : ""}${deviation.toFixed(1)}%, ${Math.abs(deviation) <= 10 ? "within" : "OUTSIDE"} 10%); uncorrected p99 ${report.uncorrectedP99Ms?.toFixed(1)} ms; ${report.requests} requests, ${report.errors} errors`,
  );
  results?.add({
    id: "stress.openModel.correctedP99",
    what: `Open model (${rate} req/s) against a service that freezes for ${stallMs / 1000} s: corrected p99`,
    measured: `${corrected.toFixed(1)} ms for an expected ${expected.toFixed(0)} ms (${deviation >= 0 ? "+" : ""}${deviation.toFixed(1)}%); uncorrected ${report.uncorrectedP99Ms?.toFixed(1)} ms`,
    ratio: corrected / expected,
    aim: "within 10%",
    met: Math.abs(deviation) <= 10,
  });
}

/**
 * Memory stays bounded whatever the request count: the engine keeps histograms and counters,
 * nothing per request. Two runs, one five times longer: their peak memory should be alike.
 */
async function checkMemoryBound(
  target: TargetProcess,
  durationSeconds: number,
  results?: BenchResults,
): Promise<void> {
  const url = `${target.url}/eastus/api/orders`;
  const short = Math.max(1, Math.round(durationSeconds / 2));
  const runs = [];
  for (const seconds of [short, short * 5])
    runs.push(await runGenerator({ tool: "engine", urls: [url], connections: 10, durationSeconds: seconds }));
  const [a, b] = runs;
  const growth = (((b.peakRssMb ?? 0) - (a.peakRssMb ?? 0)) / (a.peakRssMb ?? 1)) * 100;
  console.log(`
Memory bound: the engine, 10 connections, ${short} s and then ${short * 5} s`);
  console.log(
    `  ${a.requests} requests: peak RSS ${a.peakRssMb?.toFixed(0)} MB; ${b.requests} requests (${(b.requests / a.requests).toFixed(1)}x): peak RSS ${b.peakRssMb?.toFixed(0)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(0)}%)`,
  );
  results?.add({
    id: "stress.memoryBound",
    what: "Load generator memory, a run five times longer (10 connections)",
    measured: `${a.requests} requests: ${a.peakRssMb?.toFixed(0)} MB peak RSS; ${b.requests}: ${b.peakRssMb?.toFixed(0)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(0)}%)`,
    ratio: (b.peakRssMb ?? 0) / (a.peakRssMb ?? 1),
    aim: "bounded, whatever the count",
    met: growth <= 25,
  });
}

function optionsFrom(opts: StressBenchOptions): Required<StressBenchOptions> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const durationSeconds =
    opts.durationSeconds ?? Number(arg("duration") ?? process.env.STRESS_BENCH_DURATION ?? 5);
  const rounds = opts.rounds ?? Number(arg("rounds") ?? process.env.STRESS_BENCH_ROUNDS ?? 5);
  const connections =
    opts.connections ??
    (arg("connections") ?? process.env.STRESS_BENCH_CONNECTIONS ?? "10,100").split(",").map(Number);
  const endpoints = opts.endpoints ?? Number(arg("endpoints") ?? process.env.STRESS_BENCH_ENDPOINTS ?? 20);
  if (!Number.isInteger(endpoints) || endpoints < 0 || endpoints > REGIONS.length)
    throw new Error(`--endpoints: a whole number from 0 to ${REGIONS.length}, not ${endpoints}`);
  return { durationSeconds, rounds, connections, endpoints };
}

function benchCases(options: Required<StressBenchOptions>): BenchCase[] {
  const cases: BenchCase[] = options.connections.map((connections) => ({
    id: `c${connections}`,
    title: `${connections} connections`,
    connections,
    paths: ["/eastus/api/orders"],
  }));
  if (options.endpoints > 0)
    cases.push({
      id: `e${options.endpoints}.c${MANY_ENDPOINTS_CONNECTIONS}`,
      title: `${options.endpoints} endpoints at once (one per region), ${MANY_ENDPOINTS_CONNECTIONS} connections`,
      connections: MANY_ENDPOINTS_CONNECTIONS,
      paths: REGIONS.slice(0, options.endpoints).map((region) => `/${region}/api/orders`),
    });
  return cases;
}

export async function runStressBench(opts: StressBenchOptions = {}, results?: BenchResults): Promise<void> {
  const options = optionsFrom(opts);
  const tools: Tool[] = ["engine", "autocannon", "bare-node"];
  console.log("\n== Stress engine vs autocannon" + (wrkAvailable() ? " and wrk" : "") + " ==");
  if (wrkAvailable()) tools.push("wrk");
  else
    console.log(
      "(wrk is not on PATH: skipped. This bench installs nothing; to compare with it, install it from your distribution's packages, e.g. `sudo apt-get install wrk` on Debian or Ubuntu.)",
    );
  console.log(
    "CPU µs/req: generator process CPU (user + system) per completed request, user: its user-space part; server: the sample service's.",
  );
  console.log(
    PINNING
      ? "Service pinned to CPU 0, generators to CPU 1 (taskset)."
      : "Not pinned to CPUs (no taskset or one CPU).",
  );
  const target = await TargetProcess.start(REGIONS);
  try {
    for (const benchCase of benchCases(options))
      await compareThroughput(target, tools, benchCase, options, results);
    await checkOpenModelAccuracy(target, options.durationSeconds, results);
    await checkMemoryBound(target, options.durationSeconds, results);
  } finally {
    await target.stop();
  }
}

if (require.main === module) {
  runStressBench().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
