import type { IGitApi } from "azure-devops-node-api/GitApi";
import type { GitRefUpdateResult } from "azure-devops-node-api/interfaces/GitInterfaces";
import { isAbortError } from "../http/retry";
import { branchNameProblem } from "./branch-name";
import {
  abortable,
  AdoRequestError,
  buildServiceIdentities,
  connectToAdo,
  describeAdoFailure,
  httpStatusOf,
  withAdoRetries,
  type AdoConnectionOptions,
} from "./connection";

export interface CreateTrackingBranchOptions extends AdoConnectionOptions {
  /** Project name or id (`System.TeamProject`). */
  project: string;
  /** Repository id or name (`Build.Repository.ID`). */
  repository: string;
  /** The rendered branch name, without `refs/heads/`. */
  branchName: string;
  /** The commit the branch points at (`Build.SourceVersion`). */
  commitId: string;
  /** How many names to try: the name itself, then `-2` up to `-{maxNames}`. Default 20. */
  maxNames?: number;
  signal?: AbortSignal;
}

export interface TrackingBranch {
  /** The branch name in the end, with its suffix if one was needed. */
  name: string;
  /** `refs/heads/{name}`. */
  ref: string;
  commitId: string;
  /** This call created the branch. */
  created: boolean;
  /** The branch already pointed at the commit (a re-run of the job, or a parallel job). */
  reused: boolean;
}

/** `GitRefUpdateStatus` as Azure Repos writes it; the client turns it into these numbers, in this order. */
const refUpdateStatuses = [
  "succeeded",
  "forcePushRequired",
  "staleOldObjectId",
  "invalidRefName",
  "unprocessed",
  "unresolvableToCommit",
  "writePermissionRequired",
  "manageNotePermissionRequired",
  "createBranchPermissionRequired",
  "createTagPermissionRequired",
  "rejectedByPlugin",
  "locked",
  "refNameConflict",
  "rejectedByPolicy",
  "succeededNonExistentRef",
  "succeededCorruptRef",
] as const;

export type AdoRefUpdateStatus = (typeof refUpdateStatuses)[number];

/** Azure Repos would not create the branch: a permission, a policy, or the name itself. */
export class AdoRefUpdateError extends Error {
  override name = "AdoRefUpdateError";
  /** The per-ref status Azure Repos gave; undefined when it refused the whole request (see httpStatus). */
  readonly updateStatus: AdoRefUpdateStatus | undefined;
  readonly refName: string;
  readonly repository: string;
  readonly httpStatus: number | undefined;

