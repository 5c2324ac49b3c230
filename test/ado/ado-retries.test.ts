import assert from "node:assert/strict";
import { connectToAdo, httpStatusOf, withAdoRetries } from "../../shared/ado/connection";
import type { AttemptRetry } from "../../shared/http/retry";
import type { AdoServer } from "../../sim/ado/server";
import { addProject, addRepository } from "../../sim/ado/state";
import { apiCalls, jobToken, otherCommit, projectName, startSeededAdo } from "./ado-fixture";

describe("Azure DevOps calls through the shared retry loop (fake Azure DevOps over HTTP)", () => {
  let ado: AdoServer;
  const arrivals: number[] = [];

  beforeEach(async () => {
    ado = await startSeededAdo((state) => {
      addRepository(addProject(state, projectName), "orders-service", {
        refs: [{ name: "refs/heads/main", objectId: otherCommit }],
      });
    });
    arrivals.length = 0;
    ado.onRequest = (request) => {
      if (request.path.endsWith("/refs")) arrivals.push(Date.now());
    };
  });
  afterEach(() => ado.close());

  async function readMain(maxRetries: number, retries: AttemptRetry[]) {
    const git = await (await connectToAdo({ collectionUrl: ado.url, token: jobToken })).getGitApi();
    return withAdoRetries({ maxRetries, onRetry: (r) => retries.push(r) }, () =>
      git.getRefs("orders-service", projectName, "heads/main"),
    );
  }
  const refReads = () => apiCalls(ado).filter((r) => r.path.endsWith("/refs"));

  it("waits the answer's Retry-After before trying again, not the backoff", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", status: 429, retryAfter: "1", times: 1 });
    const retries: AttemptRetry[] = [];

    const refs = await readMain(2, retries);

    assert.deepEqual(
      refs.map((r) => r.objectId),
      [otherCommit],
    );
    assert.deepEqual(
      refReads().map((r) => r.status),
      [429, 200],
    );
    assert.deepEqual(retries, [
      { attempt: 1, maxAttempts: 3, delayMs: 1000, reason: "HTTP 429", retryAfterHonoured: true },
    ]);
    // The backoff after a first attempt is under 500 ms: only the Retry-After explains this gap
    // (a lower bound, which a busy machine only makes longer; 10 ms for timer rounding).
    assert.ok(arrivals[1]! - arrivals[0]! >= 990, `retried after ${arrivals[1]! - arrivals[0]!} ms`);
  });

  it("gives up at once when the Retry-After is beyond the 30 s the call may wait", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", status: 503, retryAfter: "120", times: 1 });
    const retries: AttemptRetry[] = [];

    await assert.rejects(readMain(2, retries), (err: unknown) => httpStatusOf(err) === 503);

    assert.equal(refReads().length, 1);
    assert.deepEqual(retries, []);
  });

  it("backs off (full jitter under 500 ms) when the answer has no Retry-After", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", status: 503, times: 1 });
    const retries: AttemptRetry[] = [];

    await readMain(1, retries);

    assert.equal(retries.length, 1);
    assert.equal(retries[0]!.retryAfterHonoured, false);
    assert.ok(retries[0]!.delayMs < 500, `backoff ${retries[0]!.delayMs} ms`);
  });

  it("does not retry what cannot pass (HTTP 403)", async () => {
    ado.state.faults.push({ pathIncludes: "/refs", status: 403, retryAfter: "1", times: 1 });
    const retries: AttemptRetry[] = [];

    await assert.rejects(readMain(2, retries), (err: unknown) => httpStatusOf(err) === 403);

    assert.equal(refReads().length, 1);
  });
});
