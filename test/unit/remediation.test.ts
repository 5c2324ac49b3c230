import assert from "node:assert/strict";
import {
  classifyError,
  errorClasses,
  isTransient,
  remediationFor,
  type ErrorClass,
} from "../../shared/rollout/remediation";

describe("classifyError and remediationFor", () => {
  const table: Array<[string, ErrorClass]> = [
    ["QuotaExceeded", "quota"],
    ["ResourceQuotaExceeded", "quota"],
    ["SkuNotAvailable", "quota"],
    ["ZonalAllocationFailed", "quota"],
    ["InsufficientCapacity", "quota"],
    ["RequestThrottled", "quota"],
    ["OperationTimedOut", "timeout"],
    ["DeploymentTimeout", "timeout"],
    ["InternalTimeout", "timeout"],
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
    ["ProbeFailed", "healthCheck"],
    ["RejectedAtWaitAction", "rejected"],
    ["RolloutCancelled", "cancelled"],
    ["OperationCanceled", "cancelled"],
    ["InternalError", "unknown"],
    ["", "unknown"],
  ];
  for (const [code, expected] of table) {
    it(`${code || "(empty)"} → ${expected}`, () => {
      assert.equal(classifyError(code), expected);
      assert.equal(remediationFor(code), remediationFor(sampleOf(expected)));
    });
  }

  it("gives each class its own advice", () => {
    const advice = errorClasses.map((c) => remediationFor(sampleOf(c)));
    assert.equal(new Set(advice).size, errorClasses.length);
  });

  it("says what a failed health check means (FollowRollout's failure message quotes it)", () => {
    assert.match(
      remediationFor("ServiceHealthCheckFailed"),
      /^The deployed service failed its health checks/,
    );
  });
});

describe("isTransient", () => {
  const table: Array<[string, boolean]> = [
    ["InternalTimeout", true],
    ["OperationTimedOut", true],
    ["QuotaExceeded", true],
    ["InternalServerError", true],
    ["ServiceUnavailable", true],
    ["TransientFailure", true],
    ["ServiceHealthCheckFailed", false],
    ["HealthCheckTimedOut", false],
    ["AuthorizationFailed", false],
    ["RejectedAtWaitAction", false],
    ["Conflict", false],
  ];
  for (const [code, expected] of table) {
    it(`${code} → ${expected}`, () => assert.equal(isTransient(code), expected));
  }
});

function sampleOf(errorClass: ErrorClass): string {
  const samples: Record<ErrorClass, string> = {
    rejected: "RejectedAtWaitAction",
    cancelled: "RolloutCancelled",
    healthCheck: "ServiceHealthCheckFailed",
    quota: "QuotaExceeded",
    authorization: "AuthorizationFailed",
    conflict: "Conflict",
    timeout: "OperationTimedOut",
    unknown: "SomethingElse",
  };
  return samples[errorClass];
}
