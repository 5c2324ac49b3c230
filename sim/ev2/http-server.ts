import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { handleAdminRequest } from "./admin-routes";
import { ApiError, errorAnswer, invalidParameter, type ApiAnswer } from "./api-error";
import { FAULT_STATUS_CODES, htmlErrorPage, TRUNCATED_JSON, type FaultRule } from "./faults";
import type { FrontDoorContext, IncomingCall, RecordedRequest } from "./front-door";
import type { SimulatedEv2 } from "./simulated-ev2";
import { readBody } from "../http-body";

const JSON_TYPE = "application/json; charset=utf-8";
const MAX_BODY_BYTES = 1024 * 1024;

type Params = Record<string, string>;
interface Route {
  method: "GET" | "POST";
  pattern: string[];
  handle(params: Params, call: IncomingCall, ev2: SimulatedEv2): ApiAnswer;
}

const ROUTES: Route[] = [
  {
    method: "GET",
    pattern: ["serviceGroups"],
    handle: (_p, call, ev2) => ev2.listServiceGroups(call.query),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services"],
    handle: (p, _call, ev2) => ev2.listServices(p.sg),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "stageMaps"],
    handle: (p, _call, ev2) => ev2.listStageMaps(p.sg, p.svc),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "environments"],
    handle: (p, _call, ev2) => ev2.listEnvironments(p.sg, p.svc),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "artifactVersions"],
    handle: (p, _call, ev2) => ev2.listArtifactVersions(p.sg, p.svc),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "stageMaps", ":stageMap", "versions"],
    handle: (p, _call, ev2) => ev2.listStageMapVersions(p.sg, p.svc, p.stageMap),
  },
  {
    method: "POST",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "rollouts"],
    handle: (p, call, ev2) => ev2.startRollout(p.sg, p.svc, call.headers["idempotency-key"], jsonBody(call)),
  },
  {
    method: "GET",
    pattern: ["serviceGroups", ":sg", "services", ":svc", "rollouts"],
    handle: (p, call, ev2) => ev2.listRollouts(p.sg, p.svc, call.query),
  },
  {
    method: "GET",
    pattern: ["rollouts"],
    handle: (_p, call, ev2) => ev2.findRollouts(call.query),
  },
  {
    method: "GET",
    pattern: ["rollouts", ":rolloutId"],
    handle: (p, _call, ev2) => {
      const view = ev2.getRollout(p.rolloutId);
      return { status: 200, body: view, headers: { etag: etagOf(view) } };
    },
  },
  {
    method: "POST",
    pattern: ["rollouts", ":rolloutId", "waitActions", ":actionId", "decision"],
    handle: (p, call, ev2) => ev2.decideWaitAction(p.rolloutId, p.actionId, jsonBody(call)),
  },
  {
    method: "POST",
    pattern: ["rollouts", ":rolloutId", "cancel"],
    handle: (p, call, ev2) => ev2.cancelRollout(p.rolloutId, jsonBody(call)),
  },
  {
    method: "POST",
    pattern: ["rollouts", ":rolloutId", "restart"],
    handle: (p, call, ev2) => ev2.restartRollout(p.rolloutId, jsonBody(call)),
  },
];

export function createFrontDoor(context: FrontDoorContext): Server {
  // Sequence numbers keep counting when the admin API clears the recorded requests.
  let lastSeq = 0;
  const nextSeq = () => ++lastSeq;
  return createServer((req, res) => {
    serve(req, res, context, nextSeq).catch((error: unknown) => {
      // Only reached if answering itself failed (e.g. the socket is gone); nothing left to tell the client.
      if (!res.headersSent && !res.destroyed) sendError(res, internalError(error));
      else res.destroy();
    });
  });
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  context: FrontDoorContext,
  nextSeq: () => number,
): Promise<void> {
  res.setHeader("x-ms-request-id", randomUUID());
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw === undefined) {
    sendError(
      res,
      new ApiError(413, "PayloadTooLarge", `request bodies are limited to ${MAX_BODY_BYTES} bytes`),
    );
    return;
  }
  const call = toCall(req, raw);
  if (call.path === "/_sim" || call.path.startsWith("/_sim/")) {
    answer(res, handleAdminRequest(call, context));
    return;
  }

  const record: RecordedRequest = {
    seq: nextSeq(),
    at: Date.now(),
    method: call.method,
    path: call.path,
    query: call.query,
    headers: call.headers,
    body: call.body,
    status: 0,
  };
  context.requests.push(record);
  res.on("finish", () => {
    record.status = res.statusCode;
  });

  const fault = context.faults.take(call.method, call.path);
  if (fault) {
    record.fault = fault.kind;
    if (fault.kind !== "slow") {
      answerWithFault(req, res, fault);
      return;
    }
    try {
      await sleep(fault.delayMs ?? 1000, undefined, { signal: context.closing });
    } catch {
      res.destroy();
      return;
    }
  }
  answer(res, routeEv2Call(call, context));
}

