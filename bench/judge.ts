/**
 * `npm run bench -- judge`: the telemetry judge (GateApproval `decision: evaluate`) on one million
 * request rows per region, streamed from a loopback stand-in of the Log Analytics query API.
 *
 * - Throughput: rows per second through LogAnalyticsClient.queryRequests into TelemetryJudge
 *   and its verdict, against a bare read of the same answers (chunks dropped) in the same run.
 * - Memory: the judging process's peak RSS at 1,000,000 and at 100,000 rows per region: the
 *   answer is read as it arrives and the judge keeps bounded samples, so ten times the rows must
 *   not need more memory.
 * Each run is a process of its own (bench/judge/judge-process.ts), so its peak is its own.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { times, type BenchResults } from "./results";
import { BENCH_REGIONS, startRowsServer, type JudgeRunResult } from "./judge/rows-server";

const ROWS_PER_REGION = 1_000_000;
const SMALL_ROWS_PER_REGION = 100_000;
const ROUNDS = 3;
const THROUGHPUT_AIM = 3;
/**
 * Holding the rows would take about ten times the memory (4,000,000 parsed rows are several
 * hundred MB); a streamed run differs only by how far the garbage collector let the heap grow,
 * which varies by 10-20% between runs on a busy machine.
 */
const MEMORY_AIM = 1.5;

async function measure(rowsPerRegion: number, mode: "judge" | "read"): Promise<JudgeRunResult> {
  const server = await startRowsServer(rowsPerRegion);
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", join(__dirname, "judge", "judge-process.ts"), server.url, mode],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve(out) : reject(new Error(`judge process (${mode}) exited with ${code}`)),
      );
    });
    return JSON.parse(output.trim().split("\n").at(-1)!) as JudgeRunResult;
  } finally {
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mb = (v: number) => `${v.toFixed(1)} MB`;

export async function judgeBench(results: BenchResults): Promise<void> {
  const regions = BENCH_REGIONS.length;
  const totalRows = ROWS_PER_REGION * regions * 2;
  console.log(
    `\n== telemetry judge: ${ROWS_PER_REGION.toLocaleString("en-US")} rows per region, ${regions} regions, new and baseline (median of ${ROUNDS}) ==`,
  );
  const judged: JudgeRunResult[] = [];
  const read: JudgeRunResult[] = [];
  const small: JudgeRunResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    read.push(await measure(ROWS_PER_REGION, "read"));
    judged.push(await measure(ROWS_PER_REGION, "judge"));
    small.push(await measure(SMALL_ROWS_PER_REGION, "judge"));
  }
  for (const r of judged) {
    if (r.rows !== totalRows) throw new Error(`the judge took ${r.rows} rows, not ${totalRows}`);
  }
  const judgeSeconds = median(judged.map((r) => r.seconds));
  const readSeconds = median(read.map((r) => r.seconds));
  const rowsPerSecond = totalRows / judgeSeconds;
  const ratio = judgeSeconds / readSeconds;
  console.log(
    `judge ${judgeSeconds.toFixed(2)} s (${Math.round(rowsPerSecond).toLocaleString("en-US")} rows/s), bare read ${readSeconds.toFixed(2)} s: ${times(ratio)}`,
  );
  results.add({
    id: "judge.1M.rowsPerSecond",
    what: `Telemetry judge: ${ROWS_PER_REGION.toLocaleString("en-US")} request rows per region (${regions} regions, new version and baseline: ${totalRows.toLocaleString("en-US")} rows) streamed from a loopback query API, to the verdict`,
    measured: `${Math.round(rowsPerSecond).toLocaleString("en-US")} rows/s (${judgeSeconds.toFixed(2)} s); ${times(ratio)} a bare read of the same answers (${readSeconds.toFixed(2)} s)`,
    ratio: Number(ratio.toFixed(3)),
    aim: `at most ${THROUGHPUT_AIM}x`,
    met: ratio <= THROUGHPUT_AIM,
  });
  const peak = median(judged.map((r) => r.peakRssMb));
  const smallPeak = median(small.map((r) => r.peakRssMb));
  const growth = peak / smallPeak;
  console.log(
    `peak RSS ${mb(peak)} at 1,000,000 rows per region, ${mb(smallPeak)} at 100,000: ${times(growth)}`,
  );
  results.add({
    id: "judge.peakRss.growth",
    what: "Telemetry judge: peak memory for 10x the rows (1,000,000 vs 100,000 per region)",
    measured: `${mb(peak)} vs ${mb(smallPeak)} RSS (the process, tsx loader included): ${times(growth)}`,
    ratio: Number(growth.toFixed(3)),
    aim: `at most ${MEMORY_AIM}x (memory does not grow with the rows)`,
    met: growth <= MEMORY_AIM,
  });
}
