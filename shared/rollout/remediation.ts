/** What to do about an EV2 error code: one concrete recommendation per error class. */
export type ErrorClass =
  "quota" | "timeout" | "authorization" | "conflict" | "healthCheck" | "rejected" | "cancelled" | "unknown";

const classes: Array<[RegExp, ErrorClass]> = [
  [/quota|capacity|limit|throttl/i, "quota"],
  [/timeout|timedout|deadline/i, "timeout"],
  [/auth|forbidden|permission|unauthori[sz]ed|credential/i, "authorization"],
  [/conflict|concurrent|alreadyexists|locked/i, "conflict"],
  [/health|probe|watchdog/i, "healthCheck"],
  [/rejected/i, "rejected"],
  [/cancel/i, "cancelled"],
];

export function classifyError(errorCode: string): ErrorClass {
  return classes.find(([pattern]) => pattern.test(errorCode))?.[1] ?? "unknown";
}

/** Transient classes are worth one automatic restart. */
export function isTransient(errorCode: string): boolean {
  const c = classifyError(errorCode);
  return c === "quota" || c === "timeout" || /internal|transient|unavailable/i.test(errorCode);
}

const advice: Record<ErrorClass, string> = {
  quota:
    "A subscription or regional quota was hit: raise the quota (or free capacity) in the failing region, then restart the failed stage.",
  timeout:
    "An action timed out: check the region's resource health and the action's timeout in the rollout spec, then restart the failed stage (often transient).",
  authorization:
    "EV2 or the deployed resources refused an identity: check the role assignments of the rollout's identity on the target subscription and the service connection's permissions.",
  conflict:
    "Another operation holds the resource: wait for the other rollout or deployment to finish (see the EV2 dashboard), then restart.",
  healthCheck:
    "The deployed service failed its health checks: look at the service's telemetry in the failing region, fix or roll back (trigger the last good artifact version), then restart.",
  rejected:
    "An approver rejected the rollout at a gate: read the rejection comment in the EV2 dashboard before triggering again.",
  cancelled: "The rollout was cancelled: check who cancelled it in the EV2 dashboard.",
  unknown:
    "Open the EV2 dashboard for the failing stage's logs; restart the failed stage if the error looks transient.",
};

export function remediationFor(errorCode: string): string {
  return advice[classifyError(errorCode)];
}