function routeEv2Call(call: IncomingCall, context: FrontDoorContext): ApiAnswer {
  try {
    authenticate(call, context);
    const segments = splitPath(call.path);
    const matching = ROUTES.map((route) => ({ route, params: matchPattern(route.pattern, segments) })).filter(
      (candidate) => candidate.params !== undefined,
    );
    if (matching.length === 0) throw new ApiError(404, "NotFound", `no EV2 operation at ${call.path}`);
    const chosen = matching.find(({ route }) => route.method === call.method);
    if (!chosen) {
      const allowed = matching.map(({ route }) => route.method).join(", ");
      const error = new ApiError(
        405,
        "MethodNotAllowed",
        `${call.method} is not allowed on ${call.path}; use ${allowed}`,
      );
      return { ...errorAnswer(error), headers: { allow: allowed } };
    }
    const result = chosen.route.handle(chosen.params as Params, call, context.ev2);
    const etag = result.headers?.etag;
    if (etag !== undefined && ifNoneMatchHits(call.headers["if-none-match"], etag)) {
      return { status: 304, body: undefined, headers: { etag } };
    }
    return result;
  } catch (error) {
    return errorAnswer(error instanceof ApiError ? error : internalError(error));
  }
}

function authenticate(call: IncomingCall, context: FrontDoorContext): void {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(call.headers.authorization ?? "");
  if (!match) {
    throw new ApiError(401, "AuthenticationFailed", "the Authorization header must be 'Bearer <token>'");
  }
  const token = match[1];
  if (context.forbiddenTokens.has(token)) {
    throw new ApiError(403, "Forbidden", "the token is valid but not allowed on this service group");
  }
  if (!context.tokens.has(token))
    throw new ApiError(401, "AuthenticationFailed", "the token is not valid or has expired");
}

function answerWithFault(req: IncomingMessage, res: ServerResponse, fault: FaultRule): void {
  switch (fault.kind) {
    case "reset":
      req.socket.destroy();
      return;
    case "malformed":
      res.writeHead(200, { "content-type": JSON_TYPE });
      res.end(TRUNCATED_JSON);
      return;
    case "html": {
      const status = fault.status ?? 502;
      res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
      res.end(htmlErrorPage(status));
      return;
    }
    default: {
      const status = fault.status ?? 503;
      const code = FAULT_STATUS_CODES[status] ?? "InjectedFault";
      const headers: Record<string, string> =
        fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {};
      answer(res, { ...errorAnswer(new ApiError(status, code, `simulated ${status} ${code}`)), headers });
    }
  }
}

function answer(res: ServerResponse, result: ApiAnswer): void {
  const headers: Record<string, string> = { ...(result.headers ?? {}) };
  if (result.body === undefined) {
    res.writeHead(result.status, headers);
    res.end();
    return;
  }
  headers["content-type"] = JSON_TYPE;
  res.writeHead(result.status, headers);
  res.end(JSON.stringify(result.body));
}

function sendError(res: ServerResponse, error: ApiError): void {
  answer(res, errorAnswer(error));
}

function internalError(error: unknown): ApiError {
  return new ApiError(
    500,
    "InternalError",
    `simulator error: ${error instanceof Error ? error.message : String(error)}`,
  );
}

function jsonBody(call: IncomingCall): unknown {
  if (call.bodyIsNotJson) throw invalidParameter("body", "the request body is not valid JSON");
  return call.body;
}

function toCall(req: IncomingMessage, raw: string): IncomingCall {
  const target = req.url ?? "/";
  // Origin-form is appended, not resolved: `new URL("//rollouts", base)` would take "rollouts" for a host.
  const url = target.startsWith("/")
    ? new URL(`http://127.0.0.1${target}`)
    : new URL(target, "http://127.0.0.1");
  const query: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) (query[key] ??= []).push(value);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  let body: unknown = undefined;
  let bodyIsNotJson = false;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
      bodyIsNotJson = true;
    }
  }
  return {
    method: (req.method ?? "GET").toUpperCase(),
    // A connection URL saved with a trailing slash puts `//` before the path wherever Azure DevOps
    // writes `$(endpoint.url)/…` (the release gate, the connection's data sources): read it as one.
    path: url.pathname.replace(/^\/{2,}/, "/"),
    query,
    headers,
    body,
    bodyIsNotJson,
  };
}

function splitPath(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw invalidParameter("path", `path segment "${segment}" is not valid percent-encoding`);
      }
    });
}

function matchPattern(pattern: string[], segments: string[]): Params | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Params = {};
  for (let index = 0; index < pattern.length; index++) {
    const part = pattern[index];
    if (part.startsWith(":")) {
      if (segments[index] === "") return undefined;
      params[part.slice(1)] = segments[index];
    } else if (part !== segments[index]) {
      return undefined;
    }
  }
  return params;
}

function etagOf(body: unknown): string {
  return `"${createHash("sha1").update(JSON.stringify(body)).digest("base64url")}"`;
}

function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || bare(tag) === bare(etag));
}
