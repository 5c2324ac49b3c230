import assert from "node:assert/strict";
import { errorClasses, errorClassOf, remediationFor, type ErrorClass } from "../../shared/teams/remediation";

describe("remediationFor", () => {
  const table: Array<[string, ErrorClass]> = [
    ["QuotaExceeded", "quota"],
    ["ResourceQuotaExceeded", "quota"],
    ["SkuNotAvailable", "quota"],
    ["ZonalAllocationFailed", "quota"],
    ["InsufficientCapacity", "quota"],
    ["OperationTimedOut", "timeout"],
    ["DeploymentTimeout", "timeout"],
    ["AuthorizationFailed", "authorization"],
    ["LinkedAuthorizationFailed", "authorization"],
    ["AuthenticationFailed", "authorization"],
    ["Forbidden", "authorization"],
    ["Conflict", "conflict"],
    ["ConcurrentRollout", "conflict"],
    ["ScopeLocked", "conflict"],
    ["AnotherOperationInProgress", "conflict"],
    ["ServiceHealthCheckFailed", "healthCheck"],
    ["HealthCheckTimedOut", "healthCheck"],
    ["health_check_failed", "healthCheck"],
    ["RejectedAtWaitAction", "rejected"],
    ["InternalError", "unknown"],
    ["", "unknown"],
  ];
  for (const [code, expected] of table) {
    it(`${code || "(empty)"} → ${expected}`, () => {
      assert.equal(errorClassOf(code), expected);
      assert.equal(remediationFor(code), remediationFor(sampleOf(expected)));
    });
  }

  it("gives each class its own hint", () => {
    const hints = errorClasses.map((c) => remediationFor(sampleOf(c)));
    assert.equal(new Set(hints).size, errorClasses.length);
  });
});

function sampleOf(errorClass: ErrorClass): string {
  const samples: Record<ErrorClass, string> = {
    rejected: "RejectedAtWaitAction",
    healthCheck: "ServiceHealthCheckFailed",
    quota: "QuotaExceeded",
    authorization: "AuthorizationFailed",
    conflict: "Conflict",
    timeout: "OperationTimedOut",
    unknown: "SomethingElse",
  };
  return samples[errorClass];
}
