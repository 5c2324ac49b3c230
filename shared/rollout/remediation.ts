/**
 * What an EV2 error code means for the person reading about it, and what to do next: one
 * recommendation per error class, for FollowRollout's failure message and the Teams cards alike.
 * EV2 error codes are open-ended (the contract names a few; resource providers add their own),
 * so codes are classed by the words they contain rather than by an exhaustive list.
 */
export const errorClasses = [
  "rejected",
  "cancelled",
  "healthCheck",
  "quota",
  "authorization",
  "conflict",
  "timeout",
  "unknown",
] as const;
export type ErrorClass = (typeof errorClasses)[number];

// Order matters: "RejectedAtWaitAction" is a decision before anything else, and
// "HealthCheckTimedOut" a health problem before it is a timeout.
const patterns: ReadonlyArray<[ErrorClass, RegExp]> = [
  ["rejected", /reject/i],
  ["cancelled", /cancel/i],
  ["healthCheck", /health|probe|watchdog/i],
  ["quota", /quota|capacity|limitexceeded|throttl|skunotavailable|allocationfailed|allocationrequest/i],
  [
    "authorization",
    /authori[sz]|authentic|forbidden|permission|accessdenied|unauthori[sz]ed|credential|rbac/i,
  ],
  [
    "conflict",
    /conflict|concurrent|scopelocked|resourcelocked|inuse|alreadyexists|precondition|anotheroperation|operationinprogress/i,
  ],
  ["timeout", /timeout|timedout|deadline/i],
];

/** The class of `errorCode`; separators are ignored (`health_check_failed` is `HealthCheckFailed`). */
export function classifyError(errorCode: string): ErrorClass {
  const code = errorCode.replace(/[\s_.-]/g, "");
  return patterns.find(([, pattern]) => pattern.test(code))?.[0] ?? "unknown";
}

/** Transient failures are worth one automatic restart (FollowRollout's `restartFailed`). */
export function isTransient(errorCode: string): boolean {
  const c = classifyError(errorCode);
  return c === "quota" || c === "timeout" || /internal|transient|unavailable/i.test(errorCode);
}

const advice: Record<ErrorClass, string> = {
  rejected:
    "An approver rejected the rollout at a wait action, which cancelled it: read their comment, address it, then start a new rollout.",
  cancelled:
    "The rollout was cancelled: check who cancelled it and why in the EV2 dashboard, then start a new rollout when ready.",
  healthCheck:
    "The deployed service failed its health checks: look at its health signals and logs in the failing region, then fix forward with a new artifact version or roll back (trigger the last good one), and restart the failed regions once it is healthy.",
  quota:
    "A subscription quota, regional capacity or request limit was reached: raise the quota or free capacity in the failing region, then restart the failed regions.",
  authorization:
    "Access was refused: check the role assignments of the rollout's identity on the target resources and the service connection's permissions, then restart the failed regions.",
  conflict:
    "Another operation holds the resource (a concurrent rollout, a deployment or a lock): wait for it to finish (see the EV2 dashboard) or remove the lock, then restart the failed regions.",
  timeout:
    "A step did not finish in time: check the region's resource health and the deployment's logs in the EV2 dashboard; if it was only slow, restart the failed regions (often transient).",
  unknown:
    "Open the rollout in the EV2 dashboard for the full error and logs; if the failure looks transient, restart the failed regions.",
};

/** One sentence or two on what to do about `errorCode`. */
export function remediationFor(errorCode: string): string {
  return advice[classifyError(errorCode)];
}
