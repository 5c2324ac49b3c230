import {
  AdoHttpError,
  findProject,
  identityRef,
  list,
  type ApiRoute,
  type RouteContext,
  type RouteResult,
} from "./routing";
import type {
  AdoApprovalStepState,
  AdoReleaseApprovalState,
  AdoReleaseApprovalStatus,
  AdoTimelineRecordState,
} from "./state";

/** Build timelines, YAML pipeline approvals and classic release approvals. */
export const pipelineRoutes: ApiRoute[] = [
  {
    id: "8baac422-4c6e-4de5-8532-db96d92acffa",
    area: "build",
    resourceName: "Timeline",
    routeTemplate: "{project}/_apis/{area}/builds/{buildId}/{resource}/{timelineId}",
    resourceVersion: 2,
    minVersion: "2.0",
    maxVersion: "7.2",
    releasedVersion: "7.1",
    host: "collection",
    requiresApiVersion: true,
    handlers: { GET: getTimeline },
  },
  {
    // Raw REST only: azure-devops-node-api has no client for it, so no location is published.
    area: "pipelines",
    resourceName: "approvals",
    routeTemplate: "{project}/_apis/{area}/{resource}/{approvalId}",
    resourceVersion: 1,
    minVersion: "5.1",
    maxVersion: "7.2",
    releasedVersion: "7.1",
    host: "collection",
    requiresApiVersion: true,
    handlers: { GET: getPipelineApproval },
  },
  {
    id: "b47c6458-e73b-47cb-a770-4df1e8813a91",
    area: "Release",
    resourceName: "approvals",
    routeTemplate: "{project}/_apis/{area}/{resource}",
    resourceVersion: 3,
    minVersion: "3.0",
    maxVersion: "7.2",
    releasedVersion: "7.1",
    host: "release",
    requiresApiVersion: true,
    handlers: { GET: getReleaseApprovals },
  },
];

function getTimeline(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  const buildId = Number(ctx.params.buildId);
  const build = project.builds.find((b) => b.id === buildId);
  if (!build)
    throw new AdoHttpError(
      404,
      `The requested build ${ctx.params.buildId ?? ""} could not be found.`,
      "BuildNotFoundException",
    );
  if (ctx.params.timelineId && ctx.params.timelineId.toLowerCase() !== build.timelineId.toLowerCase()) {
    throw new AdoHttpError(
      404,
      `Timeline ${ctx.params.timelineId} was not found for build ${buildId}.`,
      "TimelineNotFoundException",
    );
  }
  const base = ctx.baseUrls.collection;
  const url = `${base}${project.id}/_apis/build/builds/${build.id}/Timeline/${build.timelineId}`;
  const lastChangedOn =
    build.records
      .map((r) => r.finishTime ?? r.startTime ?? "")
      .sort()
      .at(-1) || "2024-05-01T10:00:00.000Z";
  return {
    status: 200,
    body: {
      records: build.records.map((record) => timelineRecordJson(record, url, lastChangedOn)),
      lastChangedBy: "00000002-0000-8888-8000-000000000000",
      lastChangedOn,
      id: build.timelineId,
      changeId: build.records.length,
      url,
    },
  };
}

function timelineRecordJson(
  record: AdoTimelineRecordState,
  timelineUrl: string,
  lastModified: string,
): Record<string, unknown> {
  return {
    previousAttempts: [],
    id: record.id,
    parentId: record.parentId,
    type: record.type,
    name: record.name,
    startTime: record.startTime,
    finishTime: record.finishTime,
    currentOperation: null,
    percentComplete: null,
    state: record.state,
    result: record.result,
    resultCode: null,
    changeId: 1,
    lastModified,
    workerName: null,
    ...(record.order !== undefined ? { order: record.order } : {}),
    details: null,
    errorCount: 0,
    warningCount: 0,
    url: null,
    log: null,
    task: null,
    attempt: record.attempt,
    identifier: record.identifier,
    issues: [],
    _links: { self: { href: timelineUrl } },
  };
}

/** `GET {project}/_apis/pipelines/approvals/{id}`: steps only with `$expand=steps`, as in Azure DevOps. */
function getPipelineApproval(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  const id = ctx.params.approvalId;
  if (!id) return list(project.pipelineApprovals.map((a) => a.id));
  const approval = project.pipelineApprovals.find((a) => a.id.toLowerCase() === id.toLowerCase());
  if (!approval)
    throw new AdoHttpError(
      404,
      `Approval with id ${id} does not exist or you do not have permissions to view it.`,
      "ApprovalNotFoundException",
    );
  const expand = (ctx.query.get("$expand") ?? "")
    .toLowerCase()
    .split(",")
    .map((s) => s.trim());
  const base = ctx.baseUrls.collection;
  return {
    status: 200,
    body: {
      id: approval.id,
      steps: expand.includes("steps") ? approval.steps.map((step) => approvalStepJson(step, base)) : [],
      status: approval.status,
      createdOn: approval.createdOn,
      lastModifiedOn: approval.lastModifiedOn,
      ...(approval.instructions !== undefined ? { instructions: approval.instructions } : {}),
      minRequiredApprovers: approval.minRequiredApprovers,
      executionOrder: approval.executionOrder,
      blockedApprovers: approval.blockedApprovers.map((i) => identityRef(i, base)),
      _links: { self: { href: `${base}${project.id}/_apis/pipelines/approvals/${approval.id}` } },
    },
  };
}

