import type { WebApi } from "azure-devops-node-api";
import type { IdentityRef } from "azure-devops-node-api/interfaces/common/VSSInterfaces";
import type { ReleaseApproval } from "azure-devops-node-api/interfaces/ReleaseInterfaces";
import { isAbortError } from "../http/retry";
import { connectToAdo, describeAdoFailure, withAdoRetries, type AdoConnectionOptions } from "./connection";

export interface AdoIdentityRef {
  displayName: string;
  /** Usually the sign-in e-mail. */
  uniqueName?: string;
  id?: string;
}

export type ApproverSource = "yamlApproval" | "releaseApproval" | "requester";

/** What the Azure DevOps approver decided: an approval lets a stage run, a rejection stops it. */
export type AdoVerdict = "approved" | "rejected";

export interface ApproverFinding {
  decidedBy: AdoIdentityRef;
  comment?: string;
  source: ApproverSource;
  /** When the approval was given (ISO 8601), if known. */
  decidedOn?: string;
  /** Why the requester stands in, or what else is worth recording (other approvers, a failed lookup). */
  note?: string;
}

export interface FindApproverOptions extends AdoConnectionOptions {
  /** Project name or id (`System.TeamProject`). */
  project: string;
  /** Who queued the run (`Build.RequestedFor`, `Build.RequestedForEmail`): the answer when no approval is found. */
  requestedFor: AdoIdentityRef;
  /** A YAML run: `Build.BuildId` and the stage, by `System.StageName` or its display name. */
  yaml?: { buildId: number; stage: string };
  /** A classic release: `Release.ReleaseId` and the environment, by `Release.EnvironmentId` or `Release.EnvironmentName`. */
  release?: { releaseId: number; environmentId?: number; environmentName?: string };
  /**
   * Which decision to look for (default `approved`). A rejection stops the stage it guards, so a
   * `rejected` look-up reads every approval of the run (YAML) or release (classic), not only this
   * stage's: the stage asking runs because another was rejected.
   */
  verdict?: AdoVerdict;
  signal?: AbortSignal;
}

/** `GET {project}/_apis/pipelines/approvals/{id}?$expand=steps` (Approvals And Checks, 7.1). */
interface PipelineApproval {
  id?: string;
  status?: string;
  steps?: PipelineApprovalStep[];
}

interface PipelineApprovalStep {
  assignedApprover?: IdentityRef;
  actualApprover?: IdentityRef;
  lastModifiedBy?: IdentityRef;
  status?: string;
  comment?: string | null;
  lastModifiedOn?: string;
}

/** No Azure DevOps decision was found or could be read; the message says what was looked for and why it failed. */
export class ApprovalNotFound extends Error {
  override name = "ApprovalNotFound";
}

/**
 * Who gave the Azure DevOps approval (or rejection, with `verdict: rejected`) that let this stage
 * (YAML) or environment (classic release) run, and their comment. Fails closed: throws
 * ApprovalNotFound, saying what was looked for, when none is found or Azure DevOps cannot be read.
 */
export async function findAdoDecision(opts: FindApproverOptions): Promise<ApproverFinding> {
  try {
    // In a classic release Build.BuildId names the artifact's build, so the release wins.
    if (opts.release) return await fromReleaseApprovals(opts, opts.release);
    if (opts.yaml) return await fromStageApprovals(opts, opts.yaml);
  } catch (err) {
    if (isAbortError(err) || err instanceof ApprovalNotFound) throw err;
    throw new ApprovalNotFound(describeAdoFailure(err, "looking up the approval", opts), { cause: err });
  }
  throw new ApprovalNotFound(
    "Neither a YAML run (Build.BuildId, System.StageName) nor a classic release (Release.ReleaseId) was found in the job's variables, so no approval was looked up.",
  );
}

/**
 * findAdoDecision, falling back to the run's requester, with a note saying why, whenever no
 * decision can be found or read (`requireApproval: false`); it only throws when cancelled.
 */
