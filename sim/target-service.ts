/**
 * A sample service with per-region endpoints, the target of the stress tests, the demo and the
 * stress benchmark. Real HTTP on 127.0.0.1; its behaviour (latency, error share, stalls,
 * availability) can be changed while it runs, for the whole service or one region.
 *
 * Routes (any path, so that a pipeline's own endpoints are served as written, see
 * pipeline/local-routes.ts):
 * - `GET /health` — 200 `{"status":"ok"}` (503 while the service is unavailable)
 * - `GET /<region>/…/health` (or `healthz`) — the same for one region
 * - `GET /<region>/<any other path>` — 200 with a small list of orders (`/<region>/api/orders`)
 * - `POST|PUT /<region>/<path>` — 201 with the size of the body received
 * - a path whose first segment is no region — the same, for the whole service
 * Injected latency, errors and stalls apply to every route but `/health`: a region that
 * misbehaves does so on each of its paths; availability applies to every route.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TargetBehaviour {
  /** Time added before every answer. */
  latencyMs: number;
  /** Extra latency drawn uniformly from 0..latencyJitterMs on top of latencyMs. */
  latencyJitterMs: number;
  /**
   * Share (0..1) of answers that are `errorStatus`. Spread evenly and deterministically over
   * the requests since the behaviour was set (0.05 = exactly every 20th), so tests can rely on
   * the count.
   */
  errorShare: number;
  errorStatus: number;
  /** false: every route answers 503, as a service still starting does. */
  available: boolean;
  /**
   * The service freezes: no answer leaves during [start, start + durationMs); answers due in
   * that window leave when it ends. `startsInMs` counts from the setBehaviour call.
   */
  stall?: { startsInMs: number; durationMs: number };
}

export interface TargetServiceOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Regions with routes; default eastus, westus, westeurope. */
  regions?: string[];
  behaviour?: Partial<TargetBehaviour>;
}

export interface TargetServiceStats {
  requests: number;
  /** Requests per region; paths outside every region count under `byRegion["*"]` when there were any. */
  byRegion: Record<string, number>;
  errorsInjected: number;
}

export interface TargetService {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  regions: string[];
  /**
   * Changes the behaviour of the whole service, or of one region when `region` is given. A
   * region's own settings win over the service's until `resetBehaviour`.
   */
  setBehaviour(change: Partial<TargetBehaviour>, region?: string): void;
  /** Back to the behaviour the service started with, for every region. */
  resetBehaviour(): void;
  stats(): TargetServiceStats;
  close(): Promise<void>;
}

const DEFAULT_REGIONS = ["eastus", "westus", "westeurope"];
const wholeServiceKey = "*";

const DEFAULT_BEHAVIOUR: TargetBehaviour = {
  latencyMs: 0,
  latencyJitterMs: 0,
  errorShare: 0,
  errorStatus: 500,
  available: true,
};

/** Stall resolved to absolute times (performance-independent Date.now ms). */
interface ActiveBehaviour extends TargetBehaviour {
  stallFrom: number;
  stallUntil: number;
}

interface RegionState {
  behaviour: ActiveBehaviour;
  /**
   * Requests answered per path since the behaviour last changed, for the even error spread: per
   * path, so that each of a region's endpoints gets its share however their requests interleave.
   */
  served: Map<string, number>;
  requests: number;
}

const JSON_HEADERS = { "content-type": "application/json" };
const HEALTHY_BODY = Buffer.from('{"status":"ok"}');
const UNAVAILABLE_BODY = Buffer.from('{"status":"unavailable"}');
const ERROR_BODY = Buffer.from('{"error":"injected failure"}');

function ordersBody(region: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      region,
      orders: [
        { id: "o-1001", status: "shipped" },
        { id: "o-1002", status: "pending" },
      ],
    }),
  );
}

/** Turns a change into absolute fields: a stall's window starts counting now. */
function resolveChange(change: Partial<TargetBehaviour>): Partial<ActiveBehaviour> {
  const { stall, ...rest } = change;
  if (stall) {
    const from = Date.now() + stall.startsInMs;
    return { ...rest, stall, stallFrom: from, stallUntil: from + stall.durationMs };
  }
  if ("stall" in change) return { ...rest, stall: undefined, stallFrom: 0, stallUntil: 0 };
  return rest;
}

function combine(...parts: Partial<ActiveBehaviour>[]): ActiveBehaviour {
  const merged: ActiveBehaviour = Object.assign(
    { ...DEFAULT_BEHAVIOUR, stallFrom: 0, stallUntil: 0 },
    ...parts,
  );
  validateBehaviour(merged);
  return merged;
}

function validateBehaviour(b: TargetBehaviour): void {
  if (!(b.latencyMs >= 0) || !(b.latencyJitterMs >= 0))
    throw new RangeError("latencyMs and latencyJitterMs must be >= 0");
  if (!(b.errorShare >= 0 && b.errorShare <= 1))
    throw new RangeError(`errorShare must be within 0..1 (got ${b.errorShare})`);
  if (!Number.isInteger(b.errorStatus) || b.errorStatus < 100 || b.errorStatus > 599) {
    throw new RangeError(`errorStatus must be an HTTP status 100..599 (got ${b.errorStatus})`);
  }
}

