/**
 * What the reliability and security suite shares: the services a flow talks to (EV2 simulator,
 * fake Azure DevOps, Teams sink), the pipeline setup the agent would give each step, which task
 * bundles exist yet, and the counts the suite prints at the end for the README.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import type { AdoServer } from "../../sim/ado/server";
import { addBuild, addPipelineApproval, addProject, guidFrom } from "../../sim/ado/state";
import { startSimulator, type RecordedRequest, type Simulator } from "../../sim/ev2";
import { startTeamsSink, teamsSinkServerCertificate, type TeamsSink } from "../../sim/teams-sink";
import { alice, jobToken, projectName, startSeededAdo } from "../ado/ado-fixture";
import type { TaskRun, TaskRunSetup } from "../support/run-built-task";
import { runVariables, simulatorPolling, TOKEN } from "../tasks/ev2-fixture";

export { jobToken, TOKEN };

/** The comment Alice left on the Azure DevOps approval: GateApproval carries it into EV2. */
export const approvalComment = "Canary metrics look good";
export const approver = "Alice Approver <alice@contoso.com>";

// ---------------------------------------------------------------------------------------------
// Which tasks run on the agent's Node (the agentless gate has no bundle). A missing or stale
// build is no reason to leave a row out: runBuiltTask fails naming `npm run build`.

const tasksSource = resolve(__dirname, "..", "..", "tasks");

export const nodeTasks: readonly string[] = readdirSync(tasksSource).filter((task) => {
  const manifest = join(tasksSource, task, "task.json");
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).execution?.Node20_1 !== undefined;
});

/** The task.json inputs of a task, by name: the bad-input table checks it names only real ones. */
export function manifestInputs(task: string): Set<string> {
  const manifest = JSON.parse(
    readFileSync(resolve(__dirname, "..", "..", "tasks", task, "task.json"), "utf8"),
  );
  return new Set((manifest.inputs as Array<{ name: string }>).map((i) => i.name));
}

// ---------------------------------------------------------------------------------------------
// Counts printed at the end of the run (README's reliability section quotes them).

export const chaosCounts = {
  /** Faults the simulators injected that the flow rode out (EV2, Azure DevOps, Teams). */
  faultsAbsorbed: 0,
  faultsByKind: {} as Record<string, number>,
  retryAfterWaitsChecked: 0,
  sigkills: 0,
  killSeeds: 0,
  cancels: 0,
  badInputCases: 0,
  secretRuns: 0,
  injectionRuns: 0,
  fuzzCases: 0,
};

export function countFault(kind: string, n = 1): void {
  chaosCounts.faultsAbsorbed += n;
  chaosCounts.faultsByKind[kind] = (chaosCounts.faultsByKind[kind] ?? 0) + n;
}

