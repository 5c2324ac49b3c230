import type { AdoIdentity, AdoProjectState, AdoServerState } from "./state";

/**
 * One REST resource as Azure DevOps describes it in `OPTIONS _apis/{area}` (an
 * ApiResourceLocation), plus what the fake does with it. `azure-devops-node-api` builds every
 * URL from these route templates and negotiates the api-version against these versions, so they
 * follow what the real service publishes.
 */
export interface ApiRoute {
  /** The location id the client asks for; absent for routes no client discovers (raw REST). */
  id?: string;
  area: string;
  resourceName: string;
  routeTemplate: string;
  resourceVersion: number;
  minVersion: string;
  maxVersion: string;
  releasedVersion: string;
  /** Which host serves it: the collection, or the release management host (`vsrm`). */
  host: ServiceHost;
  /** False for routes that answer without an api-version (legacy `connectionData`). */
  requiresApiVersion: boolean;
  handlers: Partial<Record<"GET" | "POST" | "PATCH", RouteHandler>>;
}

export type ServiceHost = "collection" | "release";

export interface RouteContext {
  state: AdoServerState;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  body: unknown;
  identity: AdoIdentity;
  /** Base URLs with a trailing slash, e.g. `http://127.0.0.1:1234/DefaultCollection/`. */
  baseUrls: Record<ServiceHost, string>;
  /** Resource areas as `GET _apis/ResourceAreas` lists them. */
  resourceAreas: ReadonlyArray<{ id: string; name: string; host: ServiceHost }>;
  deployment: "services" | "server";
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (ctx: RouteContext) => RouteResult;

/** An answer in Azure DevOps' error shape (`{ message, typeKey, … }`). */
export class AdoHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly typeKey: string,
  ) {
    super(message);
  }

  toBody(): Record<string, unknown> {
    return {
      $id: "1",
      innerException: null,
      message: this.message,
      typeName: `Microsoft.VisualStudio.Services.WebApi.${this.typeKey}, Microsoft.VisualStudio.Services.WebApi`,
      typeKey: this.typeKey,
      errorCode: 0,
      eventId: 3000,
    };
  }
}

export interface CompiledRoute {
  route: ApiRoute;
  pattern: RegExp;
}

/**
 * A route template as a path matcher. Parameters are optional segments because the client
 * drops empty ones (`…/builds/5/Timeline` for `…/builds/{buildId}/{resource}/{timelineId}`);
 * the handlers check the ones they need.
 */
export function compileRoute(route: ApiRoute): CompiledRoute {
  const segments = route.routeTemplate.split("/").filter(Boolean);
  let source = "";
  for (const segment of segments) {
    const param = /^\{\*?([A-Za-z]+)\}$/.exec(segment);
    if (segment === "{area}") source += `/${escapeRegExp(route.area)}`;
    else if (segment === "{resource}") source += `/${escapeRegExp(route.resourceName)}`;
    else if (param && segment.startsWith("{*")) source += `(?:/(?<${param[1]}>.+))?`;
    else if (param) source += `(?:/(?<${param[1]}>[^/]+))?`;
    else source += `/${escapeRegExp(segment)}`;
  }
  return { route, pattern: new RegExp(`^${source}/?$`, "i") };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The location object `OPTIONS _apis/{area}` returns for a route. */
export function locationOf(route: ApiRoute): Record<string, unknown> {
  return {
    id: route.id,
    area: route.area,
    resourceName: route.resourceName,
    routeTemplate: route.routeTemplate,
    resourceVersion: route.resourceVersion,
    minVersion: route.minVersion,
    maxVersion: route.maxVersion,
    releasedVersion: route.releasedVersion,
  };
}

/** The api-version of a request, from the query string or the Accept header. */
export function requestedApiVersion(query: URLSearchParams, accept: string | undefined): string | undefined {
  const fromQuery = query.get("api-version");
  if (fromQuery) return fromQuery;
  const match = /api-version=([^;,\s]+)/i.exec(accept ?? "");
  return match?.[1];
}

/** Rejects an api-version the way Azure DevOps does: missing, out of range, or preview without `-preview`. */
export function checkApiVersion(route: ApiRoute, method: string, requested: string | undefined): void {
  if (!requested) {
    if (!route.requiresApiVersion) return;
    throw new AdoHttpError(
      400,
      `No api-version was supplied for the "${method}" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`,
      "VssVersionNotSpecifiedException",
    );
  }
  const parsed = /^(\d+\.\d+)(-preview(\.\d+)?)?$/i.exec(requested);
  if (!parsed)
    throw new AdoHttpError(
      400,
      `The api-version '${requested}' is not valid.`,
      "VssInvalidApiVersionException",
    );
  const version = Number(parsed[1]);
  if (version > Number(route.maxVersion) || version < Number(route.minVersion)) {
    throw new AdoHttpError(
      400,
      `The requested REST API version of ${requested} is out of range for this server. The latest REST API version this server supports is ${route.maxVersion}.`,
      "VssVersionOutOfRangeException",
    );
  }
  if (version > Number(route.releasedVersion) && !parsed[2]) {
    throw new AdoHttpError(
      400,
      `The requested version "${requested}" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "${requested}-preview"`,
      "VssInvalidPreviewVersionException",
    );
  }
}

export function findProject(ctx: RouteContext): AdoProjectState {
  const wanted = ctx.params.project;
  const project = wanted
    ? ctx.state.projects.find(
        (p) => p.id.toLowerCase() === wanted.toLowerCase() || p.name.toLowerCase() === wanted.toLowerCase(),
      )
    : undefined;
  if (!project) {
    throw new AdoHttpError(
      404,
      `TF200016: The following project does not exist: ${wanted ?? ""}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
      "ProjectDoesNotExistWithNameException",
    );
  }
  return project;
}

/** `{ count, value }`, the wrapper Azure DevOps puts around every list. */
export function list(value: unknown[], headers?: Record<string, string>): RouteResult {
  return { status: 200, body: { count: value.length, value }, ...(headers ? { headers } : {}) };
}

export function identityRef(identity: AdoIdentity, baseUrl: string): Record<string, unknown> {
  return {
    displayName: identity.displayName,
    url: `${baseUrl}_apis/Identities/${identity.id}`,
    id: identity.id,
    uniqueName: identity.uniqueName,
    imageUrl: `${baseUrl}_api/_common/identityImage?id=${identity.id}`,
    descriptor: `aad.${Buffer.from(identity.id).toString("base64url")}`,
    ...(identity.isContainer ? { isContainer: true } : {}),
  };
}
