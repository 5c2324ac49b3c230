/**
 * One measured run of the telemetry judge, in a process of its own so that its peak memory is its
 * own: `tsx bench/judge/judge-process.ts <server url> judge|read`. `judge` runs the gate's two
 * queries (new version, then baseline) through LogAnalyticsClient.queryRequests into a
 * TelemetryJudge and takes its verdict; `read` reads the same two answers and drops every chunk
 * (the reference: what the transfer alone costs). Prints one JSON line.
 */
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import { closeHttpConnections } from "../../shared/http/request";
import { TelemetryJudge } from "../../shared/telemetry/judge";
import { LogAnalyticsClient } from "../../shared/telemetry/log-analytics";
import { BENCH_REGIONS, type JudgeRunResult } from "./rows-server";

async function bareRead(url: string, side: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const req = request(`${url}/v1/workspaces/bench/query`, { method: "POST" }, (res) => {
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve(bytes));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ query: side, timespan: "PT1H" }));
  });
}

async function main(): Promise<void> {
  const [url, mode] = process.argv.slice(2);
  const started = performance.now();
  let rows = 0;
  let verdict = "";
  if (mode === "read") {
    for (const side of ["new", "baseline"]) await bareRead(url, side);
  } else {
    const client = new LogAnalyticsClient({ endpoint: url, workspaceId: "bench", getToken: async () => "t" });
    const judge = new TelemetryJudge(
      {
        alpha: 0.05,
        latencyTolerance: 1.1,
        errorRateTolerance: 0.5,
        minSamples: 100,
        thresholds: [],
        windowSeconds: 3600,
        seed: 1,
      },
      "previousVersion",
    );
    rows += (await client.queryRequests("new", "PT1H", (r) => judge.addNew(r))).rows;
    rows += (await client.queryRequests("baseline", "PT1H", (r) => judge.addBaseline(r))).rows;
    verdict = judge.verdict(BENCH_REGIONS).verdict;
    await closeHttpConnections();
  }
  const result: JudgeRunResult = {
    mode: mode === "read" ? "read" : "judge",
    rows,
    seconds: (performance.now() - started) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    verdict,
  };
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
