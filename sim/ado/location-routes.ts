import {
  AdoHttpError,
  identityRef,
  list,
  type ApiRoute,
  type RouteContext,
  type RouteResult,
  type ServiceHost,
} from "./routing";
import { guidFrom } from "./state";

/**
 * The resource areas the fake serves and where. As on Azure DevOps Services, release management
 * lives on its own host (`vsrm.dev.azure.com/{org}/`); here that is a `vsrm/` path prefix.
 */
export const resourceAreas: ReadonlyArray<{ id: string; name: string; host: ServiceHost }> = [
  { id: "79134c72-4a58-4b42-976c-04e7115f32bf", name: "core", host: "collection" },
  { id: "4e080c62-fa21-4fbc-8fef-2a10a2b38049", name: "git", host: "collection" },
  { id: "965220d5-5bb9-42cf-8d67-9b146df2a5a4", name: "build", host: "collection" },
  { id: "efc2f575-36ef-48e9-b672-0c6fb4a48ac5", name: "Release", host: "release" },
];

/** What `WebApi` asks before any API call: the resource areas (`LocationsApi.getResourceAreas`) and `connect()`. */
export const locationRoutes: ApiRoute[] = [
  {
    id: "e81700f7-3be2-46de-8624-2eb35882fcaa",
    area: "Location",
    resourceName: "ResourceAreas",
    routeTemplate: "_apis/{resource}/{areaId}",
    resourceVersion: 1,
    minVersion: "3.2",
    maxVersion: "7.2",
    releasedVersion: "0.0",
    host: "collection",
    requiresApiVersion: true,
    handlers: { GET: getResourceAreas },
  },
  {
    id: "00d9565f-ed9c-4a06-9a50-00e7896ccab4",
    area: "Location",
    resourceName: "ConnectionData",
    routeTemplate: "_apis/{resource}",
    resourceVersion: 1,
    minVersion: "1.0",
    maxVersion: "7.2",
    releasedVersion: "0.0",
    host: "collection",
    // `WebApi.connect()` sends no api-version, and Azure DevOps answers it anyway.
    requiresApiVersion: false,
    handlers: { GET: getConnectionData },
  },
];

function getResourceAreas(ctx: RouteContext): RouteResult {
  // Azure DevOps Server lists no areas (`{ count: 0, value: null }`): clients then use the collection URL.
  if (ctx.deployment === "server") return { status: 200, body: { count: 0, value: null } };
  const areas = ctx.resourceAreas.map((area) => ({
    id: area.id,
    name: area.name,
    locationUrl: ctx.baseUrls[area.host],
  }));
  const wanted = ctx.params.areaId?.toLowerCase();
  if (!wanted) return list(areas);
  const area = areas.find((a) => a.id === wanted || a.name.toLowerCase() === wanted);
  if (!area)
    throw new AdoHttpError(
      404,
      `Resource area ${ctx.params.areaId} was not found.`,
      "ResourceAreaNotFoundException",
    );
  return { status: 200, body: area };
}

function getConnectionData(ctx: RouteContext): RouteResult {
  const user = {
    ...identityRef(ctx.identity, ctx.baseUrls.collection),
    providerDisplayName: ctx.identity.displayName,
    isActive: true,
    properties: { Account: { $type: "System.String", $value: ctx.identity.uniqueName } },
  };
  return {
    status: 200,
    body: {
      authenticatedUser: user,
      authorizedUser: user,
      instanceId: guidFrom(`collection:${ctx.state.organization}`),
      deploymentId: guidFrom(`deployment:${ctx.state.organization}`),
      deploymentType: ctx.deployment === "server" ? "onPremises" : "hosted",
      locationServiceData: {
        serviceOwner: "00025394-6065-48ca-87d9-7f5672854ef7",
        defaultAccessMappingMoniker: "PublicAccessMapping",
        lastChangeId: 1,
        lastChangeId64: 1,
      },
    },
  };
}