let reportRegistered = false;
/** Prints the counts once, after every test of the run (a root-level hook). */
export function registerCountsReport(): void {
  if (reportRegistered || typeof after !== "function") return;
  reportRegistered = true;
  after(() => {
    const c = chaosCounts;
    const kinds = Object.entries(c.faultsByKind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    const lines = [
      `chaos: faults absorbed ${c.faultsAbsorbed}${kinds ? ` (${kinds})` : ""}; Retry-After waits checked ${c.retryAfterWaitsChecked}`,
      `chaos: SIGKILLs ${c.sigkills} over ${c.killSeeds} seeds; SIGINT cancels ${c.cancels}`,
      `chaos: bad-input cases ${c.badInputCases}; secret runs ${c.secretRuns}; injection runs ${c.injectionRuns}; fuzz cases ${c.fuzzCases}`,
    ];
    // The suite's one deliberate console output: the figures the README quotes.
    for (const line of lines) console.log(line);
  });
}

// ---------------------------------------------------------------------------------------------
// The services of one flow.

export interface FlowServices {
  sim: Simulator;
  /** The EV2 API token the simulator accepts (the service connection's secret). */
  token: string;
  ado: AdoServer;
  sink: TeamsSink;
  /** Rollouts the scenario's history seeded: not started by the flow. */
  seeded: Set<string>;
  /** Rollouts started since the services came up. */
  started(): string[];
  close(): Promise<void>;
}

export interface FlowServicesOptions {
  scenario?: string;
  clockSpeed?: number;
  /** Seed of the simulator's probabilistic faults. */
  seed?: number;
  sinkResponses?: number[];
  sinkRetryAfter?: number;
  /** Comment of the Azure DevOps approval (GateApproval carries it into EV2). */
  approvalComment?: string;
  /** The EV2 API token the simulator accepts; default the fixture's. */
  token?: string;
}

export const approvalId = guidFrom("approval:Deploy_PPE");

export async function startFlowServices(options: FlowServicesOptions = {}): Promise<FlowServices> {
  const token = options.token ?? TOKEN;
  const sim = await startSimulator({
    scenario: options.scenario ?? "gated",
    clockSpeed: options.clockSpeed ?? 600,
    tokens: [token],
    seed: options.seed ?? 1,
  });
  const ado = await startSeededAdo((state) => {
    const project = addProject(state, projectName);
    addBuild(project, 4711, [{ identifier: "Deploy_PPE", approvalIds: [approvalId] }]);
    addPipelineApproval(project, approvalId, [
      { by: alice, comment: options.approvalComment ?? approvalComment },
    ]);
  });
  const sink = await startTeamsSink({ responses: options.sinkResponses, retryAfter: options.sinkRetryAfter });
  const seeded = new Set(sim.rollouts().map((r) => r.rolloutId));
  return {
    sim,
    token,
    ado,
    sink,
    seeded,
    started: () => sim.rollouts().flatMap((r) => (seeded.has(r.rolloutId) ? [] : [r.rolloutId])),
    async close() {
      await Promise.all([sim.close(), ado.close(), sink.close()]);
    },
  };
}

/**
 * The setup the agent gives a step of the flow's job: the EV2 service connection, the run's
 * variables (System.Debug on), the job's access token as a secret and the fake Azure DevOps.
 */
export function flowSetup(
  services: Pick<FlowServices, "sim" | "ado" | "token">,
  inputs: TaskRunSetup["inputs"],
  more: Partial<TaskRunSetup> = {},
): TaskRunSetup {
  return {
    timeoutMs: 90_000,
    ...more,
    inputs: { connectionType: "ev2", ev2Connection: "ev2conn", ...simulatorPolling, ...inputs },
    endpoints: {
      ev2conn: { url: services.sim.url, scheme: "Token", parameters: { apitoken: services.token } },
      ...more.endpoints,
    },
    variables: {
      ...runVariables(),
      "System.CollectionUri": services.ado.url,
      "System.TeamProject": projectName,
      ...more.variables,
    },
    secretVariables: { "System.AccessToken": jobToken, ...more.secretVariables },
  };
}

export const rolloutInputs = {
  serviceGroupName: "Microsoft.Contoso.Orders",
  serviceId: "orders-api",
  stageMapName: "OrdersStageMap",
  environment: "PPE",
};

// ---------------------------------------------------------------------------------------------
// Steps and the requests each sent.

export interface StepWindow {
  name: string;
  task: string;
  /** Date.now() before the process started and after it exited. */
  from: number;
  to: number;
  run?: TaskRun;
}

/** The EV2 requests a step sent: the steps of a flow run one after another. */
export function requestsOf(requests: readonly RecordedRequest[], step: StepWindow): RecordedRequest[] {
  return requests.filter((r) => r.at >= step.from && r.at <= step.to);
}

export interface RetryAfterBreach {
  step: string;
  throttled: RecordedRequest | { at: number; path: string };
  next: { at: number; path: string };
  waitedMs: number;
}

/**
 * Every answer that carried `Retry-After: retryAfterSeconds` (the statuses a sequence names;
 * 429 by default) against the next request the same client sent: it must not come sooner.
 * Returns the breaches and how many waits were checked. Node's timers may fire up to a
 * millisecond early, hence the small tolerance.
 */
export function retryAfterBreaches(
  sequences: Array<{
    step: string;
    requests: ReadonlyArray<{ at: number; status: number; path: string }>;
    /** Statuses answered with Retry-After in this sequence; default [429]. */
    statuses?: number[];
  }>,
  retryAfterSeconds: number,
): { breaches: RetryAfterBreach[]; checked: number } {
  const breaches: RetryAfterBreach[] = [];
  let checked = 0;
  for (const { step, requests, statuses = [429] } of sequences) {
    requests.forEach((r, i) => {
      if (!statuses.includes(r.status)) return;
      const next = requests[i + 1];
      if (!next) return;
      checked++;
      const waitedMs = next.at - r.at;
      if (waitedMs < retryAfterSeconds * 1000 - 2) breaches.push({ step, throttled: r, next, waitedMs });
    });
  }
  return { breaches, checked };
}

/** The simulator's deterministic PRNG (mulberry32), for the suite's own random choices. */
export { seededRandom as seeded } from "../../sim/ev2/faults";

// ---------------------------------------------------------------------------------------------
// A hostile server: answers whatever the test says, to see what the tasks make of it.

export interface HostileRequest {
  at: number;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface HostileAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface HostileServer {
  url: string;
  /** The same answers over https (certificate of the Teams sinks' CA): for webhooks. */
  httpsUrl: string;
  requests: HostileRequest[];
  close(): Promise<void>;
}

/** Real HTTP on 127.0.0.1 answering each request with `answer(request)`. */
export async function startHostileServer(
  answer: (req: HostileRequest) => HostileAnswer,
): Promise<HostileServer> {
  const requests: HostileRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = String(v);
      const request = {
        at: Date.now(),
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(request);
      const a = answer(request);
      res.writeHead(a.status, { "content-type": "application/json; charset=utf-8", ...a.headers });
      res.end(a.body ?? "");
    });
  };
  const { certPem, keyPem } = teamsSinkServerCertificate();
  const servers = [createServer(handle), createHttpsServer({ cert: certPem, key: keyPem }, handle)];
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((ok, fail) => {
          server.once("error", fail);
          server.listen(0, "127.0.0.1", () => ok((server.address() as AddressInfo).port));
        }),
    ),
  );
  return {
    url: `http://127.0.0.1:${ports[0]}`,
    httpsUrl: `https://127.0.0.1:${ports[1]}`,
    requests,
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((ok) => {
              server.close(() => ok());
              server.closeAllConnections();
            }),
        ),
      ).then(() => undefined),
  };
}