export async function findApprover(opts: FindApproverOptions): Promise<ApproverFinding> {
  try {
    return await findAdoDecision(opts);
  } catch (err) {
    if (isAbortError(err)) throw err;
    const reason = err instanceof ApprovalNotFound ? err.message : String(err);
    return {
      decidedBy: opts.requestedFor,
      source: "requester",
      note: `${reason} The run's requester is recorded instead.`,
    };
  }
}

async function fromStageApprovals(
  opts: FindApproverOptions,
  run: { buildId: number; stage: string },
): Promise<ApproverFinding> {
  const webApi = await read(opts, "connecting to Azure DevOps", () => connectToAdo(opts));
  const buildApi = await read(opts, "connecting to Azure Pipelines", () => webApi.getBuildApi());
  const timeline = await read(opts, `reading the timeline of build ${run.buildId}`, () =>
    buildApi.getBuildTimeline(opts.project, run.buildId),
  );
  if (!timeline)
    throw new ApprovalNotFound(`Build ${run.buildId} was not found in project '${opts.project}'.`);
  const records = timeline.records ?? [];
  const verdict = opts.verdict ?? "approved";
  const wanted = run.stage.toLowerCase();
  const stage = records.find(
    (r) => r.type === "Stage" && [r.identifier, r.name].some((v) => v?.toLowerCase() === wanted),
  );
  if (!stage?.id && verdict === "approved")
    throw new ApprovalNotFound(`Stage '${run.stage}' is not in the timeline of build ${run.buildId}.`);

  // Checkpoint.Approval records hang under the stage's Checkpoint record; their id is the approval id.
  const parentOf = new Map(records.map((r) => [r.id, r.parentId]));
  const underStage = (id: string | undefined): boolean => {
    for (
      let parent = parentOf.get(id), depth = 0;
      parent && depth < 10;
      parent = parentOf.get(parent), depth++
    ) {
      if (parent === stage?.id) return true;
    }
    return false;
  };
  // A rejection stops the stage it guards: the stage asking runs on it, so any stage of the run counts.
  const where =
    verdict === "approved" ? `stage '${run.stage}' of build ${run.buildId}` : `build ${run.buildId}`;
  const approvalIds = records
    .filter((r) => r.type === "Checkpoint.Approval" && r.id && (verdict === "rejected" || underStage(r.id)))
    .map((r) => r.id as string);
  if (approvalIds.length === 0)
    throw new ApprovalNotFound(
      `${capitalized(where)} has no approval check (no Checkpoint.Approval record in the build's timeline).`,
    );

  const decidedSteps: PipelineApprovalStep[] = [];
  for (const approvalId of approvalIds) {
    const approval = await read(opts, `reading approval ${approvalId}`, () =>
      getPipelineApproval(webApi, opts, approvalId),
    );
    decidedSteps.push(...(approval?.steps ?? []).filter((step) => step.status?.toLowerCase() === verdict));
  }
  const decided = decidedSteps
    .map((step) => ({ step, who: step.actualApprover ?? step.lastModifiedBy ?? step.assignedApprover }))
    .filter((entry): entry is { step: PipelineApprovalStep; who: IdentityRef } => entry.who !== undefined)
    .sort((a, b) => timeOf(b.step.lastModifiedOn) - timeOf(a.step.lastModifiedOn));
  const [last, ...earlier] = decided;
  if (!last)
    throw new ApprovalNotFound(
      `The ${approvalIds.length} approval(s) of ${where} (${approvalIds.join(", ")}) have no ${verdict} step.`,
    );
  const decidedBy = identityOf(last.who);
  const others = [...new Set(earlier.map((entry) => identityOf(entry.who).displayName))].filter(
    (name) => name !== decidedBy.displayName,
  );
  return {
    decidedBy,
    ...(last.step.comment ? { comment: last.step.comment } : {}),
    source: "yamlApproval",
    ...(last.step.lastModifiedOn ? { decidedOn: last.step.lastModifiedOn } : {}),
    ...(others.length > 0 ? { note: `Also ${verdict} by ${others.join(", ")}.` } : {}),
  };
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Raw REST: azure-devops-node-api has no client for Approvals And Checks. */
async function getPipelineApproval(
  webApi: WebApi,
  opts: FindApproverOptions,
  approvalId: string,
): Promise<PipelineApproval | null> {
  const base = opts.collectionUrl.endsWith("/") ? opts.collectionUrl : `${opts.collectionUrl}/`;
  const url = `${base}${encodeURIComponent(opts.project)}/_apis/pipelines/approvals/${encodeURIComponent(approvalId)}?$expand=steps&api-version=7.1`;
  const response = await webApi.rest.get<PipelineApproval>(url);
  return response.result;
}

async function fromReleaseApprovals(
  opts: FindApproverOptions,
  release: NonNullable<FindApproverOptions["release"]>,
): Promise<ApproverFinding> {
  const webApi = await read(opts, "connecting to Azure DevOps", () => connectToAdo(opts));
  const releaseApi = await read(opts, "connecting to Azure Pipelines releases", () => webApi.getReleaseApi());
  const { ApprovalStatus, ApprovalType } = await import("azure-devops-node-api/interfaces/ReleaseInterfaces");
  const verdict = opts.verdict ?? "approved";
  const status = verdict === "approved" ? ApprovalStatus.Approved : ApprovalStatus.Rejected;
  // Without statusFilter Azure DevOps lists only pending approvals.
  const approvals = await read(opts, `reading the ${verdict} approvals of release ${release.releaseId}`, () =>
    releaseApi.getApprovals(opts.project, undefined, status, [release.releaseId], ApprovalType.PreDeploy),
  );
  const environment =
    release.environmentName ?? (release.environmentId === undefined ? "any" : `#${release.environmentId}`);
  // A rejection stops the environment it guards: the one asking runs on it, so any environment counts.
  const forEnvironment = (approvals ?? []).filter(
    (a) =>
      a.status === status &&
      a.approvalType === ApprovalType.PreDeploy &&
      a.release?.id === release.releaseId &&
      (verdict === "rejected" ||
        ((release.environmentId === undefined || a.releaseEnvironment?.id === release.environmentId) &&
          (release.environmentName === undefined ||
            a.releaseEnvironment?.name?.toLowerCase() === release.environmentName.toLowerCase()))),
  );
  const where =
    verdict === "approved"
      ? `environment '${environment}' in release ${release.releaseId}`
      : `release ${release.releaseId}`;
  if (forEnvironment.length === 0) {
    throw new ApprovalNotFound(`${capitalized(where)} has no ${verdict} pre-deployment approval.`);
  }
  const byPeople = forEnvironment.filter((a) => !a.isAutomated && (a.approvedBy ?? a.approver));
  if (byPeople.length === 0) {
    throw new ApprovalNotFound(
      `The pre-deployment approval of ${where} was automatic (the environment has no approvers).`,
    );
  }
  const latest = byPeople.sort(
    (a, b) => (b.attempt ?? 0) - (a.attempt ?? 0) || timeOf(b.modifiedOn) - timeOf(a.modifiedOn),
  )[0] as ReleaseApproval;
  return {
    decidedBy: identityOf((latest.approvedBy ?? latest.approver) as IdentityRef),
    ...(latest.comments ? { comment: latest.comments } : {}),
    source: "releaseApproval",
    ...(latest.modifiedOn ? { decidedOn: new Date(latest.modifiedOn).toISOString() } : {}),
  };
}

/** Runs one lookup step; a failure ends the lookup with a note saying what failed while doing what. */
async function read<T>(opts: FindApproverOptions, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await withAdoRetries(opts, work);
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw new ApprovalNotFound(describeAdoFailure(err, action, opts), { cause: err });
  }
}

function identityOf(ref: IdentityRef): AdoIdentityRef {
  return {
    displayName: ref.displayName ?? ref.uniqueName ?? ref.id ?? "unknown",
    ...(ref.uniqueName ? { uniqueName: ref.uniqueName } : {}),
    ...(ref.id ? { id: ref.id } : {}),
  };
}

function timeOf(value: Date | string | undefined): number {
  const time = value === undefined ? NaN : new Date(value).getTime();
  return Number.isNaN(time) ? 0 : time;
}
