/**
 * What a rollout error code means for the person reading about it, and what to do next.
 * EV2 error codes are open-ended (the contract names a few; resource providers add their own),
 * so codes are classed by the words they contain rather than by an exhaustive list.
 */
export const errorClasses = [
  "rejected",
  "healthCheck",
  "quota",
  "authorization",
  "conflict",
  "timeout",
  "unknown",
] as const;
export type ErrorClass = (typeof errorClasses)[number];

// Order matters: "HealthCheckTimedOut" is a health problem before it is a timeout, and
// "RejectedAtWaitAction" a decision before anything else.
const patterns: ReadonlyArray<[ErrorClass, RegExp]> = [
  ["rejected", /reject/i],
  ["healthCheck", /health/i],
  ["quota", /quota|capacity|limitexceeded|skunotavailable|allocationfailed|allocationrequest/i],
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

export function errorClassOf(errorCode: string): ErrorClass {
  const code = errorCode.replace(/[\s_.-]/g, "");
  return patterns.find(([, pattern]) => pattern.test(code))?.[0] ?? "unknown";
}

const hints: Record<ErrorClass, string> = {
  rejected:
    "An approver rejected the wait action, which cancelled the rollout. Read their comment, address it, then start a new rollout.",
  healthCheck:
    "The service failed its health checks after deploying. Check its health signals and logs in the failed region, then fix forward with a new artifact version or restart the failed regions once healthy.",
  quota:
    "A subscription quota or regional capacity limit was reached. Request a quota increase or free capacity in that region, then restart the failed regions.",
  authorization:
    "Access was refused. Check the role assignments of the EV2 service identity (or the pipeline's service connection) on the target resources, then restart the failed regions.",
  conflict:
    "Another operation holds the resource (a concurrent rollout, a deployment or a lock). Wait for it to finish or remove the lock, then restart the failed regions.",
  timeout:
    "A step did not finish in time. Check the deployment's progress and logs in the EV2 dashboard; if the service was only slow, restart the failed regions.",
  unknown:
    "Open the rollout in the EV2 dashboard for the full error and logs; if the failure was transient, restart the failed regions.",
};

/** One sentence or two on what to do about `errorCode`. */
export function remediationFor(errorCode: string): string {
  return hints[errorClassOf(errorCode)];
}
