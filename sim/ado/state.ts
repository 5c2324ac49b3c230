import { createHash } from "node:crypto";

/**
 * Seed data of the fake Azure DevOps server. Tests build it, hand it to `startAdoServer`
 * and may change it between requests: the server reads it on every request.
 * Values are stored the way Azure DevOps returns them (camelCase enum names, ISO dates).
 */
export interface AdoServerState {
  /** The organization (Services) or collection (Server) name, as in `<Project> Build Service (<org>)`. */
  organization: string;
  /** Accepted tokens (Bearer, or the password of Basic) and the identity each one authenticates. */
  tokens: Record<string, AdoIdentity>;
  projects: AdoProjectState[];
  /** Injected failures, consumed in order of declaration. */
  faults: AdoFault[];
}

export interface AdoIdentity {
  id: string;
  displayName: string;
  uniqueName: string;
  /** True for groups (e.g. `[Contoso]\Release Approvers`). */
  isContainer?: boolean;
}

export interface AdoProjectState {
  id: string;
  name: string;
  repositories: AdoRepositoryState[];
  builds: AdoBuildState[];
  /** YAML pipeline approvals (`_apis/pipelines/approvals/{id}`). */
  pipelineApprovals: AdoPipelineApprovalState[];
  /** Classic release approvals (`_apis/release/approvals`). */
  releaseApprovals: AdoReleaseApprovalState[];
}

export interface AdoRepositoryState {
  id: string;
  name: string;
  defaultBranch?: string;
  refs: AdoRefState[];
  /** When set, a ref update to any other object id fails with `unresolvableToCommit`. */
  commits?: string[];
  /** How the server refuses ref updates (permissions, branch policies); first matching rule wins. */
  refUpdateRules: AdoRefUpdateRule[];
}

export interface AdoRefState {
  /** Full name, e.g. `refs/heads/main`. */
  name: string;
  objectId: string;
  creator?: AdoIdentity;
}

export type AdoRefUpdateStatus =
  | "succeeded"
  | "forcePushRequired"
  | "staleOldObjectId"
  | "invalidRefName"
  | "unprocessed"
  | "unresolvableToCommit"
  | "writePermissionRequired"
  | "manageNotePermissionRequired"
  | "createBranchPermissionRequired"
  | "createTagPermissionRequired"
  | "rejectedByPlugin"
  | "locked"
  | "refNameConflict"
  | "rejectedByPolicy"
  | "succeededNonExistentRef"
  | "succeededCorruptRef";

export interface AdoRefUpdateRule {
  /** Exact ref name, or a prefix ending in `*` (`refs/heads/ev2/*`); omitted: every ref. */
  refPattern?: string;
  /** Refuse that ref in a 200 answer with this per-ref status (how Azure Repos reports most refusals). */
  updateStatus?: Exclude<AdoRefUpdateStatus, "succeeded">;
  customMessage?: string;
  rejectedBy?: string;
  /** Refuse the whole request with HTTP 403 and a TF401027 message instead. */
  httpStatus?: 403;
}

export interface AdoBuildState {
  id: number;
  /** The timeline's id (the build's plan id in Azure DevOps). */
  timelineId: string;
  records: AdoTimelineRecordState[];
}

export type AdoTimelineRecordStateName = "pending" | "inProgress" | "completed";
export type AdoTaskResult =
  "succeeded" | "succeededWithIssues" | "failed" | "canceled" | "skipped" | "abandoned";

export interface AdoTimelineRecordState {
  id: string;
  parentId: string | null;
  /** `Stage`, `Phase`, `Job`, `Task`, `Checkpoint`, `Checkpoint.Approval`, … */
  type: string;
  name: string;
  identifier: string | null;
  state: AdoTimelineRecordStateName;
  result: AdoTaskResult | null;
  startTime: string | null;
  finishTime: string | null;
  order?: number;
  attempt: number;
}

export type AdoPipelineApprovalStatus =
  | "undefined"
  | "uninitiated"
  | "pending"
  | "approved"
  | "rejected"
  | "skipped"
  | "canceled"
  | "timedOut"
  | "failed"
  | "completed";

export interface AdoPipelineApprovalState {
  id: string;
  status: AdoPipelineApprovalStatus;
  createdOn: string;
  lastModifiedOn: string;
  executionOrder: "anyOrder" | "inSequence";
  minRequiredApprovers: number;
  instructions?: string;
  blockedApprovers: AdoIdentity[];
  steps: AdoApprovalStepState[];
}

export interface AdoApprovalStepState {
  assignedApprover: AdoIdentity;
  actualApprover?: AdoIdentity;
  status: AdoPipelineApprovalStatus;
  comment?: string;
  initiatedOn?: string;
  lastModifiedOn?: string;
  lastModifiedBy?: AdoIdentity;
  order: number;
}

export type AdoReleaseApprovalStatus =
  "undefined" | "pending" | "approved" | "rejected" | "reassigned" | "canceled" | "skipped";
export type AdoReleaseApprovalType = "preDeploy" | "postDeploy";

