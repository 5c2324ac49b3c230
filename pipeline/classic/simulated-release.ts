/**
 * `--sim` for a classic release: approvals answered by a simulated release manager and recorded
 * where Azure DevOps keeps them, the release approvals API (`_apis/release/approvals`) of the
 * Azure DevOps slice, so GateApproval's approver look-up finds who approved and why.
 */
import { addReleaseApproval, adoIdentity, type AdoProjectState } from "../../sim/ado/state";
import { approverIdentity, simulatedReleaseManager, type SimulatedServices } from "../simulated-services";
import { scaledGateClock } from "./release-gates";
import type { ReleaseApprovalRequest, ReleaseApprovals, ReleaseRunOptions } from "./release-player";

export interface SimulatedReleaseApprovalOptions {
  /** Who decides (`Name <e-mail>`); default the definition's approver, or the release manager for a group. */
  approver?: string;
  /** Reject the approval of this environment (`first`: the first manual approval asked), or each one the function picks. */
  reject?: string | ((request: ReleaseApprovalRequest) => boolean);
  comment?: string;
}

/**
 * What `runRelease` needs besides the services' run options: approvals answered and recorded in
 * the Azure DevOps slice, and gates sampled on the simulator's clock (a 5-minute sampling
 * interval takes half a second at 600x).
 */
export function simulatedRelease(
  services: Pick<SimulatedServices, "ev2" | "project">,
  approvals: SimulatedReleaseApprovalOptions = {},
): Pick<ReleaseRunOptions, "releaseApprovals" | "gateClock"> {
  return {
    releaseApprovals: simulatedReleaseApprovals(approvals, services.project),
    gateClock: scaledGateClock(services.ev2.clock),
  };
}

export function simulatedReleaseApprovals(
  options: SimulatedReleaseApprovalOptions,
  project: AdoProjectState,
): ReleaseApprovals {
  let manualAsked = 0;
  let nextId = 1 + Math.max(0, ...project.releaseApprovals.map((a) => a.id));
  return (request) => {
    const { environment, type, approvers, release } = request;
    const at = new Date().toISOString();
    type Seed = Parameters<typeof addReleaseApproval>[1];
    const record = (
      seed: Pick<Seed, "approver" | "approvedBy" | "status" | "isAutomated" | "comments" | "rank">,
    ) =>
      addReleaseApproval(project, {
        id: nextId++,
        releaseId: release.releaseId,
        releaseName: release.releaseName,
        releaseDefinition: { id: release.definitionId, name: release.definitionName },
        environmentId: request.environmentId,
        environmentName: environment.name,
        approvalType: type,
        modifiedOn: at,
        attempt: release.attempt,
        ...seed,
      });
    if (approvers.length === 0) {
      // No approvers: Azure DevOps approves on its own and records it as automated.
      record({ approver: adoIdentity(release.requestedFor), status: "approved", isAutomated: true });
      return { verdict: "approved", by: "Azure DevOps (automatic: no approvers)" };
    }
    manualAsked++;
    const reject = options.reject;
    const target = typeof reject === "string" ? reject.toLowerCase() : undefined;
    const rejected =
      typeof reject === "function"
        ? reject(request)
        : target !== undefined &&
          ((target === "first" && manualAsked === 1) || target === environment.name.toLowerCase());
    const person = approvers.find((a) => !a.isGroup);
    const decider = approverIdentity(
      options.approver ??
        (person
          ? person.uniqueName
            ? `${person.displayName} <${person.uniqueName}>`
            : person.displayName
          : simulatedReleaseManager),
    );
    const stage = type === "preDeploy" ? `before ${environment.name}` : `after ${environment.name}`;
    const comment =
      options.comment ??
      (rejected
        ? `Not now: rejected ${stage} (simulated release manager).`
        : `Approved ${stage} (simulated release manager).`);
    for (const [rank, a] of approvers.entries())
      record({
        approver: a.isGroup
          ? adoIdentity(a.displayName, a.uniqueName ?? a.displayName, true)
          : adoIdentity(a.displayName, a.uniqueName),
        approvedBy: decider,
        status: rejected ? "rejected" : "approved",
        comments: comment,
        rank: rank + 1,
      });
    return { verdict: rejected ? "rejected" : "approved", by: decider.displayName, comment };
  };
}
