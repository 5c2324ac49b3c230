import assert from "node:assert/strict";
import { AbortedError } from "../../shared/http/retry";
import { AdoRequestError } from "../../shared/ado/connection";
import {
  AdoRefUpdateError,
  createTrackingBranch,
  type CreateTrackingBranchOptions,
} from "../../shared/ado/tracking-branch";
import type { AdoServer } from "../../sim/ado/server";
import { addProject, addRepository, type AdoRepositoryState } from "../../sim/ado/state";
import { apiCalls, builtCommit, jobToken, otherCommit, projectName, startSeededAdo } from "./ado-fixture";

const zeros = "0".repeat(40);

describe("createTrackingBranch (fake Azure DevOps over HTTP)", () => {
  let ado: AdoServer;
  let repo: AdoRepositoryState;

  beforeEach(async () => {
    ado = await startSeededAdo((state) => {
      repo = addRepository(addProject(state, projectName), "orders-service", {
        refs: [{ name: "refs/heads/main", objectId: otherCommit }],
      });
    });
  });
  afterEach(() => ado.close());

  const options = (overrides: Partial<CreateTrackingBranchOptions> = {}): CreateTrackingBranchOptions => ({
    collectionUrl: ado.url,
    token: jobToken,
    project: projectName,
    repository: "orders-service",
    branchName: "ev2/prod/1.4.2-17",
    commitId: builtCommit,
    requestTimeoutMs: 5_000,
    ...overrides,
  });
  const refNames = (): string[] => repo.refs.map((r) => r.name).sort();

  it("creates the branch with one ref update from the zero id", async () => {
    const branch = await createTrackingBranch(options());

    assert.deepEqual(branch, {
      name: "ev2/prod/1.4.2-17",
      ref: "refs/heads/ev2/prod/1.4.2-17",
      commitId: builtCommit,
      created: true,
      reused: false,
    });
    const calls = apiCalls(ado).map((r) => `${r.method} ${r.path}?${new URLSearchParams(r.query)}`);
    assert.deepEqual(calls, [
      "GET /DefaultCollection/Contoso/_apis/git/repositories/orders-service/refs?filter=heads%2Fev2%2Fprod%2F1.4.2-17",
      "POST /DefaultCollection/Contoso/_apis/git/repositories/orders-service/refs?",
    ]);
    const post = apiCalls(ado)[1];
    assert.deepEqual(post?.body, [
      { name: "refs/heads/ev2/prod/1.4.2-17", oldObjectId: zeros, newObjectId: builtCommit },
    ]);
    assert.equal(post?.apiVersion, "7.2-preview.2");
    assert.equal(post?.headers.authorization, "Bearer [redacted]");
    assert.deepEqual(repo.refs.find((r) => r.name === branch.ref)?.objectId, builtCommit);
  });

  it("reuses a branch already at the commit and writes nothing", async () => {
    repo.refs.push({ name: "refs/heads/ev2/prod/1.4.2-17", objectId: builtCommit });

    const branch = await createTrackingBranch(options({ commitId: builtCommit.toUpperCase() }));

    assert.deepEqual(branch, {
      name: "ev2/prod/1.4.2-17",
      ref: "refs/heads/ev2/prod/1.4.2-17",
      commitId: builtCommit,
      created: false,
      reused: true,
    });
    assert.equal(ado.requests.filter((r) => r.method === "POST").length, 0);
  });

  it("adds -2, -3 … when the name is taken at another commit", async () => {
    repo.refs.push(
      { name: "refs/heads/ev2/prod/1.4.2-17", objectId: otherCommit },
      { name: "refs/heads/ev2/prod/1.4.2-17-2", objectId: otherCommit },
    );

    const branch = await createTrackingBranch(options());

    assert.equal(branch.name, "ev2/prod/1.4.2-17-3");
    assert.equal(branch.created, true);
    assert.deepEqual(refNames(), [
      "refs/heads/ev2/prod/1.4.2-17",
      "refs/heads/ev2/prod/1.4.2-17-2",
      "refs/heads/ev2/prod/1.4.2-17-3",
      "refs/heads/main",
    ]);
  });

  it("reuses the suffixed branch a previous attempt created", async () => {
    repo.refs.push(
      { name: "refs/heads/ev2/prod/1.4.2-17", objectId: otherCommit },
      { name: "refs/heads/ev2/prod/1.4.2-17-2", objectId: builtCommit },
    );

    const branch = await createTrackingBranch(options());

    assert.deepEqual([branch.name, branch.reused], ["ev2/prod/1.4.2-17-2", true]);
    assert.equal(ado.requests.filter((r) => r.method === "POST").length, 0);
  });

  it("ignores longer names the prefix filter also returns", async () => {
    repo.refs.push({ name: "refs/heads/ev2/prod/1.4.2-170", objectId: builtCommit });

    const branch = await createTrackingBranch(options());

    assert.deepEqual([branch.name, branch.created], ["ev2/prod/1.4.2-17", true]);
  });

  it("takes a branch a parallel job created between the read and the write", async () => {
    ado.onRequest = (request) => {
      if (request.method === "POST")
        repo.refs.push({ name: "refs/heads/ev2/prod/1.4.2-17", objectId: builtCommit });
    };

    const branch = await createTrackingBranch(options());

    assert.deepEqual([branch.name, branch.created, branch.reused], ["ev2/prod/1.4.2-17", false, true]);
  });

  it("moves on to the next suffix when the racing branch is at another commit", async () => {
    let raced = false;
    ado.onRequest = (request) => {
      if (request.method === "POST" && !raced) {
        raced = true;
        repo.refs.push({ name: "refs/heads/ev2/prod/1.4.2-17", objectId: otherCommit });
      }
    };

    const branch = await createTrackingBranch(options());

    assert.deepEqual([branch.name, branch.created], ["ev2/prod/1.4.2-17-2", true]);
  });

  it("says which permission to grant to which identity when 'Create branch' is missing", async () => {
    repo.refUpdateRules.push({
      refPattern: "refs/heads/ev2/*",
      updateStatus: "createBranchPermissionRequired",
    });

    // Given by id, as Build.Repository.ID is: the message still names the repository.
    const err = await createTrackingBranch(options({ repository: repo.id })).then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e,
    );

    assert.ok(err instanceof AdoRefUpdateError);
    assert.equal(err.updateStatus, "createBranchPermissionRequired");
    assert.equal(err.refName, "refs/heads/ev2/prod/1.4.2-17");
    assert.equal(
      err.message,
      "Azure DevOps refused to create branch 'ev2/prod/1.4.2-17' in repository 'orders-service' (createBranchPermissionRequired): the pipeline's identity may not create branches there. " +
        "Grant 'Create branch' on repository 'orders-service' (Project settings > Repositories > orders-service > Security) to the project build service identity 'Contoso Build Service (DefaultCollection)', " +
        "or to 'Project Collection Build Service (DefaultCollection)' if the pipeline's job authorization scope is the project collection.",
    );
    assert.deepEqual(refNames(), ["refs/heads/main"]);
  });

  it("reports a whole-request 403 with the server's words and the same advice", async () => {
    repo.refUpdateRules.push({ httpStatus: 403 });

    await assert.rejects(createTrackingBranch(options()), (err: unknown) => {
      assert.ok(err instanceof AdoRefUpdateError);
      assert.equal(err.httpStatus, 403);
      assert.equal(err.updateStatus, undefined);
      assert.match(
        err.message,
        /\(HTTP 403: TF401027: You need the Git 'CreateBranch' permission to perform this action\. Details: identity 'Contoso Build Service \(DefaultCollection\)'/,
      );
      assert.match(err.message, /Grant 'Create branch' on repository 'orders-service'/);
      return true;
    });
  });

  it("passes on a branch policy's refusal and its message", async () => {
    repo.refUpdateRules.push({
      refPattern: "refs/heads/ev2/*",
      updateStatus: "rejectedByPolicy",
      rejectedBy: "Branch name policy",
      customMessage: "Branches under ev2/ are reserved for release managers.",
    });

    await assert.rejects(createTrackingBranch(options()), (err: unknown) => {
      assert.ok(err instanceof AdoRefUpdateError);
      assert.equal(err.updateStatus, "rejectedByPolicy");
      assert.equal(
        err.message,
        "Azure DevOps refused to create branch 'ev2/prod/1.4.2-17' in repository 'orders-service' (rejectedByPolicy) by 'Branch name policy': Branches under ev2/ are reserved for release managers. " +
          "Use a tracking branch template outside the protected branches, or ask a project administrator to exempt them.",
      );
      return true;
    });
  });

  it("rejects an invalid name before calling Azure DevOps", async () => {
    await assert.rejects(createTrackingBranch(options({ branchName: "ev2/prod/1..4" })), (err: unknown) => {
      assert.ok(err instanceof AdoRefUpdateError);
      assert.equal(err.updateStatus, "invalidRefName");
      assert.equal(
        err.message,
        "'ev2/prod/1..4' is not a valid branch name: it contains '..'. Change the tracking branch template.",
      );
      return true;
    });
    assert.equal(ado.requests.length, 0);
  });

  it("explains a name that collides with an existing branch folder", async () => {
    repo.refs.push({ name: "refs/heads/ev2/prod", objectId: otherCommit });

    await assert.rejects(
      createTrackingBranch(options()),
      (err: unknown) =>
        err instanceof AdoRefUpdateError &&
        err.updateStatus === "refNameConflict" &&
        /branch 'a' blocks 'a\/b'/.test(err.message),
    );
  });

  it("explains a commit the repository does not have", async () => {
    repo.commits = [otherCommit];

    await assert.rejects(
      createTrackingBranch(options()),
      (err: unknown) =>
        err instanceof AdoRefUpdateError &&
        err.updateStatus === "unresolvableToCommit" &&
        err.message.includes(`commit ${builtCommit} is not in the repository`),
    );
  });

  it("names the repository and project when the repository does not exist", async () => {
    await assert.rejects(createTrackingBranch(options({ repository: "no-such-repo" })), (err: unknown) => {
      assert.ok(err instanceof AdoRequestError);
      assert.equal(err.httpStatus, 404);
      assert.equal(
        err.message,
        `Repository 'no-such-repo' was not found in project 'Contoso' at ${ado.url}, or the pipeline's identity cannot read it.`,
      );
      return true;
    });
  });

  it("reports a refused token as HTTP 401 and says what to check", async () => {
    await assert.rejects(createTrackingBranch(options({ token: "expired-token" })), (err: unknown) => {
      assert.ok(err instanceof AdoRequestError);
      assert.equal(err.httpStatus, 401);
      assert.match(
        err.message,
        /^Azure DevOps refused the access token \(HTTP 401\) while connecting to Azure Repos: TF400813: .* Check that the job's OAuth token \(the SystemVssConnection endpoint's, or System\.AccessToken\) has not expired/,
      );
      return true;
    });
    assert.ok(ado.requests.every((r) => r.status === 401));
  });

  it("sends a personal access token as Basic", async () => {
    const pat = "p".repeat(52);
    ado.state.tokens[pat] = ado.state.tokens[jobToken]!;

    await createTrackingBranch(options({ token: pat }));

    assert.ok(ado.requests.every((r) => r.headers.authorization === "Basic [redacted]" && r.status < 300));
  });

  it("gives up after the last suffix", async () => {
    repo.refs.push(
      { name: "refs/heads/ev2/prod/1.4.2-17", objectId: otherCommit },
      { name: "refs/heads/ev2/prod/1.4.2-17-2", objectId: otherCommit },
    );

    await assert.rejects(
      createTrackingBranch(options({ maxNames: 2 })),
      /Branches 'ev2\/prod\/1.4.2-17' to 'ev2\/prod\/1.4.2-17-2' in repository 'orders-service' all exist at other commits/,
    );
  });

  it("stops when cancelled", async () => {
    const controller = new AbortController();
    ado.state.faults.push({ pathIncludes: "/refs", method: "GET", delayMs: 2_000, times: 1 });
    setTimeout(() => controller.abort(), 50);

    const started = Date.now();
    await assert.rejects(
      createTrackingBranch(options({ signal: controller.signal })),
      (err: unknown) => err instanceof AbortedError,
    );
    assert.ok(Date.now() - started < 1_500);
  });

  it("tries a write that hung once again: the branch is created once", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", method: "POST", delayMs: 1_000, times: 1 });
    const branch = await createTrackingBranch(options({ requestTimeoutMs: 200 }));
    assert.equal(branch.name, "ev2/prod/1.4.2-17");
    // The hung request may still land after the retry: either way one branch, at the commit.
    await new Promise((r) => setTimeout(r, 1_200));
    assert.deepEqual(
      repo.refs.filter((r) => r.name.startsWith("refs/heads/ev2/")).map((r) => [r.name, r.objectId]),
      [["refs/heads/ev2/prod/1.4.2-17", builtCommit]],
    );
  });

  it("retries a 503 and a 429 with backoff, and not a 400", async () => {
    ado.state.faults.push(
      { pathIncludes: "/refs", method: "GET", status: 503, times: 1 },
      { pathIncludes: "/refs", method: "POST", status: 429, times: 1 },
    );
    const branch = await createTrackingBranch(options());
    assert.equal(branch.created, true);
    ado.state.faults.push({ pathIncludes: "/refs", method: "GET", status: 400, times: 1 });
    await assert.rejects(createTrackingBranch(options({ branchName: "ev2/prod/other" })), /HTTP 400/);
  });

  it("gives up on a request that keeps hanging, saying how long it waited", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", method: "POST", delayMs: 1_000, times: 3 });

    await assert.rejects(createTrackingBranch(options({ requestTimeoutMs: 200 })), (err: unknown) => {
      assert.ok(err instanceof AdoRequestError);
      assert.equal(
        err.message,
        "Azure DevOps did not answer within 0.2 s while creating branch 'ev2/prod/1.4.2-17' in repository 'orders-service'.",
      );
      return true;
    });
  });
});