  constructor(init: {
    message: string;
    updateStatus?: AdoRefUpdateStatus;
    refName: string;
    repository: string;
    httpStatus?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.updateStatus = init.updateStatus;
    this.refName = init.refName;
    this.repository = init.repository;
    this.httpStatus = init.httpStatus;
  }
}

function statusName(status: number | undefined): AdoRefUpdateStatus | undefined {
  return status === undefined ? undefined : refUpdateStatuses[status];
}

const zeroObjectId = "0".repeat(40);
const defaultMaxNames = 20;

const refOf = (name: string): string => `refs/heads/${name}`;

/**
 * Creates `refs/heads/{branchName}` at `commitId`, exactly once per commit: a branch already at
 * that commit is reused; a branch of that name at another commit gets a suffix (`-2`, `-3`, …).
 * Refusals throw AdoRefUpdateError saying what to grant or change; other failures AdoRequestError.
 */
export async function createTrackingBranch(opts: CreateTrackingBranchOptions): Promise<TrackingBranch> {
  const name = opts.branchName.trim().replace(/^refs\/heads\//, "");
  const problem = branchNameProblem(name);
  if (problem) {
    throw new AdoRefUpdateError({
      message: `'${name}' is not a valid branch name: ${problem}. Change the tracking branch template.`,
      updateStatus: "invalidRefName",
      refName: refOf(name),
      repository: opts.repository,
    });
  }
  if (!/^[0-9a-f]{40}$/i.test(opts.commitId)) {
    throw new AdoRequestError(
      `'${opts.commitId}' is not a commit id (40 hexadecimal digits); pass the commit that was built (Build.SourceVersion).`,
      undefined,
    );
  }
  const commitId = opts.commitId.toLowerCase();
  const git = await call(opts, "connecting to Azure Repos", async () =>
    (await connectToAdo(opts)).getGitApi(),
  );
  const maxNames = Math.max(1, opts.maxNames ?? defaultMaxNames);
  const candidates = Array.from({ length: maxNames }, (_, i) => (i === 0 ? name : `${name}-${i + 1}`));
  const branch = (candidate: string, created: boolean): TrackingBranch => ({
    name: candidate,
    ref: refOf(candidate),
    commitId,
    created,
    reused: !created,
  });

  const existing = await readBranches(git, opts, name);
  const alreadyThere = candidates.find((candidate) => existing.get(refOf(candidate)) === commitId);
  if (alreadyThere) return branch(alreadyThere, false);

  for (const candidate of candidates) {
    if (existing.has(refOf(candidate))) continue;
    const result = await createRef(git, opts, candidate, commitId);
    if (result.success) return branch(candidate, true);
    const status = statusName(result.updateStatus);
    if (status === "staleOldObjectId") {
      // Created between our read and our write, by a parallel job or a re-run: look again.
      const now = await readBranches(git, opts, candidate);
      if (now.get(refOf(candidate)) === commitId) return branch(candidate, false);
      continue;
    }
    throw await refusal(git, opts, candidate, status, result);
  }
  throw new AdoRefUpdateError({
    message: `Branches '${candidates[0]}' to '${candidates.at(-1)}' in repository '${opts.repository}' all exist at other commits. Delete old tracking branches or make the template more specific (e.g. add {buildId}).`,
    refName: refOf(name),
    repository: opts.repository,
  });
}

/** Branches whose name starts with `prefix` (the API filters by prefix), by full ref name. */
async function readBranches(
  git: IGitApi,
  opts: CreateTrackingBranchOptions,
  prefix: string,
): Promise<Map<string, string>> {
  const refs = await call(opts, `reading branches of repository '${opts.repository}'`, () =>
    git.getRefs(opts.repository, opts.project, `heads/${prefix}`),
  );
  // The client turns a 404 into null: no such project or repository, or no right to read it.
  if (!refs) {
    throw new AdoRequestError(
      `Repository '${opts.repository}' was not found in project '${opts.project}' at ${opts.collectionUrl}, or the pipeline's identity cannot read it.`,
      404,
    );
  }
  return new Map(
    refs
      .filter((ref) => ref.name && ref.objectId)
      .map((ref) => [ref.name as string, (ref.objectId as string).toLowerCase()]),
  );
}

async function createRef(
  git: IGitApi,
  opts: CreateTrackingBranchOptions,
  name: string,
  commitId: string,
): Promise<GitRefUpdateResult> {
  const action = `creating branch '${name}' in repository '${opts.repository}'`;
  try {
    const results = await withAdoRetries(opts, () =>
      git.updateRefs(
        [{ name: refOf(name), oldObjectId: zeroObjectId, newObjectId: commitId }],
        opts.repository,
        opts.project,
      ),
    );
    const result = results?.find((r) => r.name === refOf(name)) ?? results?.[0];
    if (!result) throw new AdoRequestError(`Azure DevOps gave no result while ${action}.`, undefined);
    return result;
  } catch (err) {
    if (isAbortError(err) || err instanceof AdoRequestError) throw err;
    if (httpStatusOf(err) === 403) {
      const repo = await repositoryLabel(git, opts);
      throw new AdoRefUpdateError({
        message: `Azure DevOps refused to create branch '${name}' in repository '${repo}' (HTTP 403: ${(err as Error).message}). ${grantHint(opts, repo, "Create branch")}`,
        refName: refOf(name),
        repository: opts.repository,
        httpStatus: 403,
        cause: err,
      });
    }
    throw new AdoRequestError(describeAdoFailure(err, action, opts), httpStatusOf(err), { cause: err });
  }
}

async function refusal(
  git: IGitApi,
  opts: CreateTrackingBranchOptions,
  name: string,
  status: AdoRefUpdateStatus | undefined,
  result: GitRefUpdateResult,
): Promise<AdoRefUpdateError> {
  const repo = await repositoryLabel(git, opts);
  const what = `Azure DevOps refused to create branch '${name}' in repository '${repo}' (${status ?? "unknown status"})`;
  // Our sentences end the server's, so its own full stop goes.
  const serverSays = result.customMessage ? `: ${result.customMessage.trim().replace(/\.+$/, "")}` : "";
  let message: string;
  switch (status) {
    case "createBranchPermissionRequired":
      message = `${what}: the pipeline's identity may not create branches there. ${grantHint(opts, repo, "Create branch")}`;
      break;
    case "writePermissionRequired":
      message = `${what}: the pipeline's identity may not push there. ${grantHint(opts, repo, "Contribute")}`;
      break;
    case "rejectedByPolicy":
    case "rejectedByPlugin":
      message = `${what}${result.rejectedBy ? ` by '${result.rejectedBy}'` : ""}${serverSays}. Use a tracking branch template outside the protected branches, or ask a project administrator to exempt them.`;
      break;
    case "locked":
      message = `${what}: the branch is locked${serverSays}.`;
      break;
    case "invalidRefName":
      message = `${what}: Azure Repos does not accept '${refOf(name)}' as a branch name${serverSays}. Change the tracking branch template.`;
      break;
    case "unresolvableToCommit":
      message = `${what}: commit ${result.newObjectId ?? opts.commitId} is not in the repository. Use the repository that was built (Build.Repository.ID) and its commit (Build.SourceVersion).`;
      break;
    case "refNameConflict":
      message = `${what}: an existing branch is a folder of it or lies inside it (branch 'a' blocks 'a/b' and the reverse). Change the tracking branch template.`;
      break;
    default:
      message = `${what}${serverSays}.`;
  }
  return new AdoRefUpdateError({
    message,
    updateStatus: status,
    refName: refOf(name),
    repository: opts.repository,
  });
}

function grantHint(opts: CreateTrackingBranchOptions, repo: string, permission: string): string {
  const identities = buildServiceIdentities(opts.project, opts.collectionUrl);
  return (
    `Grant '${permission}' on repository '${repo}' (Project settings > Repositories > ${repo} > Security) to the project build service identity '${identities.project}',` +
    ` or to '${identities.collection}' if the pipeline's job authorization scope is the project collection.`
  );
}

/** The repository's name for messages, when the caller gave its id. */
async function repositoryLabel(git: IGitApi, opts: CreateTrackingBranchOptions): Promise<string> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(opts.repository))
    return opts.repository;
  try {
    const repo = await abortable(git.getRepository(opts.repository, opts.project), opts.signal);
    return repo?.name ?? opts.repository;
  } catch (err) {
    if (isAbortError(err)) throw err;
    return opts.repository;
  }
}

async function call<T>(
  opts: CreateTrackingBranchOptions,
  action: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await withAdoRetries(opts, work);
  } catch (err) {
    if (isAbortError(err) || err instanceof AdoRequestError) throw err;
    throw new AdoRequestError(describeAdoFailure(err, action, opts), httpStatusOf(err), { cause: err });
  }
}
