import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "../http-body";
import { gitRoutes } from "./git-routes";
import { locationRoutes, resourceAreas } from "./location-routes";
import { pipelineRoutes } from "./pipeline-routes";
import {
  AdoHttpError,
  checkApiVersion,
  compileRoute,
  list,
  locationOf,
  requestedApiVersion,
  type ApiRoute,
  type CompiledRoute,
  type RouteContext,
  type RouteResult,
  type ServiceHost,
} from "./routing";
import {
  createAdoState,
  type AdoFault,
  type AdoIdentity,
  type AdoProjectState,
  type AdoServerState,
} from "./state";

export interface AdoServerOptions {
  /** Seed data; the server keeps this object and reads it on every request. */
  state?: AdoServerState;
  /** `services` (default) publishes resource areas like dev.azure.com; `server` lists none, like Azure DevOps Server. */
  deployment?: "services" | "server";
  /** Runs before each request is handled, e.g. to change the state in the middle of a flow (a race). */
  onRequest?: (request: RecordedAdoRequest, state: AdoServerState) => void;
}

export interface RecordedAdoRequest {
  method: string;
  /** Decoded path, e.g. `/DefaultCollection/Contoso/_apis/git/repositories/app/refs`. */
  path: string;
  /** Which host answered: the collection or release management (`vsrm`). */
  host: ServiceHost | "unknown";
  query: Record<string, string>;
  /** Lower-case names; `authorization` keeps only its scheme (`Bearer [redacted]`). */
  headers: Record<string, string>;
  body: unknown;
  apiVersion: string | undefined;
  /** Filled in once answered. */
  status: number;
}

export interface AdoServer {
  /** The collection URL, with a trailing slash: `http://127.0.0.1:{port}/{organization}/`. */
  url: string;
  /** Where release management answers (the `vsrm` host on Azure DevOps Services). */
  releaseUrl: string;
  state: AdoServerState;
  requests: RecordedAdoRequest[];
  onRequest: AdoServerOptions["onRequest"];
  /** The seeded project with this name or id; throws when there is none. */
  project(nameOrId: string): AdoProjectState;
  close(): Promise<void>;
}

const allRoutes = [...locationRoutes, ...gitRoutes, ...pipelineRoutes];
const compiledRoutes: CompiledRoute[] = allRoutes.map(compileRoute);