function approvalStepJson(step: AdoApprovalStepState, base: string): Record<string, unknown> {
  return {
    assignedApprover: identityRef(step.assignedApprover, base),
    ...(step.actualApprover ? { actualApprover: identityRef(step.actualApprover, base) } : {}),
    status: step.status,
    comment: step.comment ?? null,
    ...(step.lastModifiedOn ? { lastModifiedOn: step.lastModifiedOn } : {}),
    order: step.order,
    ...(step.lastModifiedBy ? { lastModifiedBy: identityRef(step.lastModifiedBy, base) } : {}),
    ...(step.initiatedOn ? { initiatedOn: step.initiatedOn } : {}),
    history: [],
  };
}

// The client sends enums as numbers (azure-devops-node-api), people and scripts as names.
const approvalStatusNumbers: Record<string, AdoReleaseApprovalStatus> = {
  "0": "undefined",
  "1": "pending",
  "2": "approved",
  "4": "rejected",
  "6": "reassigned",
  "7": "canceled",
  "8": "skipped",
};
const approvalTypeNumbers: Record<string, string> = {
  "0": "undefined",
  "1": "preDeploy",
  "2": "postDeploy",
  "3": "all",
};

function enumParam(
  value: string | null,
  numbers: Record<string, string>,
  fallback: string,
  name: string,
): string {
  if (value === null || value === "") return fallback;
  const byNumber = numbers[value];
  if (byNumber) return byNumber;
  const byName = Object.values(numbers).find((n) => n.toLowerCase() === value.toLowerCase());
  if (!byName)
    throw new AdoHttpError(
      400,
      `The value '${value}' is not valid for ${name}.`,
      "InvalidArgumentValueException",
    );
  return byName;
}

/** `GET {project}/_apis/release/approvals`: only pending approvals unless `statusFilter` says otherwise. */
function getReleaseApprovals(ctx: RouteContext): RouteResult {
  const project = findProject(ctx);
  const status = enumParam(ctx.query.get("statusFilter"), approvalStatusNumbers, "pending", "statusFilter");
  const type = enumParam(ctx.query.get("typeFilter"), approvalTypeNumbers, "all", "typeFilter");
  const releaseIds = (ctx.query.get("releaseIdsFilter") ?? "").split(",").filter(Boolean).map(Number);
  const assignedTo = ctx.query.get("assignedToFilter")?.toLowerCase();
  const ascending = ["1", "ascending"].includes((ctx.query.get("queryOrder") ?? "").toLowerCase());
  const top = Number(ctx.query.get("top") ?? 50);
  const continuation = ctx.query.get("continuationToken");

  let approvals = project.releaseApprovals
    .filter((a) => a.status === status)
    .filter((a) => type === "all" || a.approvalType === type)
    .filter((a) => releaseIds.length === 0 || releaseIds.includes(a.release.id))
    .filter(
      (a) =>
        !assignedTo ||
        [a.approver.uniqueName, a.approver.displayName, a.approver.id].some(
          (v) => v.toLowerCase() === assignedTo,
        ),
    )
    .sort((a, b) => (ascending ? a.id - b.id : b.id - a.id));
  if (continuation)
    approvals = approvals.filter((a) =>
      ascending ? a.id >= Number(continuation) : a.id <= Number(continuation),
    );
  const page = approvals.slice(0, top);
  const next = approvals[top];
  return list(
    page.map((a) => releaseApprovalJson(ctx, project.id, a)),
    next ? { "x-ms-continuationtoken": String(next.id) } : undefined,
  );
}

function releaseApprovalJson(
  ctx: RouteContext,
  projectId: string,
  a: AdoReleaseApprovalState,
): Record<string, unknown> {
  const base = ctx.baseUrls.release;
  const collection = ctx.baseUrls.collection;
  return {
    id: a.id,
    revision: 1,
    approvalType: a.approvalType,
    createdOn: a.createdOn,
    modifiedOn: a.modifiedOn,
    status: a.status,
    comments: a.comments ?? "",
    isAutomated: a.isAutomated,
    isNotificationOn: !a.isAutomated,
    trialNumber: a.trialNumber,
    attempt: a.attempt,
    rank: a.rank,
    history: [],
    approver: identityRef(a.approver, collection),
    ...(a.approvedBy ? { approvedBy: identityRef(a.approvedBy, collection) } : {}),
    release: {
      id: a.release.id,
      name: a.release.name,
      url: `${base}${projectId}/_apis/Release/releases/${a.release.id}`,
      _links: {},
    },
    releaseDefinition: {
      id: a.releaseDefinition.id,
      name: a.releaseDefinition.name,
      path: "\\",
      url: `${base}${projectId}/_apis/Release/definitions/${a.releaseDefinition.id}`,
      _links: {},
    },
    releaseEnvironment: {
      id: a.releaseEnvironment.id,
      name: a.releaseEnvironment.name,
      url: `${base}${projectId}/_apis/Release/releases/${a.release.id}/environments/${a.releaseEnvironment.id}`,
      _links: {},
    },
    url: `${base}${projectId}/_apis/Release/approvals/${a.id}`,
  };
}
