import assert from "node:assert/strict";
import { deriveIdempotencyKey, idempotencyKeyPattern } from "../../shared/rollout/trigger";
import type { RunIdentity } from "../../shared/rollout/record";

const run: RunIdentity = {
  collectionId: "c0ffee00-0000-4000-8000-000000000001",
  projectId: "c0ffee00-0000-4000-8000-000000000002",
  buildId: "4711",
  stageName: "Deploy_PPE",
  jobName: "rollout",
  attempt: "1",
};
const what = {
  serviceGroupName: "Microsoft.Contoso.Orders",
  serviceId: "orders-api",
  environment: "PPE",
  artifactVersion: "1.3.2",
  stageMapName: "OrdersStageMap",
  stageMapVersion: "v3",
  selectionScope: ["regions(*).steps(*).stamps(*).actions(*)"],
  exclusionScope: [] as string[],
};
const key = deriveIdempotencyKey(run, what);

describe("the default idempotency key", () => {
  it("is a key the contract accepts", () => assert.match(key, idempotencyKeyPattern));

  it("is the same for a re-run of the job (another attempt)", () => {
    assert.equal(deriveIdempotencyKey({ ...run, attempt: "2" }, what), key);
  });

  for (const [change, r, w] of [
    ["another run", { ...run, buildId: "4712" }, what],
    ["another stage", { ...run, stageName: "Deploy_Prod" }, what],
    ["another job", { ...run, jobName: "rollback" }, what],
    [
      "a classic release's redeploy",
      { ...run, releaseId: "57", releaseEnvironmentId: "3", releaseDeploymentId: "9" },
      what,
    ],
    ["another environment", run, { ...what, environment: "Prod" }],
    ["another artifact version", run, { ...what, artifactVersion: "1.3.1" }],
    ["another stage map", run, { ...what, stageMapName: "HotfixStageMap" }],
    ["another stage map version", run, { ...what, stageMapVersion: "v2" }],
    [
      "another selection scope (a second step of the job)",
      run,
      { ...what, selectionScope: ["regions(eastus).steps(*).stamps(*).actions(*)"] },
    ],
    [
      "an exclusion scope",
      run,
      { ...what, exclusionScope: ["regions(westus).steps(*).stamps(*).actions(*)"] },
    ],
  ] as Array<[string, RunIdentity, typeof what]>) {
    it(`differs for ${change}`, () => assert.notEqual(deriveIdempotencyKey(r, w), key));
  }

  it("differs for a redeploy of the same classic release environment (another Release.DeploymentId), not for a re-run of one", () => {
    const release = { ...run, releaseId: "57", releaseEnvironmentId: "3", releaseDeploymentId: "9" };
    const first = deriveIdempotencyKey(release, what);
    assert.notEqual(deriveIdempotencyKey({ ...release, releaseDeploymentId: "10" }, what), first);
    assert.notEqual(deriveIdempotencyKey({ ...release, releaseEnvironmentId: "4" }, what), first);
    assert.equal(deriveIdempotencyKey({ ...release, attempt: "2" }, what), first);
  });
});
