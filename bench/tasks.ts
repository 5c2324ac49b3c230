/**
 * Task benchmarks: every task's start-up to its first request, and following the 50x20 and
 * 200x50 rollouts.
 * Run with `npm run bench` (builds first). Numbers are medians of several runs; the machine is
 * shared, so read ratios, not absolutes.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadScenario, startSimulator, type Scenario } from "../sim/ev2";
import { startBuiltTask } from "../test/support/run-built-task";
import { ev2Setup, rolloutInputs } from "../test/tasks/ev2-fixture";
import type { TaskRunSetup } from "../test/support/run-built-task";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { BenchResults, times } from "./results";
import { startTeamsSink } from "../sim/teams-sink";
import { startRecordingProxy } from "../test/helpers/recording-proxy";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function bareNodeMs(): number {
  const t = process.hrtime.bigint();
  spawnSync(process.execPath, ["-e", "0"]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** A plain http server that answers 200 to anything and notes when each request arrived. */
async function startTarget(): Promise<{ url: string; arrivals: number[]; close(): Promise<void> }> {
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

const NO_SUCH_ROLLOUT = "00000000-0000-4000-8000-000000000000";

/**
 * Start-up of every agent task: spawn to its first request (to EV2, or to the endpoint under
 * load for StressTestStage), against a bare `node -e 0` spawned in the same rounds; each task with
 * and without an agent proxy configured (the proxy client is loaded only when one is set).
 * Ev2RolloutGate runs on the server (no process) and is not measured.
 */
export async function startupBench(results: BenchResults, runs = 9): Promise<void> {
  const sim = await startSimulator({ scenario: "small", clockSpeed: 600 });
  const target = await startTarget();
  const sink = await startTeamsSink();
  const proxy = await startRecordingProxy();
  const tasks: Record<string, () => TaskRunSetup> = {
    TriggerEv2Rollout: () =>
      ev2Setup(sim, { ...rolloutInputs, artifactVersionNumber: "1.3.2", stageMapVersion: "v3" }),
    FollowRollout: () => ev2Setup(sim, { rolloutId: NO_SUCH_ROLLOUT, timeoutMinutes: "1" }),
    GateApproval: () =>
      ev2Setup(sim, { rolloutId: NO_SUCH_ROLLOUT, decision: "evaluate", onUnhealthy: "fail" }),
    // https only, as the task takes webhooks; the sink's CA given as the agent gives one.
    TeamsNotify: () =>
      ev2Setup(
        sim,
        { rolloutId: NO_SUCH_ROLLOUT, webhookUrl: sink.url },
        { variables: { "Agent.CAInfo": sink.caFile } },
      ),
    StressTestStage: () => ({
      inputs: {
        endpoints: `${target.url}/health`,
        durationSeconds: "1",
        connections: "1",
        readinessTimeoutSeconds: "5",
      },
      variables: ev2Setup(sim, {}).variables,
    }),
  };
  const cases = Object.keys(tasks).flatMap((task) => [
    { task, proxied: false },
    { task, proxied: true },
  ]);
  const taskMs = new Map<string, number[]>(cases.map((c) => [key(c), []]));
  const nodeMs: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      nodeMs.push(bareNodeMs());
      for (const c of cases) {
        const setup = tasks[c.task]();
        const simBefore = sim.requests.length;
        const targetBefore = target.arrivals.length;
        const t0 = Date.now();
        const task = startBuiltTask(c.task, {
          ...setup,
          variables: { ...setup.variables, ...(c.proxied ? { "Agent.ProxyUrl": proxy.url } : {}) },
          timeoutMs: 60_000,
        });
        await task.done;
        const first = Math.min(
          sim.requests[simBefore]?.at ?? Infinity,
          target.arrivals[targetBefore] ?? Infinity,
        );
        if (Number.isFinite(first)) taskMs.get(key(c))!.push(first - t0);
      }
      nodeMs.push(bareNodeMs());
    }
  } finally {
    await proxy.close();
    await target.close();
    await sink.close();
    await sim.close();
  }
  if (proxy.requests.length === 0) throw new Error("the proxied runs did not go through the proxy");
  const node = median(nodeMs);
  console.log(`\n== start-up: spawn to first request, every task (median of ${runs}) ==`);
  console.log(`bare node -e 0                      ${node.toFixed(0)} ms`);
  for (const c of cases) {
    const ms = taskMs.get(key(c))!;
    if (ms.length === 0) throw new Error(`${key(c)} sent no request`);
    const task = median(ms);
    const ratio = task / node;
    const label = `${c.task}${c.proxied ? ", agent proxy set" : ""}`;
    console.log(`${label.padEnd(36)}${task.toFixed(0)} ms   ${times(ratio)} bare node   aim at most 1.3x`);
    results.add({
      id: `startup.${c.task}${c.proxied ? ".proxy" : ""}`,
      what: `Start-up, spawn to first request: ${label}`,
      measured: `${task.toFixed(0)} ms; ${times(ratio)} a bare \`node -e 0\` (${node.toFixed(0)} ms)`,
      ratio,
      aim: "at most 1.3x",
      met: ratio <= 1.3,
    });
  }
}

const key = (c: { task: string; proxied: boolean }) => `${c.task}${c.proxied ? "+proxy" : ""}`;

function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The 50 x 20 scenario stretched to `stages` x `regions`: the same stage map, each stage's
 * regions repeated under new names (regions of a stage run side by side, stages one after another).
 */
