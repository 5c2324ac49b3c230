import {
  AdoHttpError,
  findProject,
  identityRef,
  list,
  type ApiRoute,
  type RouteContext,
  type RouteResult,
} from "./routing";
import type { AdoProjectState, AdoRefUpdateRule, AdoRefUpdateStatus, AdoRepositoryState } from "./state";

const zeroObjectId = "0".repeat(40);

export const gitRoutes: ApiRoute[] = [
  {
    id: "2d874a60-a811-4f62-9c9f-963a6ea0a55b",
    area: "git",
    resourceName: "refs",
    routeTemplate: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}",
    resourceVersion: 2,
    minVersion: "1.0",
    maxVersion: "7.2",
    releasedVersion: "7.1",
    host: "collection",
    requiresApiVersion: true,
    handlers: { GET: getRefs, POST: updateRefs },
  },
  {
    id: "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
    area: "git",
    resourceName: "repositories",
    routeTemplate: "{project}/_apis/{area}/{resource}/{repositoryId}",
    resourceVersion: 2,
    minVersion: "1.0",
    maxVersion: "7.2",
    releasedVersion: "7.1",
    host: "collection",
    requiresApiVersion: true,
    handlers: { GET: getRepositories },
  },
];

function findRepository(ctx: RouteContext, project: AdoProjectState): AdoRepositoryState {
  const wanted = ctx.params.repositoryId ?? "";
  const repo = project.repositories.find(
    (r) => r.id.toLowerCase() === wanted.toLowerCase() || r.name.toLowerCase() === wanted.toLowerCase(),
  );
  if (!repo) {
    throw new AdoHttpError(
      404,
      `TF401019: The Git repository with name or identifier ${wanted} does not exist or you do not have permissions for the operation you are attempting.`,
      "GitRepositoryNotFoundException",
    );
  }
  return repo;
}

function repositoryJson(
  ctx: RouteContext,
  project: AdoProjectState,
  repo: AdoRepositoryState,
): Record<string, unknown> {
  const base = ctx.baseUrls.collection;
  return {
    id: repo.id,
    name: repo.name,
    url: `${base}${project.id}/_apis/git/repositories/${repo.id}`,
    project: { id: project.id, name: project.name, state: "wellFormed", visibility: "private" },
    ...(repo.defaultBranch ? { defaultBranch: repo.defaultBranch } : {}),
    size: 1024,
    remoteUrl: `${base}${encodeURIComponent(project.name)}/_git/${encodeURIComponent(repo.name)}`,
    webUrl: `${base}${encodeURIComponent(project.name)}/_git/${encodeURIComponent(repo.name)}`,
    isDisabled: false,
    isInMaintenance: false,
  };
}

function getRepositories(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  if (!ctx.params.repositoryId) return list(project.repositories.map((r) => repositoryJson(ctx, project, r)));
  return { status: 200, body: repositoryJson(ctx, project, findRepository(ctx, project)) };
}

/** `filter` matches refs whose name without `refs/` starts with it, as in Azure Repos. */
function getRefs(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  const repo = findRepository(ctx, project);
  const filter = ctx.query.get("filter") ?? ctx.params.filter ?? "";
  const base = ctx.baseUrls.collection;
  const refs = repo.refs
    .filter((ref) => ref.name.replace(/^refs\//, "").startsWith(filter))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((ref) => ({
      name: ref.name,
      objectId: ref.objectId,
      ...(ref.creator ? { creator: identityRef(ref.creator, base) } : {}),
      url: `${base}${project.id}/_apis/git/repositories/${repo.id}/refs?filter=${encodeURIComponent(ref.name.replace(/^refs\//, ""))}`,
    }));
  return list(refs);
}

interface RefUpdateRequest {
  name: string;
  oldObjectId: string;
  newObjectId: string;
}

