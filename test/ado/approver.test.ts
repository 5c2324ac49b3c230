import assert from "node:assert/strict";
import {
  ApprovalNotFound,
  findAdoDecision,
  findApprover,
  type FindApproverOptions,
} from "../../shared/ado/approver";
import type { AdoServer } from "../../sim/ado/server";
import {
  addBuild,
  addPipelineApproval,
  addProject,
  addReleaseApproval,
  adoIdentity,
  type AdoProjectState,
} from "../../sim/ado/state";
import { alice, apiCalls, bob, jobToken, projectName, requester, startSeededAdo } from "./ado-fixture";

const prodApproval = "6a2b7c1d-0000-4000-8000-00000000a001";
const serviceConnectionApproval = "6a2b7c1d-0000-4000-8000-00000000a002";
const testApproval = "6a2b7c1d-0000-4000-8000-00000000a003";
const approvers = adoIdentity("Release Approvers", "[Contoso]\\Release Approvers", true);

describe("findApprover (fake Azure DevOps over HTTP)", () => {
  let ado: AdoServer;
  let project: AdoProjectState;

  beforeEach(async () => {
    ado = await startSeededAdo((state) => {
      project = addProject(state, projectName);
    });
  });
  afterEach(() => ado.close());

  const options = (overrides: Partial<FindApproverOptions>): FindApproverOptions => ({
    collectionUrl: ado.url,
    token: jobToken,
    project: projectName,
    requestedFor: requester,
    requestTimeoutMs: 5_000,
    maxRetries: 0,
    ...overrides,
  });

  describe("YAML runs", () => {
    beforeEach(() => {
      addBuild(project, 812, [
        { identifier: "Test", name: "Deploy to test", approvalIds: [testApproval], state: "completed" },
        {
          identifier: "Prod",
          name: "Deploy to production",
          approvalIds: [prodApproval, serviceConnectionApproval],
        },
      ]);
      addPipelineApproval(project, testApproval, [
        { by: bob, comment: "test is fine", at: "2024-05-01T08:00:00Z" },
      ]);
    });

    it("finds who approved the stage's check, with their comment", async () => {
      addPipelineApproval(project, prodApproval, [
        { by: alice, assignedTo: approvers, comment: "Ship it", at: "2024-05-01T10:00:00Z" },
      ]);
      addPipelineApproval(project, serviceConnectionApproval, [], { status: "pending" });

      const finding = await findApprover(options({ yaml: { buildId: 812, stage: "Prod" } }));

      assert.deepEqual(finding, {
        decidedBy: { displayName: "Alice Approver", uniqueName: "alice@contoso.com", id: alice.id },
        comment: "Ship it",
        source: "yamlApproval",
        decidedOn: "2024-05-01T10:00:00Z",
      });
      const calls = apiCalls(ado).map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`);
      assert.deepEqual(calls, [
        "GET /DefaultCollection/Contoso/_apis/build/builds/812/Timeline {}",
        `GET /DefaultCollection/Contoso/_apis/pipelines/approvals/${prodApproval} {"$expand":"steps","api-version":"7.1"}`,
        `GET /DefaultCollection/Contoso/_apis/pipelines/approvals/${serviceConnectionApproval} {"$expand":"steps","api-version":"7.1"}`,
      ]);
    });

    it("matches the stage by display name too, and takes the latest of several approvers", async () => {
      addPipelineApproval(
        project,
        prodApproval,
        [
          { by: bob, comment: "first look ok", at: "2024-05-01T09:30:00Z" },
          { by: alice, comment: "second approver", at: "2024-05-01T09:45:00Z" },
        ],
        { minRequiredApprovers: 2 },
      );

      const finding = await findApprover(options({ yaml: { buildId: 812, stage: "deploy to production" } }));

      assert.equal(finding.decidedBy.displayName, "Alice Approver");
      assert.equal(finding.comment, "second approver");
      assert.equal(finding.note, "Also approved by Bob Reviewer.");
    });

    it("verdict rejected: finds the rejection in any stage of the run (the asking stage runs on it)", async () => {
      addPipelineApproval(project, prodApproval, [
        { by: alice, comment: "Latency regressed", at: "2024-05-01T10:00:00Z", status: "rejected" },
      ]);
      addPipelineApproval(project, serviceConnectionApproval, [], { status: "pending" });
      const found = await findAdoDecision(
        options({ yaml: { buildId: 812, stage: "Rollback_Prod" }, verdict: "rejected" }),
      );
      assert.equal(found.decidedBy.displayName, alice.displayName);
      assert.equal(found.comment, "Latency regressed");
      assert.equal(found.source, "yamlApproval");
    });

    it("findAdoDecision fails closed, saying what it looked for, where findApprover falls back", async () => {
      addPipelineApproval(project, prodApproval, [], { status: "pending" });
      addPipelineApproval(project, serviceConnectionApproval, [], { status: "pending" });
      await assert.rejects(
        findAdoDecision(options({ yaml: { buildId: 812, stage: "Prod" } })),
        (err: Error) =>
          err instanceof ApprovalNotFound &&
          /of stage 'Prod' of build 812 .* have no approved step\.$/.test(err.message),
      );
      await assert.rejects(
        findAdoDecision(options({ yaml: { buildId: 812, stage: "Prod" }, verdict: "rejected" })),
        /approval\(s\) of build 812 .* have no rejected step/,
      );
    });

    it("falls back to the requester when the stage has no approval check", async () => {
      addBuild(project, 813, [{ identifier: "Prod" }]);

      const finding = await findApprover(options({ yaml: { buildId: 813, stage: "Prod" } }));

      assert.deepEqual(finding, {
        decidedBy: requester,
        source: "requester",
        note: "Stage 'Prod' of build 813 has no approval check (no Checkpoint.Approval record in the build's timeline). The run's requester is recorded instead.",
      });
    });

    it("falls back when the approval has no approved step yet", async () => {
      addPipelineApproval(project, prodApproval, [{ by: alice, status: "pending" }]);

      const finding = await findApprover(options({ yaml: { buildId: 812, stage: "Prod" } }));

      assert.equal(finding.source, "requester");
      assert.equal(
        finding.note,
        `The 2 approval(s) of stage 'Prod' of build 812 (${prodApproval}, ${serviceConnectionApproval}) have no approved step. The run's requester is recorded instead.`,
      );
    });

    it("falls back when the stage or the build is unknown", async () => {
      const noStage = await findApprover(options({ yaml: { buildId: 812, stage: "Canary" } }));
      const noBuild = await findApprover(options({ yaml: { buildId: 999, stage: "Prod" } }));

      assert.equal(
        noStage.note,
        "Stage 'Canary' is not in the timeline of build 812. The run's requester is recorded instead.",
      );
      assert.equal(
        noBuild.note,
        "Build 999 was not found in project 'Contoso'. The run's requester is recorded instead.",
      );
    });

    it("reports a refused token in the note instead of failing", async () => {
      const finding = await findApprover(
        options({ token: "revoked", yaml: { buildId: 812, stage: "Prod" } }),
      );

      assert.equal(finding.source, "requester");
      assert.match(
        finding.note ?? "",
        /^Azure DevOps refused the access token \(HTTP 401\) while connecting to Azure Pipelines: TF400813: .* The run's requester is recorded instead\.$/,
      );
    });

    it("reports a 403 on the approvals API in the note", async () => {
      addPipelineApproval(project, prodApproval, [{ by: alice }]);
      ado.state.faults.push({
        pathIncludes: "/_apis/pipelines/approvals/",
        status: 403,
        message: "Access denied. Contoso Build Service needs View permissions.",
        times: 1,
      });

      const finding = await findApprover(options({ yaml: { buildId: 812, stage: "Prod" } }));

      assert.equal(
        finding.note,
        `Azure DevOps denied reading approval ${prodApproval} (HTTP 403): Access denied. Contoso Build Service needs View permissions. The run's requester is recorded instead.`,
      );
    });

    it("retries a timeline read the server could not serve", async () => {
      addPipelineApproval(project, prodApproval, [{ by: alice }]);
      ado.state.faults.push({ pathIncludes: "/Timeline", status: 503, times: 1 });

      const finding = await findApprover(options({ maxRetries: 1, yaml: { buildId: 812, stage: "Prod" } }));

      assert.equal(finding.source, "yamlApproval");
      assert.deepEqual(
        ado.requests.filter((r) => r.path.endsWith("/Timeline")).map((r) => r.status),
        [503, 200],
      );
    });
  });

  describe("classic releases", () => {
    beforeEach(() => {
      addReleaseApproval(project, {
        id: 301,
        releaseId: 57,
        environmentId: 7,
        environmentName: "Prod",
        approver: approvers,
        approvedBy: alice,
        comments: "Go for prod",
        modifiedOn: "2024-05-02T10:00:00Z",
      });
      addReleaseApproval(project, {
        id: 302,
        releaseId: 57,
        environmentId: 6,
        environmentName: "Test",
        approver: bob,
        comments: "test ok",
      });
      addReleaseApproval(project, {
        id: 303,
        releaseId: 57,
        environmentId: 7,
        environmentName: "Prod",
        approver: bob,
        approvalType: "postDeploy",
        comments: "after deploy",
      });
      addReleaseApproval(project, {
        id: 304,
        releaseId: 58,
        environmentId: 7,
        environmentName: "Prod",
        approver: bob,
        comments: "other release",
      });
    });

    it("finds the pre-deployment approver of the environment, asking release management for approved ones", async () => {
      const finding = await findApprover(
        options({ release: { releaseId: 57, environmentId: 7 }, yaml: { buildId: 812, stage: "Prod" } }),
      );

      assert.deepEqual(finding, {
        decidedBy: { displayName: "Alice Approver", uniqueName: "alice@contoso.com", id: alice.id },
        comment: "Go for prod",
        source: "releaseApproval",
        decidedOn: "2024-05-02T10:00:00.000Z",
      });
      const calls = apiCalls(ado);
      assert.equal(calls.length, 1);
      assert.equal(calls[0]?.host, "release");
      assert.equal(calls[0]?.path, "/vsrm/DefaultCollection/Contoso/_apis/Release/approvals");
      assert.deepEqual(calls[0]?.query, { statusFilter: "2", releaseIdsFilter: "57", typeFilter: "1" });
    });

    it("matches the environment by name and takes the latest attempt", async () => {
      addReleaseApproval(project, {
        id: 305,
        releaseId: 57,
        environmentId: 7,
        environmentName: "Prod",
        approver: bob,
        comments: "redeploy approved",
        attempt: 2,
        modifiedOn: "2024-05-03T10:00:00Z",
      });

      const finding = await findApprover(options({ release: { releaseId: 57, environmentName: "prod" } }));

      assert.deepEqual(
        [finding.decidedBy.displayName, finding.comment],
        ["Bob Reviewer", "redeploy approved"],
      );
    });

    it("falls back when the approval was automatic", async () => {
      addReleaseApproval(project, {
        id: 306,
        releaseId: 60,
        environmentId: 9,
        environmentName: "Canary",
        approver: adoIdentity("Riley Requester", "riley@contoso.com"),
        isAutomated: true,
      });

      const finding = await findApprover(
        options({ release: { releaseId: 60, environmentId: 9, environmentName: "Canary" } }),
      );

      assert.deepEqual(finding, {
        decidedBy: requester,
        source: "requester",
        note: "The pre-deployment approval of environment 'Canary' in release 60 was automatic (the environment has no approvers). The run's requester is recorded instead.",
      });
    });

    it("falls back when the environment's approval is still pending", async () => {
      addReleaseApproval(project, {
        id: 307,
        releaseId: 61,
        environmentId: 7,
        environmentName: "Prod",
        approver: alice,
        status: "pending",
      });

      const finding = await findApprover(options({ release: { releaseId: 61, environmentId: 7 } }));

      assert.equal(
        finding.note,
        "Environment '#7' in release 61 has no approved pre-deployment approval. The run's requester is recorded instead.",
      );
    });

    it("reports a refused token in the note", async () => {
      const finding = await findApprover(
        options({ token: "revoked", release: { releaseId: 57, environmentId: 7 } }),
      );

      assert.equal(finding.source, "requester");
      assert.match(finding.note ?? "", /HTTP 401\) while connecting to Azure Pipelines releases/);
    });
  });

  it("falls back when neither a run nor a release is given", async () => {
    const finding = await findApprover(options({}));

    assert.equal(
      finding.note,
      "Neither a YAML run (Build.BuildId, System.StageName) nor a classic release (Release.ReleaseId) was found in the job's variables, so no approval was looked up. The run's requester is recorded instead.",
    );
    assert.equal(ado.requests.length, 0);
  });

  it("reports an unreachable server in the note", async () => {
    const url = ado.url;
    await ado.close();

    const finding = await findApprover(options({ collectionUrl: url, yaml: { buildId: 1, stage: "Prod" } }));

    assert.equal(
      finding.note,
      `Could not reach Azure DevOps at ${url} (ECONNREFUSED) while connecting to Azure Pipelines. The run's requester is recorded instead.`,
    );
    ado = await startSeededAdo();
  });
});