export async function startTargetService(opts: TargetServiceOptions = {}): Promise<TargetService> {
  const regions = opts.regions ?? DEFAULT_REGIONS;
  const initialBehaviour = combine(resolveChange(opts.behaviour ?? {}));
  let serviceBehaviour = initialBehaviour;
  const regionOverrides = new Map<string, Partial<ActiveBehaviour>>();
  const states = new Map<string, RegionState>();
  const bodies = new Map<string, Buffer>();
  for (const region of regions) {
    states.set(region, { behaviour: serviceBehaviour, served: new Map(), requests: 0 });
    bodies.set(region, ordersBody(region));
  }
  // Paths outside every region: the whole service's own routes, with the service's behaviour.
  const wholeService: RegionState = { behaviour: serviceBehaviour, served: new Map(), requests: 0 };
  bodies.set(wholeServiceKey, ordersBody("all"));
  let requests = 0;
  let errorsInjected = 0;
  // Answers held back (latency, stalls): cleared on close so that nothing outlives the service.
  const heldAnswers = new Set<NodeJS.Timeout>();

  function answer(res: ServerResponse, status: number, body: Buffer): void {
    res.writeHead(status, { ...JSON_HEADERS, "content-length": body.length });
    res.end(body);
  }

  function answerLater(state: RegionState, res: ServerResponse, status: number, body: Buffer): void {
    const b = state.behaviour;
    const now = Date.now();
    let due = now + b.latencyMs + (b.latencyJitterMs > 0 ? Math.random() * b.latencyJitterMs : 0);
    if (due >= b.stallFrom && due < b.stallUntil) due = b.stallUntil;
    else if (now >= b.stallFrom && now < b.stallUntil) due = Math.max(due, b.stallUntil);
    const wait = due - now;
    if (wait <= 0) {
      answer(res, status, body);
      return;
    }
    const timer = setTimeout(() => {
      heldAnswers.delete(timer);
      answer(res, status, body);
    }, wait);
    heldAnswers.add(timer);
  }

  /** A region's route (`*`: the whole service's): health answers, or orders. */
  function handleRoute(
    state: RegionState,
    region: string,
    route: "health" | "orders",
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const b = state.behaviour;
    const n = state.served.get(path) ?? 0;
    state.served.set(path, n + 1);
    // Even spread: request n fails when the running count of due failures steps up.
    const fails = b.errorShare > 0 && Math.floor((n + 1) * b.errorShare) > Math.floor(n * b.errorShare);
    if (fails) {
      req.resume();
      errorsInjected++;
      answerLater(state, res, b.errorStatus, ERROR_BODY);
      return;
    }
    if (route === "health") {
      req.resume();
      answerLater(state, res, 200, HEALTHY_BODY);
      return;
    }
    if (req.method === "GET" || req.method === "HEAD") {
      answerLater(state, res, 200, bodies.get(region)!);
      return;
    }
    if (req.method === "POST" || req.method === "PUT") {
      let size = 0;
      req.on("data", (chunk: Buffer) => (size += chunk.length));
      req.on("end", () =>
        answerLater(state, res, 201, Buffer.from(JSON.stringify({ region, received: size }))),
      );
      return;
    }
    req.resume();
    answer(res, 405, Buffer.from('{"error":"method not allowed"}'));
  }

  const server = createServer((req, res) => {
    requests++;
    const path = (req.url ?? "/").split("?")[0];
    // Drain any request body the route does not read so the connection stays reusable.
    if (!serviceBehaviour.available) {
      req.resume();
      answer(res, 503, UNAVAILABLE_BODY);
      return;
    }
    if (path === "/health") {
      req.resume();
      answer(res, 200, HEALTHY_BODY);
      return;
    }
    const segments = path.split("/").filter(Boolean);
    const regional = states.get(segments[0] ?? "");
    const region = regional ? segments[0] : wholeServiceKey;
    const state = regional ?? wholeService;
    state.requests++;
    if (!state.behaviour.available) {
      req.resume();
      answer(res, 503, UNAVAILABLE_BODY);
      return;
    }
    const last = segments.at(-1)?.toLowerCase();
    const isHealth = segments.length > (regional ? 1 : 0) && (last === "health" || last === "healthz");
    handleRoute(state, region, isHealth ? "health" : "orders", path, req, res);
  });
  // Load generators hold connections open between bursts; keep them longer than Node's 5 s.
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    regions,
    setBehaviour(change, region) {
      if (region === undefined) {
        serviceBehaviour = combine(serviceBehaviour, resolveChange(change));
        wholeService.behaviour = serviceBehaviour;
        wholeService.served.clear();
        for (const [name, state] of states)
          state.behaviour = combine(serviceBehaviour, regionOverrides.get(name) ?? {});
        return;
      }
      const state = states.get(region);
      if (!state) throw new RangeError(`unknown region "${region}"; regions: ${regions.join(", ")}`);
      const override = { ...regionOverrides.get(region), ...resolveChange(change) };
      state.behaviour = combine(serviceBehaviour, override);
      state.served.clear();
      regionOverrides.set(region, override);
    },
    resetBehaviour() {
      serviceBehaviour = initialBehaviour;
      wholeService.behaviour = serviceBehaviour;
      wholeService.served.clear();
      regionOverrides.clear();
      for (const state of states.values()) {
        state.behaviour = serviceBehaviour;
        state.served.clear();
      }
    },
    stats() {
      const byRegion: Record<string, number> = {};
      for (const [name, state] of states) byRegion[name] = state.requests;
      if (wholeService.requests > 0) byRegion[wholeServiceKey] = wholeService.requests;
      return { requests, byRegion, errorsInjected };
    },
    close() {
      for (const timer of heldAnswers) clearTimeout(timer);
      heldAnswers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