export interface AdoReleaseApprovalState {
  id: number;
  approvalType: AdoReleaseApprovalType;
  status: AdoReleaseApprovalStatus;
  approver: AdoIdentity;
  approvedBy?: AdoIdentity;
  comments?: string;
  /** True when the environment has no approvers: Azure DevOps approves on its own. */
  isAutomated: boolean;
  release: { id: number; name: string };
  releaseDefinition: { id: number; name: string };
  releaseEnvironment: { id: number; name: string };
  createdOn: string;
  modifiedOn: string;
  attempt: number;
  trialNumber: number;
  rank: number;
}

export interface AdoFault {
  /** Matches when the request path contains this text (case-insensitive). */
  pathIncludes: string;
  method?: string;
  /** Answer with this status (and an Azure DevOps error body); omitted: answer normally after `delayMs`. */
  status?: number;
  message?: string;
  /** Sent as the failure's `Retry-After` header (seconds or an HTTP date), as Azure DevOps does on 429 and 503. */
  retryAfter?: string;
  delayMs?: number;
  /** How many matching requests it affects; `Infinity` for all. */
  times: number;
}

export function createAdoState(init: Partial<AdoServerState> = {}): AdoServerState {
  return { organization: "DefaultCollection", tokens: {}, projects: [], faults: [], ...init };
}