function stretchedScenario(stages: number, regions: number): Scenario {
  const scenario = structuredClone(loadScenario("large-50x20")) as unknown as Scenario;
  const stageMap = scenario.serviceGroups[0].services[0].stageMaps[0];
  const template = stageMap.stages[0].regions;
  stageMap.stages = Array.from({ length: stages }, (_, s) => ({
    name: `Stage${String(s + 1).padStart(3, "0")}`,
    regions: Array.from({ length: regions }, (_, r) => ({
      ...template[r % template.length],
      name: `region${String(r + 1).padStart(2, "0")}`,
    })),
  }));
  scenario.name = `large-${stages}x${regions}`;
  return scenario;
}

export async function followBench(results: BenchResults): Promise<void> {
  await followCase(results, "50x20", "large-50x20", 1200, 64);
  // EV2's own answers carry more than the contract: the same rollout, each region ~2 KB fatter.
  await followCase(results, "50x20", "large-50x20", 300, 64, fatRegions);
  await followCase(results, "200x50", stretchedScenario(200, 50), 2000, 128);
}

/**
 * What a real EV2 may add to each region and stage (steps, resource groups, display names, a
 * longer name): ~2 KB a region, none of it in the contract. A 50x20 answer grows to ~2.2 MB.
 */
function fatRegions(rollout: { stages?: Array<Record<string, unknown>> }): void {
  const note = "x".repeat(120);
  for (const stage of rollout.stages ?? []) {
    stage.stageDisplayName = `${String(stage.name)} ${note}`;
    stage.properties = { owner: `team-${note}`, ring: 3, labels: ["a", "b", "c"] };
    for (const region of (stage.regions ?? []) as Array<Record<string, unknown>>) {
      region.name = `${String(region.name)}-${"long-region-name-".repeat(4)}`;
      region.displayName = `Region ${String(region.name)} ${note}`;
      region.resourceGroups = Array.from({ length: 4 }, (_, i) => ({
        name: `rg-${i}-${note}`,
        subscriptionId: `00000000-0000-4000-8000-00000000000${i}`,
        status: region.status,
        steps: [{ name: "deploy", status: region.status, message: note }],
      }));
      region.healthChecks = { passed: 3, failed: 0, detail: note };
    }
  }
}

/** A front for the simulator that passes everything on, with each rollout answer made fat. */
async function startFattening(
  target: string,
  fatten: typeof fatRegions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const sent: Buffer[] = [];
    req.on("data", (c: Buffer) => sent.push(c));
    req.on("end", () => {
      const upstream = request(target + req.url, { method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on("data", (c: Buffer) => body.push(c));
        answer.on("end", () => {
          let text = Buffer.concat(body).toString("utf8");
          if (
            req.method === "GET" &&
            answer.statusCode === 200 &&
            /^\/rollouts\/[^/?]+$/.test(req.url ?? "")
          ) {
            const rollout = JSON.parse(text) as Parameters<typeof fatRegions>[0];
            fatten(rollout);
            text = JSON.stringify(rollout);
          }
          const headers = { ...answer.headers };
          delete headers["content-length"];
          delete headers["transfer-encoding"];
          res.writeHead(answer.statusCode ?? 502, headers).end(text);
        });
      });
      upstream.on("error", () => res.destroy());
      upstream.end(Buffer.concat(sent));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

async function followCase(
  results: BenchResults,
  size: string,
  scenario: string | Scenario,
  clockSpeed: number,
  aimMb: number,
  fatten?: typeof fatRegions,
): Promise<void> {
  const sim = await startSimulator({ scenario, clockSpeed });
  const front = fatten ? await startFattening(sim.url, fatten) : undefined;
  const idOf = fatten ? `${size}fat` : size;
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
    const setup = ev2Setup(sim, { rolloutId });
    if (front) setup.endpoints!.ev2conn.url = front.url;
    const task = startBuiltTask("FollowRollout", { ...setup, timeoutMs: 120_000 });
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
    console.log(
      `\n== follow: ${size} rollout (${size.replace("x", " stages x ")} regions${fatten ? ", ~2 KB more a region than the contract" : ""}) to completion (fast clock) ==`,
    );
    console.log(`result              ${run.result?.result} (${final.status})`);
    console.log(
      `polls               ${polls}, requests ${requests.length}: ${(requests.length / polls).toFixed(2)} requests per poll   aim 1`,
    );
    console.log(`peak RSS            ${peak.toFixed(0)} MB   aim < ${aimMb} MB`);
    console.log(
      `log lines           ${eventLines} for ${changes} state changes: ${(eventLines / changes).toFixed(2)} per change, ${(eventLines / polls).toFixed(2)} per poll`,
    );
    const what = `Following a ${size.replace("x", "-stage x ")}-region rollout${fatten ? " whose answers carry ~2 KB more a region than the contract" : ""} to the end (fast clock)`;
    results.add({
      id: `follow.${idOf}.requestsPerPoll`,
      what: `${what}: requests per poll`,
      measured: `${(requests.length / polls).toFixed(2)} (${requests.length} requests, ${polls} polls; ${run.result?.result})`,
      ratio: requests.length / polls,
      aim: "1",
      met: requests.length === polls,
    });
    results.add({
      id: `follow.${idOf}.peakRssMb`,
      what: `${what}: peak memory`,
      measured: `${peak.toFixed(0)} MB RSS`,
      aim: `under ${aimMb} MB`,
      met: peak < aimMb,
    });
    results.add({
      id: `follow.${idOf}.logLinesPerChange`,
      what: `${what}: log lines`,
      measured: `${(eventLines / changes).toFixed(2)} per state change (${eventLines} for ${changes}; ${(eventLines / polls).toFixed(1)} per poll)`,
      ratio: eventLines / changes,
      aim: "O(changes), not O(polls)",
    });
  } finally {
    await front?.close();
    await sim.close();
  }
}