/** Starts the fake Azure DevOps on 127.0.0.1 (a free port), answering as Azure DevOps does for the calls the tasks make. */
export async function startAdoServer(opts: AdoServerOptions = {}): Promise<AdoServer> {
  const state = opts.state ?? createAdoState();
  const requests: RecordedAdoRequest[] = [];
  const deployment = opts.deployment ?? "services";
  const collectionPath = `/${encodeURIComponent(state.organization)}/`;
  const releasePath = `/vsrm${collectionPath}`;
  let origin = "";

  const ado: AdoServer = {
    url: "",
    releaseUrl: "",
    state,
    requests,
    onRequest: opts.onRequest,
    project(nameOrId) {
      const found = state.projects.find((p) => p.name === nameOrId || p.id === nameOrId);
      if (!found) throw new Error(`The fake Azure DevOps has no project '${nameOrId}'.`);
      return found;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { message: `Fake Azure DevOps failed: ${String(err)}` });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", origin);
    const method = (req.method ?? "GET").toUpperCase();
    const rawBody = (await readBody(req, Number.POSITIVE_INFINITY)) ?? "";
    const host: RecordedAdoRequest["host"] = url.pathname.startsWith(releasePath)
      ? "release"
      : url.pathname.startsWith(collectionPath)
        ? "collection"
        : "unknown";
    const record: RecordedAdoRequest = {
      method,
      path: safeDecode(url.pathname),
      host,
      query: Object.fromEntries(url.searchParams),
      headers: redactedHeaders(req),
      body: parseBody(rawBody, req.headers["content-type"]),
      apiVersion: requestedApiVersion(url.searchParams, req.headers.accept),
      status: 0,
    };
    requests.push(record);
    const reply = (result: RouteResult): void => {
      record.status = result.status;
      send(res, result.status, result.body, result.headers);
    };

    const identity = authenticate(req, state);
    if (!identity) {
      if (req.headers["x-tfs-fedauthredirect"] !== "Suppress" && !req.headers.authorization) {
        // Without the Suppress header Azure DevOps answers an anonymous call with its sign-in page.
        record.status = 203;
        res
          .writeHead(203, { "content-type": "text/html; charset=utf-8" })
          .end("<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>");
        return;
      }
      reply(
        errorResult(
          new AdoHttpError(
            401,
            "TF400813: The user '' is not authorized to access this resource.",
            "UnauthorizedRequestException",
          ),
          {
            "www-authenticate":
              'Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm="https://dev.azure.com/"',
          },
        ),
      );
      return;
    }

    ado.onRequest?.(record, state);
    const fault = takeFault(state.faults, method, record.path);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status) {
      reply(
        errorResult(
          new AdoHttpError(
            fault.status,
            fault.message ?? `Injected failure (${fault.status}).`,
            "InjectedFaultException",
          ),
          fault.retryAfter === undefined ? undefined : { "retry-after": fault.retryAfter },
        ),
      );
      return;
    }
    if (host === "unknown") {
      reply(
        errorResult(
          new AdoHttpError(404, `No collection at ${record.path}.`, "CollectionDoesNotExistException"),
        ),
      );
      return;
    }
    if (typeof record.body === "symbol") {
      reply(
        errorResult(
          new AdoHttpError(400, "The request body is not valid JSON.", "InvalidArgumentValueException"),
        ),
      );
      return;
    }

    const basePath = host === "release" ? releasePath : collectionPath;
    // Azure DevOps Server has no separate release host: everything answers at the collection.
    const servedHost = (route: ApiRoute): boolean =>
      deployment === "server" ? host === "collection" : route.host === host;
    const relative = `/${url.pathname.slice(basePath.length)}`;
    const ctxBase = {
      state,
      query: url.searchParams,
      body: record.body,
      identity,
      baseUrls: { collection: ado.url, release: ado.releaseUrl },
      resourceAreas,
      deployment,
    } satisfies Omit<RouteContext, "params">;
    try {
      if (method === "OPTIONS") {
        reply(listLocations(servedHost, relative));
        return;
      }
      reply(dispatch(servedHost, method, relative, req.headers.accept, ctxBase));
    } catch (err) {
      if (err instanceof AdoHttpError) reply(errorResult(err));
      else throw err;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  ado.url = `${origin}${collectionPath}`;
  ado.releaseUrl = `${origin}${releasePath}`;
  return ado;
}

/** `OPTIONS _apis/{area}`: the locations the client builds URLs from (`VsoClient.beginGetAreaLocations`). */
function listLocations(served: (route: ApiRoute) => boolean, relative: string): RouteResult {
  const match = /^\/_apis(?:\/([^/]+))?\/?$/i.exec(relative);
  if (!match) return list([]);
  const area = match[1]?.toLowerCase();
  const published = allRoutes.filter((r) => r.id && served(r) && (!area || r.area.toLowerCase() === area));
  return list(published.map(locationOf));
}

function dispatch(
  served: (route: ApiRoute) => boolean,
  method: string,
  relative: string,
  accept: string | undefined,
  ctxBase: Omit<RouteContext, "params">,
): RouteResult {
  for (const { route, pattern } of compiledRoutes) {
    if (!served(route)) continue;
    const match = pattern.exec(relative);
    if (!match) continue;
    const handler = route.handlers[method as keyof typeof route.handlers];
    if (!handler)
      throw new AdoHttpError(
        405,
        `The requested resource does not support http method '${method}'.`,
        "HttpMethodNotSupportedException",
      );
    checkApiVersion(route, method, requestedApiVersion(ctxBase.query, accept));
    const params = Object.fromEntries(
      Object.entries(match.groups ?? {}).map(([k, v]) => [k, v === undefined ? undefined : safeDecode(v)]),
    );
    return handler({ ...ctxBase, params });
  }
  throw new AdoHttpError(404, `The resource at '${relative}' was not found.`, "ApiResourceNotFoundException");
}

/** Bearer `<token>`, or Basic with the token as password (a PAT), checked against `state.tokens`. */
function authenticate(req: IncomingMessage, state: AdoServerState): AdoIdentity | undefined {
  const header = req.headers.authorization ?? "";
  const [scheme, value = ""] = header.split(" ", 2);
  let token: string | undefined;
  if (scheme?.toLowerCase() === "bearer") token = value;
  else if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    token = decoded.slice(decoded.indexOf(":") + 1);
  }
  return token ? state.tokens[token] : undefined;
}

function takeFault(faults: AdoFault[], method: string, path: string): AdoFault | undefined {
  const fault = faults.find(
    (f) =>
      f.times > 0 &&
      (!f.method || f.method.toUpperCase() === method) &&
      path.toLowerCase().includes(f.pathIncludes.toLowerCase()),
  );
  if (fault) fault.times -= 1;
  return fault;
}

function errorResult(err: AdoHttpError, headers?: Record<string, string>): RouteResult {
  return { status: err.status, body: err.toBody(), ...(headers ? { headers } : {}) };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    activityid: randomUUID(),
    "x-tfs-session": randomUUID(),
    "x-vss-e2eid": randomUUID(),
    ...headers,
  });
  res.end(text);
}

const invalidJson = Symbol("invalid JSON");

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === "") return undefined;
  if (!contentType?.includes("json")) return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return invalidJson;
  }
}

function redactedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    headers[name] = name === "authorization" ? `${text.split(" ", 1)[0]} [redacted]` : text;
  }
  return headers;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