/** A stable GUID derived from text, so seeds and expectations need no random ids. */
export function guidFrom(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A 40-hex commit id derived from text. */
export function commitIdFrom(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

export function adoIdentity(
  displayName: string,
  uniqueName = `${displayName.toLowerCase().replace(/\s+/g, ".")}@example.com`,
  isContainer?: boolean,
): AdoIdentity {
  return {
    id: guidFrom(`identity:${uniqueName}`),
    displayName,
    uniqueName,
    ...(isContainer ? { isContainer } : {}),
  };
}

/** The identity Azure DevOps gives a project's pipelines when the job authorization scope is the project. */
export function projectBuildServiceIdentity(project: string, organization: string): AdoIdentity {
  const displayName = `${project} Build Service (${organization})`;
  return {
    id: guidFrom(`build-service:${project}:${organization}`),
    displayName,
    uniqueName: `Build\\${guidFrom(`build-service:${project}`)}`,
  };
}

export function addProject(
  state: AdoServerState,
  name: string,
  init: Partial<Omit<AdoProjectState, "name">> = {},
): AdoProjectState {
  const project: AdoProjectState = {
    id: guidFrom(`project:${name}`),
    name,
    repositories: [],
    builds: [],
    pipelineApprovals: [],
    releaseApprovals: [],
    ...init,
  };
  state.projects.push(project);
  return project;
}

export function addRepository(
  project: AdoProjectState,
  name: string,
  init: Partial<Omit<AdoRepositoryState, "name">> = {},
): AdoRepositoryState {
  const repo: AdoRepositoryState = {
    id: guidFrom(`repository:${project.name}:${name}`),
    name,
    defaultBranch: "refs/heads/main",
    refs: [],
    refUpdateRules: [],
    ...init,
  };
  project.repositories.push(repo);
  return repo;
}

export interface StageTimelineSeed {
  /** The stage's YAML name (`System.StageName`). */
  identifier: string;
  /** The stage's display name; defaults to the identifier. */
  name?: string;
  state?: AdoTimelineRecordStateName;
  result?: AdoTaskResult | null;
  /** Ids of the `Checkpoint.Approval` records (= pipeline approval ids) under the stage's checkpoint. */
  approvalIds?: string[];
  /** Finish time of the approval records; the stage starts a minute later. */
  approvedAt?: string;
}

/**
 * The records Azure DevOps writes for a stage with approvals: the `Stage`, its `Checkpoint`
 * child, one `Checkpoint.Approval` per approval (record id = approval id), and one job.
 */
export function stageTimelineRecords(buildId: number, seed: StageTimelineSeed): AdoTimelineRecordState[] {
  const approvedAt = seed.approvedAt ?? "2024-05-01T10:00:00.000Z";
  const stageId = guidFrom(`stage:${buildId}:${seed.identifier}`);
  const checkpointId = guidFrom(`checkpoint:${buildId}:${seed.identifier}`);
  const approvalIds = seed.approvalIds ?? [];
  const state = seed.state ?? "inProgress";
  const record = (
    init: Partial<AdoTimelineRecordState> & Pick<AdoTimelineRecordState, "id" | "type" | "name">,
  ): AdoTimelineRecordState => ({
    parentId: null,
    identifier: null,
    state: "completed",
    result: "succeeded",
    startTime: approvedAt,
    finishTime: approvedAt,
    attempt: 1,
    ...init,
  });
  const records: AdoTimelineRecordState[] = [
    record({
      id: stageId,
      type: "Stage",
      name: seed.name ?? seed.identifier,
      identifier: seed.identifier,
      state,
      result: seed.result ?? (state === "completed" ? "succeeded" : null),
      finishTime: state === "completed" ? approvedAt : null,
    }),
  ];
  if (approvalIds.length > 0) {
    records.push(
      record({
        id: checkpointId,
        parentId: stageId,
        type: "Checkpoint",
        name: "Checkpoint",
        identifier: `${seed.identifier}.Checkpoint`,
      }),
    );
    for (const approvalId of approvalIds) {
      records.push(
        record({
          id: approvalId,
          parentId: checkpointId,
          type: "Checkpoint.Approval",
          name: "Checkpoint.Approval",
          identifier: approvalId,
        }),
      );
    }
  }
  const phaseId = guidFrom(`phase:${buildId}:${seed.identifier}`);
  const running = { state: "inProgress", result: null, finishTime: null } as const;
  records.push(
    record({
      id: phaseId,
      parentId: stageId,
      type: "Phase",
      name: "Job",
      identifier: `${seed.identifier}.Job`,
      ...running,
    }),
    record({
      id: guidFrom(`job:${buildId}:${seed.identifier}`),
      parentId: phaseId,
      type: "Job",
      name: "Job",
      identifier: `${seed.identifier}.Job.__default`,
      ...running,
    }),
  );
  return records;
}

export function addBuild(
  project: AdoProjectState,
  id: number,
  stages: StageTimelineSeed[] = [],
): AdoBuildState {
  const build: AdoBuildState = {
    id,
    timelineId: guidFrom(`plan:${project.name}:${id}`),
    records: stages.flatMap((stage) => stageTimelineRecords(id, stage)),
  };
  project.builds.push(build);
  return build;
}

export interface ApprovedStepSeed {
  by: AdoIdentity;
  /** The group or person the step was assigned to; defaults to `by`. */
  assignedTo?: AdoIdentity;
  comment?: string;
  at?: string;
  status?: AdoPipelineApprovalStatus;
}

export function addPipelineApproval(
  project: AdoProjectState,
  id: string,
  steps: ApprovedStepSeed[],
  init: Partial<AdoPipelineApprovalState> = {},
): AdoPipelineApprovalState {
  const created = "2024-05-01T09:00:00.000Z";
  const approval: AdoPipelineApprovalState = {
    id,
    status: steps.some((s) => s.status === "rejected")
      ? "rejected"
      : steps.some((s) => (s.status ?? "approved") === "approved")
        ? "approved"
        : "pending",
    createdOn: created,
    lastModifiedOn:
      steps
        .map((s) => s.at ?? created)
        .sort()
        .at(-1) ?? created,
    executionOrder: "anyOrder",
    minRequiredApprovers: 1,
    blockedApprovers: [],
    steps: steps.map((s, i) => {
      const status = s.status ?? "approved";
      const decided = status === "approved" || status === "rejected";
      return {
        assignedApprover: s.assignedTo ?? s.by,
        ...(decided ? { actualApprover: s.by, lastModifiedBy: s.by } : {}),
        status,
        ...(s.comment !== undefined ? { comment: s.comment } : {}),
        initiatedOn: created,
        lastModifiedOn: s.at ?? created,
        order: i + 1,
      };
    }),
    ...init,
  };
  project.pipelineApprovals.push(approval);
  return approval;
}

export interface ReleaseApprovalSeed {
  id: number;
  releaseId: number;
  environmentId: number;
  environmentName: string;
  approver: AdoIdentity;
  approvedBy?: AdoIdentity;
  status?: AdoReleaseApprovalStatus;
  approvalType?: AdoReleaseApprovalType;
  comments?: string;
  isAutomated?: boolean;
  modifiedOn?: string;
  attempt?: number;
  /** Default `Release-<releaseId>`. */
  releaseName?: string;
  /** Default 1 / "Rollout". */
  releaseDefinition?: { id: number; name: string };
  rank?: number;
}

export function addReleaseApproval(
  project: AdoProjectState,
  seed: ReleaseApprovalSeed,
): AdoReleaseApprovalState {
  const status = seed.status ?? "approved";
  // A person approved unless Azure DevOps did it on its own (no approvers configured).
  const approvedBy =
    seed.approvedBy ?? (status === "approved" && !seed.isAutomated ? seed.approver : undefined);
  const approval: AdoReleaseApprovalState = {
    id: seed.id,
    approvalType: seed.approvalType ?? "preDeploy",
    status,
    approver: seed.approver,
    ...(approvedBy ? { approvedBy } : {}),
    ...(seed.comments !== undefined ? { comments: seed.comments } : {}),
    isAutomated: seed.isAutomated ?? false,
    release: { id: seed.releaseId, name: seed.releaseName ?? `Release-${seed.releaseId}` },
    releaseDefinition: seed.releaseDefinition ?? { id: 1, name: "Rollout" },
    releaseEnvironment: { id: seed.environmentId, name: seed.environmentName },
    createdOn: "2024-05-01T09:00:00.000Z",
    modifiedOn: seed.modifiedOn ?? "2024-05-01T10:00:00.000Z",
    attempt: seed.attempt ?? 1,
    trialNumber: 1,
    rank: seed.rank ?? 1,
  };
  project.releaseApprovals.push(approval);
  return approval;
}