function parseRefUpdates(body: unknown): RefUpdateRequest[] {
  const valid =
    Array.isArray(body) &&
    body.every(
      (u) =>
        u &&
        typeof u === "object" &&
        typeof u.name === "string" &&
        typeof u.oldObjectId === "string" &&
        typeof u.newObjectId === "string",
    );
  if (!valid)
    throw new AdoHttpError(
      400,
      "The request body must be an array of GitRefUpdate objects with name, oldObjectId and newObjectId.",
      "InvalidArgumentValueException",
    );
  return body as RefUpdateRequest[];
}

function ruleFor(repo: AdoRepositoryState, refName: string): AdoRefUpdateRule | undefined {
  return repo.refUpdateRules.find((rule) => {
    const pattern = rule.refPattern;
    if (pattern === undefined) return true;
    return pattern.endsWith("*") ? refName.startsWith(pattern.slice(0, -1)) : refName === pattern;
  });
}

/** Creates, moves or deletes refs one by one and answers each with its own status, like Azure Repos. */
function updateRefs(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  const repo = findRepository(ctx, project);
  const updates = parseRefUpdates(ctx.body);
  // A missing permission on the whole repository refuses the request before any ref moves.
  for (const update of updates) {
    if (ruleFor(repo, update.name)?.httpStatus === 403) {
      throw new AdoHttpError(
        403,
        `TF401027: You need the Git 'CreateBranch' permission to perform this action. Details: identity '${ctx.identity.displayName}', scope 'branch'.`,
        "GitNeedsPermissionException",
      );
    }
  }
  const results = updates.map((update) => {
    const { status, rule } = applyRefUpdate(ctx, repo, update);
    return {
      repositoryId: repo.id,
      name: update.name,
      oldObjectId: update.oldObjectId,
      newObjectId: update.newObjectId,
      isLocked: false,
      updateStatus: status,
      success: status === "succeeded",
      customMessage: rule?.customMessage ?? null,
      rejectedBy: rule?.rejectedBy ?? null,
    };
  });
  return list(results);
}

function applyRefUpdate(
  ctx: RouteContext,
  repo: AdoRepositoryState,
  update: RefUpdateRequest,
): { status: AdoRefUpdateStatus; rule?: AdoRefUpdateRule } {
  if (!isValidRefName(update.name)) return { status: "invalidRefName" };
  const rule = ruleFor(repo, update.name);
  if (rule?.updateStatus) return { status: rule.updateStatus, rule };
  const existing = repo.refs.find((ref) => ref.name === update.name);
  const expectsNew = update.oldObjectId === zeroObjectId;
  if (expectsNew ? existing !== undefined : existing?.objectId !== update.oldObjectId)
    return { status: "staleOldObjectId" };
  if (update.newObjectId === zeroObjectId) {
    repo.refs = repo.refs.filter((ref) => ref !== existing);
    return { status: "succeeded" };
  }
  if (
    !/^[0-9a-f]{40}$/i.test(update.newObjectId) ||
    (repo.commits && !repo.commits.includes(update.newObjectId))
  )
    return { status: "unresolvableToCommit" };
  if (existing) {
    existing.objectId = update.newObjectId;
    return { status: "succeeded" };
  }
  // refs/heads/a and refs/heads/a/b cannot both exist: one would be a file, the other a folder.
  const conflicts = repo.refs.some(
    (ref) => ref.name.startsWith(`${update.name}/`) || update.name.startsWith(`${ref.name}/`),
  );
  if (conflicts) return { status: "refNameConflict" };
  repo.refs.push({ name: update.name, objectId: update.newObjectId, creator: ctx.identity });
  return { status: "succeeded" };
}

/** `git check-ref-format` rules, for full names under `refs/`. */
export function isValidRefName(name: string): boolean {
  if (!name.startsWith("refs/") || name.length <= "refs/".length) return false;
  if (
    name.endsWith("/") ||
    name.endsWith(".") ||
    name.includes("//") ||
    name.includes("..") ||
    name.includes("@{")
  )
    return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split("/").every((part) => part.length > 0 && !part.startsWith(".") && !part.endsWith(".lock"));
}
