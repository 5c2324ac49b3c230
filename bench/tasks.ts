/**
 * Task benchmarks: start-up to the first EV2 request, and following the 50x20 scenario.
 * Run with `npm run bench` (builds first). Numbers are medians of several runs; the machine is
 * shared, so read ratios, not absolutes.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { startSimulator } from "../sim/ev2";
import { startBuiltTask } from "../test/support/run-built-task";
import { ev2Setup } from "../test/tasks/ev2-fixture";
import { startRecordingProxy } from "../test/helpers/recording-proxy";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bareNodeMs(): number {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, ["-e", "0"]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

export async function startupBench(runs = 9): Promise<void> {
  const sim = await startSimulator({ scenario: "small", clockSpeed: 600 });
  // The same run with the agent's proxy set: the proxy client is loaded only then.
  const proxy = await startRecordingProxy();
  const cases = { FollowRollout: {}, "  with a proxy": { "Agent.ProxyUrl": proxy.url } };
  const taskMs: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const nodeMs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      nodeMs.push(bareNodeMs());
      for (const [name, variables] of Object.entries(cases)) {
        const before = sim.requests.length;
        const t0 = Date.now();
        const task = startBuiltTask("FollowRollout", {
          ...ev2Setup(sim, { rolloutId: "00000000-0000-4000-8000-000000000000", timeoutMinutes: "1" }),
          variables: { ...ev2Setup(sim, {}).variables, ...variables },
        });
        await task.done;
        const first = sim.requests[before];
        if (first) taskMs[name]!.push(first.at - t0);
      }
    }
  } finally {
    await proxy.close();
    await sim.close();
  }
  if (proxy.requests.length === 0) throw new Error("the proxied runs did not go through the proxy");
  const node = median(nodeMs);
  console.log("\n== start-up: spawn to first EV2 request (FollowRollout bundle) ==");
  console.log(`bare node -e 0      ${node.toFixed(0)} ms (median of ${runs})`);
  for (const [name, ms] of Object.entries(taskMs)) {
    const task = median(ms);
    console.log(
      `${name.padEnd(20)}${task.toFixed(0)} ms (median of ${runs})   ratio ${(task / node).toFixed(2)}x bare node   aim < 150 ms, at most 1.5x`,
    );
  }
}

function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export async function followBench(): Promise<void> {
  const sim = await startSimulator({ scenario: "large-50x20", clockSpeed: 1200 });
  try {
    const { Ev2Client } = await import("../shared/ev2/client");
    const { staticToken } = await import("../shared/ev2/auth");
    const client = new Ev2Client({ baseUrl: sim.url, getToken: staticToken("sim-token") });
    const { rolloutId } = await client.startRollout(
      "Microsoft.Contoso.Orders",
      "orders-api",
      {
        stageMapName: "OrdersStageMap",
        stageMapVersion: "v1",
        artifactVersionNumber: "1.3.2",
        environment: "PPE",
        selectionScope: [],
        exclusionScope: [],
        tags: {},
      },
      "bench-follow",
    );
    const before = sim.requests.length;
    const task = startBuiltTask("FollowRollout", { ...ev2Setup(sim, { rolloutId }), timeoutMs: 120_000 });
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, peakRssMb(task.child.pid!))), 25);
    const run = await task.done;
    clearInterval(timer);
    const requests = sim.requests.slice(before);
    const polls = requests.filter((r) => r.method === "GET").length;
    const final = sim.rollouts().find((r) => r.rolloutId === rolloutId)!;
    // a state change: a stage or region starting or ending
    const changes = final.stages.reduce((n, s) => n + 2 + s.regions.length * 2, 0);
    const eventLines = run.logLines.filter((l) => /^\[\d\d:\d\d:\d\dZ\]/.test(l)).length;
    console.log("\n== follow: large-50x20 scenario to completion (fast clock) ==");
    console.log(`result              ${run.result?.result} (${final.status})`);
    console.log(
      `polls               ${polls}, requests ${requests.length}: ${(requests.length / polls).toFixed(2)} requests per poll   aim 1`,
    );
    console.log(`peak RSS            ${peak.toFixed(0)} MB   aim < 100 MB`);
    console.log(
      `log lines           ${eventLines} for ${changes} state changes: ${(eventLines / changes).toFixed(2)} per change, ${(eventLines / polls).toFixed(2)} per poll`,
    );
  } finally {
    await sim.close();
  }
}
