export {
  ApprovalNotFound,
  findAdoDecision,
  findApprover,
  type AdoVerdict,
  type AdoIdentityRef,
  type ApproverFinding,
  type ApproverSource,
  type FindApproverOptions,
} from "./approver";
export {
  branchNameProblem,
  BranchTemplateError,
  branchTemplateTokenNames,
  defaultTrackingBranchTemplate,
  renderBranchTemplate,
  sanitizeBranchName,
  type BranchTemplateTokens,
} from "./branch-name";
export {
  AdoRequestError,
  buildServiceIdentities,
  organizationOf,
  type AdoConnectionOptions,
} from "./connection";
export {
  AdoRefUpdateError,
  createTrackingBranch,
  type AdoRefUpdateStatus,
  type CreateTrackingBranchOptions,
  type TrackingBranch,
} from "./tracking-branch";
