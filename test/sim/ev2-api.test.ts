import assert from "node:assert/strict";
import { startSimulator, type Simulator } from "../../sim/ev2";
import { call, freshKey, getRollout, GROUP, SECOND, SERVICE_PATH, startBody, startRollout } from "./ev2-http";

describe("EV2 simulator: the REST contract", () => {
  let sim: Simulator;

  beforeEach(async () => {
    sim = await startSimulator({ scenario: "small", clockSpeed: 0, forbiddenTokens: ["read-only-token"] });
  });
  afterEach(() => sim.close());

  describe("version lists", () => {
    it("lists artifact versions newest first, with the deprecated newest one first", async () => {
      const answer = await call(sim, "GET", `${SERVICE_PATH}/artifactVersions`);
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get("content-type") ?? "", /^application\/json; charset=utf-8/);
      assert.deepEqual(
        answer.body.artifacts.map(
          (a: { versionNumber: string; status: string }) => `${a.versionNumber}:${a.status}`,
        ),
        ["1.4.0:Deprecated", "1.3.2:Active", "1.3.1:Active", "1.2.0:Deprecated"],
      );
      assert.equal(answer.body.artifacts[0].registrationDate, "2025-06-10T09:00:00Z");
    });

    it("lists stage map versions newest first", async () => {
      const answer = await call(sim, "GET", `${SERVICE_PATH}/stageMaps/OrdersStageMap/versions`);
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.body.stageMaps.map((v: { version: string; status: string }) => `${v.version}:${v.status}`),
        ["v4:Deprecated", "v3:Active", "v2:Active", "v1:Deprecated"],
      );
    });

    const notFound: [string, string, string][] = [
      ["unknown service", `/serviceGroups/${GROUP}/services/nope/artifactVersions`, "ServiceNotFound"],
      [
        "unknown service group",
        `/serviceGroups/Other.Group/services/orders-api/artifactVersions`,
        "ServiceNotFound",
      ],
      [
        "unknown service (stage maps)",
        `/serviceGroups/${GROUP}/services/nope/stageMaps/OrdersStageMap/versions`,
        "ServiceNotFound",
      ],
      ["unknown stage map", `${SERVICE_PATH}/stageMaps/NoSuchMap/versions`, "StageMapNotFound"],
      ["unknown rollout", `/rollouts/00000000-0000-4000-8000-000000000000`, "RolloutNotFound"],
      [
        "unknown service (list rollouts)",
        `/serviceGroups/${GROUP}/services/nope/rollouts`,
        "ServiceNotFound",
      ],
    ];
    for (const [what, path, code] of notFound) {
      it(`answers 404 ${code} for an ${what}`, async () => {
        const answer = await call(sim, "GET", path);
        assert.equal(answer.status, 404);
        assert.equal(answer.body.error.code, code);
        assert.equal(typeof answer.body.error.message, "string");
      });
    }

    it("decodes URL-encoded path segments", async () => {
      const answer = await call(
        sim,
        "GET",
        `/serviceGroups/Microsoft%2EContoso%2EOrders/services/orders%2Dapi/artifactVersions`,
      );
      assert.equal(answer.status, 200);
    });
  });

  describe("authentication", () => {
    const cases: [string, Record<string, string>, number, string][] = [
      ["no Authorization header", {}, 401, "AuthenticationFailed"],
      ["an unknown token", { authorization: "Bearer wrong" }, 401, "AuthenticationFailed"],
      ["a malformed header", { authorization: "Basic c2ltLXRva2Vu" }, 401, "AuthenticationFailed"],
      ["a forbidden token", { authorization: "Bearer read-only-token" }, 403, "Forbidden"],
    ];
    for (const [what, headers, status, code] of cases) {
      it(`answers ${status} ${code} for ${what}`, async () => {
        const answer = await call(sim, "GET", `${SERVICE_PATH}/artifactVersions`, { auth: false, headers });
        assert.equal(answer.status, status);
        assert.equal(answer.body.error.code, code);
      });
    }

    it("accepts the configured tokens only", async () => {
      const custom = await startSimulator({ scenario: "small", tokens: ["alpha", "beta"] });
      try {
        for (const [token, status] of [
          ["alpha", 200],
          ["beta", 200],
          ["sim-token", 401],
        ] as const) {
          const answer = await call(custom, "GET", `${SERVICE_PATH}/artifactVersions`, {
            auth: false,
            headers: { authorization: `Bearer ${token}` },
          });
          assert.equal(answer.status, status, token);
        }
      } finally {
        await custom.close();
      }
    });
  });

  it("sends x-ms-request-id on every response, errors and 304 included", async () => {
    const ok = await call(sim, "GET", `${SERVICE_PATH}/artifactVersions`);
    const unauthorized = await call(sim, "GET", `${SERVICE_PATH}/artifactVersions`, { auth: false });
    const unknown = await call(sim, "GET", `/nothing/here`);
    const ids = [ok, unauthorized, unknown].map((a) => a.headers.get("x-ms-request-id"));
    for (const id of ids) assert.match(id ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(new Set(ids).size, 3);
    assert.equal(unknown.status, 404);
    const id = await startRollout(sim);
    const first = await call(sim, "GET", `/rollouts/${id}`);
    const notModified = await call(sim, "GET", `/rollouts/${id}`, {
      headers: { "if-none-match": first.headers.get("etag") as string },
    });
    assert.equal(notModified.status, 304);
    assert.match(notModified.headers.get("x-ms-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });

  it("reads a path that starts with // (a connection URL saved with a trailing slash) as one slash", async () => {
    const id = await startRollout(sim);
    const listed = await call(sim, "GET", `//serviceGroups?top=1`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, { serviceGroups: [{ name: GROUP }] });
    const found = await call(sim, "GET", `//rollouts?rolloutId=${id}&tag=ado.releaseId:1&top=1`);
    assert.equal(found.status, 200);
    assert.equal(found.body.rollouts[0].rolloutId, id);
    assert.equal((await call(sim, "GET", `/rollouts//${id}`)).status, 404, "only a leading // is one slash");
  });

  it("answers 405 with Allow for a known path and a wrong method", async () => {
    const answer = await call(sim, "DELETE", `${SERVICE_PATH}/rollouts`);
    assert.equal(answer.status, 405);
    assert.equal(answer.headers.get("allow"), "POST, GET");
  });

  describe("start a rollout", () => {
    it("answers 201 with Location and NotStarted, then the rollout starts after the start delay", async () => {
      const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": freshKey() },
      });
      assert.equal(answer.status, 201);
      assert.match(
        answer.body.rolloutId,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(answer.body.status, "NotStarted");
      assert.equal(answer.body.createdTimestamp, sim.clock.now().toISOString());
      assert.equal(answer.headers.get("location"), `/rollouts/${answer.body.rolloutId}`);
      assert.equal(answer.headers.get("idempotency-replayed"), null);

      const before = await getRollout(sim, answer.body.rolloutId);
      assert.equal(before.status, "NotStarted");
      assert.ok(before.stages.every((s) => s.status === "Pending" && s.startTime === null));
      sim.clock.advance(10 * SECOND);
      const after = await getRollout(sim, answer.body.rolloutId);
      assert.equal(after.status, "InProgress");
      assert.equal(after.currentStage, "Stage1-Canary");
      assert.equal(after.stages[0].status, "InProgress");
    });

    it("returns the full rollout document with the contract's fields", async () => {
      const id = await startRollout(sim, {
        environment: "Prod",
        stageMapVersion: "v2",
        artifactVersionNumber: "1.3.1",
      });
      const rollout = await getRollout(sim, id);
      assert.deepEqual(
        {
          serviceGroupName: rollout.serviceGroupName,
          serviceId: rollout.serviceId,
          environment: rollout.environment,
          artifactVersionNumber: rollout.artifactVersionNumber,
          stageMapName: rollout.stageMapName,
          stageMapVersion: rollout.stageMapVersion,
          dashboardUrl: rollout.dashboardUrl,
          stages: rollout.stages.map((s: { name: string; regions: { name: string }[] }) => [
            s.name,
            s.regions.map((r) => r.name),
          ]),
          waitActions: rollout.waitActions,
          errors: rollout.errors,
        },
        {
          serviceGroupName: GROUP,
          serviceId: "orders-api",
          environment: "Prod",
          artifactVersionNumber: "1.3.1",
          stageMapName: "OrdersStageMap",
          stageMapVersion: "v2",
          dashboardUrl: `https://ev2.example.invalid/rollouts/${id}`,
          stages: [
            ["Stage1-Canary", ["eastus2euap", "centraluseuap"]],
            ["Stage2-Pilot", ["westcentralus", "uksouth"]],
            ["Stage3-Broad", ["eastus", "westeurope"]],
          ],
          waitActions: [],
          errors: [],
        },
      );
      assert.equal(rollout.createdTimestamp, rollout.lastUpdateTime);
    });

    it("replays the same key and body with 200, Idempotency-Replayed and the same rollout", async () => {
      const key = freshKey();
      const first = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
      sim.clock.advance(30 * SECOND);
      // Same JSON with its keys in another order is the same body.
      const reordered = Object.fromEntries(Object.entries(startBody()).reverse());
      const replay = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: reordered,
        headers: { "idempotency-key": key },
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.headers.get("idempotency-replayed"), "true");
      assert.equal(replay.headers.get("location"), `/rollouts/${first.body.rolloutId}`);
      assert.equal(replay.body.rolloutId, first.body.rolloutId);
      assert.equal(replay.body.createdTimestamp, first.body.createdTimestamp);
      assert.equal(replay.body.status, "InProgress");
      assert.equal(sim.rollouts().filter((r) => r.rolloutId === first.body.rolloutId).length, 1);
    });

    it("answers 422 IdempotencyKeyReuse for the same key with a different body", async () => {
      const key = freshKey();
      await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
      const reuse = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody({ artifactVersionNumber: "1.3.1" }),
        headers: { "idempotency-key": key },
      });
      assert.equal(reuse.status, 422);
      assert.equal(reuse.body.error.code, "IdempotencyKeyReuse");
    });

    it("forgets an idempotency key after 24 simulated hours", async () => {
      const key = freshKey();
      const first = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
      sim.clock.advance(25 * 3600 * SECOND);
      const later = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
      assert.equal(later.status, 201);
      assert.notEqual(later.body.rolloutId, first.body.rolloutId);
    });

    const badKeys: [string, Record<string, string>][] = [
      ["missing", {}],
      ["empty", { "idempotency-key": "" }],
      ["with a space", { "idempotency-key": "run 42" }],
      ["129 characters long", { "idempotency-key": "k".repeat(129) }],
    ];
    for (const [what, headers] of badKeys) {
      it(`answers 400 InvalidParameter Idempotency-Key when the key is ${what}`, async () => {
        const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, { body: startBody(), headers });
        assert.equal(answer.status, 400);
        assert.equal(answer.body.error.code, "InvalidParameter");
        assert.equal(answer.body.error.target, "Idempotency-Key");
        assert.equal(sim.rollouts().length, 3, "only the scenario's history");
      });
    }

    it("accepts a 128-character key of every allowed character class", async () => {
      const key = "aZ09._:/-".repeat(15).slice(0, 128);
      const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody(),
        headers: { "idempotency-key": key },
      });
      assert.equal(answer.status, 201);
    });

    const badRequests: [string, Record<string, unknown>, number, string, string | undefined][] = [
      ["an unknown service", { service: "nope" }, 404, "ServiceNotFound", undefined],
      ["an unknown stage map", { stageMapName: "NoSuchMap" }, 404, "StageMapNotFound", undefined],
      [
        "an unknown artifact version",
        { artifactVersionNumber: "9.9.9" },
        404,
        "ArtifactVersionNotFound",
        undefined,
      ],
      ["an unknown stage map version", { stageMapVersion: "v99" }, 404, "StageMapVersionNotFound", undefined],
      ["an unknown environment", { environment: "Staging" }, 400, "InvalidParameter", "environment"],
      [
        "a missing artifact version",
        { artifactVersionNumber: undefined },
        400,
        "InvalidParameter",
        "artifactVersionNumber",
      ],
      ["a non-string environment", { environment: 7 }, 400, "InvalidParameter", "environment"],
      ["tags that are not strings", { tags: { a: 1 } }, 400, "InvalidParameter", "tags"],
      [
        "a malformed selection scope",
        { selectionScope: ["regions(eastus)"] },
        400,
        "InvalidParameter",
        "selectionScope",
      ],
      [
        "a selection scope with a bad name",
        { selectionScope: ["regions(east us).steps(*).stamps(*).actions(*)"] },
        400,
        "InvalidParameter",
        "selectionScope",
      ],
      [
        "a malformed exclusion scope",
        { exclusionScope: ["stamps(*)"] },
        400,
        "InvalidParameter",
        "exclusionScope",
      ],
      [
        "a selection that selects no region",
        { selectionScope: ["regions(mars).steps(*).stamps(*).actions(*)"] },
        400,
        "InvalidParameter",
        "selectionScope",
      ],
    ];
    for (const [what, overrides, status, code, target] of badRequests) {
      it(`answers ${status} ${code}${target ? ` (${target})` : ""} for ${what}, creating nothing`, async () => {
        const { service, ...rest } = overrides;
        const path = service
          ? `/serviceGroups/${GROUP}/services/${service}/rollouts`
          : `${SERVICE_PATH}/rollouts`;
        const answer = await call(sim, "POST", path, {
          body: startBody(rest),
          headers: { "idempotency-key": freshKey() },
        });
        assert.equal(answer.status, status, answer.text);
        assert.equal(answer.body.error.code, code);
        assert.equal(answer.body.error.target, target ?? answer.body.error.target);
        assert.equal(sim.rollouts().length, 3);
      });
    }

    it("answers 400 InvalidParameter body for a body that is not JSON", async () => {
      const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: "{not json",
        headers: { "idempotency-key": freshKey() },
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error.target, "body");
    });

    it("answers 409 ConcurrentRollout with the active rollout's id until that rollout ends", async () => {
      const active = await startRollout(sim);
      const again = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
        body: startBody({ artifactVersionNumber: "1.3.1" }),
        headers: { "idempotency-key": freshKey() },
      });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, "ConcurrentRollout");
      assert.equal(again.body.error.details.activeRolloutId, active);

      // Another environment is not concurrent.
      await startRollout(sim, { environment: "Prod" });

      sim.clock.advance(3600 * SECOND);
      assert.equal((await getRollout(sim, active)).status, "Completed");
      await startRollout(sim, { artifactVersionNumber: "1.3.1" });
    });

    it("skips regions left out by the scopes", async () => {
      const id = await startRollout(sim, {
        selectionScope: ["regions(eastus2euap,westcentralus,uksouth,eastus).steps(*).stamps(*).actions(*)"],
        exclusionScope: [
          "regions(uksouth).steps(*).stamps(*).actions(*)",
          "regions(eastus).steps(web).stamps(*).actions(*)",
        ],
      });
      sim.clock.advance(3600 * SECOND);
      const rollout = await getRollout(sim, id);
      assert.equal(rollout.status, "Completed");
      const regionStatus = rollout.stages.flatMap((s: { regions: { name: string; status: string }[] }) =>
        s.regions.map((r) => `${r.name}:${r.status}`),
      );
      assert.deepEqual(regionStatus, [
        "eastus2euap:Completed",
        "centraluseuap:Skipped",
        "westcentralus:Completed",
        "uksouth:Skipped",
        "eastus:Completed",
        "westeurope:Skipped",
      ]);
    });
  });

  describe("list rollouts", () => {
    it("lists the service's rollouts newest first, history included", async () => {
      const id = await startRollout(sim);
      const answer = await call(sim, "GET", `${SERVICE_PATH}/rollouts`);
      assert.equal(answer.status, 200);
      assert.deepEqual(
        answer.body.rollouts.map((r: { rolloutId: string }) => r.rolloutId),
        [
          id,
          "33333333-3333-4333-8333-333333333333",
          "22222222-2222-4222-8222-222222222222",
          "11111111-1111-4111-8111-111111111111",
        ],
      );
      assert.deepEqual(Object.keys(answer.body.rollouts[0]).sort(), [
        "artifactVersionNumber",
        "createdTimestamp",
        "environment",
        "rolloutId",
        "stageMapName",
        "stageMapVersion",
        "status",
        "tags",
      ]);
    });

    it("filters by status (repeatable, any of) and tag (repeatable, all of)", async () => {
      const id = await startRollout(sim, { tags: { "ado.runUrl": "run-7", team: "orders" } });
      const ids = async (query: string) =>
        (await call(sim, "GET", `${SERVICE_PATH}/rollouts?${query}`)).body.rollouts.map(
          (r: { rolloutId: string }) => r.rolloutId,
        );
      assert.deepEqual(await ids("status=Completed"), [
        "22222222-2222-4222-8222-222222222222",
        "11111111-1111-4111-8111-111111111111",
      ]);
      assert.deepEqual(await ids("status=Failed&status=NotStarted"), [
        id,
        "33333333-3333-4333-8333-333333333333",
      ]);
      assert.deepEqual(await ids("tag=team:orders"), [id]);
      assert.deepEqual(await ids(`tag=${encodeURIComponent("ado.runUrl:run-7")}&tag=team:orders`), [id]);
      assert.deepEqual(await ids("tag=team:orders&tag=team:other"), []);
      assert.deepEqual(
        await ids(
          `tag=${encodeURIComponent("ado.runUrl:https://dev.azure.com/contoso/orders/_build/results?buildId=102")}`,
        ),
        ["22222222-2222-4222-8222-222222222222"],
      );
    });

    it("answers 400 for an unknown status or a tag filter without a colon", async () => {
      const badStatus = await call(sim, "GET", `${SERVICE_PATH}/rollouts?status=Done`);
      assert.equal(badStatus.status, 400);
      assert.equal(badStatus.body.error.target, "status");
      const badTag = await call(sim, "GET", `${SERVICE_PATH}/rollouts?tag=team`);
      assert.equal(badTag.status, 400);
      assert.equal(badTag.body.error.target, "tag");
    });
  });

  describe("get a rollout: ETag", () => {
    it("answers 304 with no body while nothing changed, and 200 with a new ETag once it has", async () => {
      const id = await startRollout(sim);
      const first = await call(sim, "GET", `/rollouts/${id}`);
      const etag = first.headers.get("etag") as string;
      assert.match(etag, /^"[^"]+"$/);
      sim.clock.advance(5 * SECOND); // still inside the start delay: nothing changes
      const same = await call(sim, "GET", `/rollouts/${id}`, { headers: { "if-none-match": etag } });
      assert.equal(same.status, 304);
      assert.equal(same.text, "");
      assert.equal(same.headers.get("etag"), etag);
      assert.equal(
        (await call(sim, "GET", `/rollouts/${id}`, { headers: { "if-none-match": `W/${etag}` } })).status,
        304,
        "a weak comparison matches too",
      );
      sim.clock.advance(10 * SECOND);
      const changed = await call(sim, "GET", `/rollouts/${id}`, { headers: { "if-none-match": etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get("etag"), etag);
      assert.equal(changed.body.status, "InProgress");
      const other = await call(sim, "GET", `/rollouts/${id}`, {
        headers: { "if-none-match": '"something-else"' },
      });
      assert.equal(other.status, 200);
    });
  });

  describe("decisions, cancel and restart: request errors", () => {
    it("answers 404 RolloutNotFound for decision, cancel and restart of an unknown rollout", async () => {
      const unknown = "/rollouts/00000000-0000-4000-8000-000000000000";
      for (const [path, body] of [
        [`${unknown}/waitActions/wait-1/decision`, { decision: "Approve" }],
        [`${unknown}/cancel`, { reason: "x" }],
        [`${unknown}/restart`, { scope: "FailedOnly" }],
      ] as const) {
        const answer = await call(sim, "POST", path, { body });
        assert.equal(answer.status, 404, path);
        assert.equal(answer.body.error.code, "RolloutNotFound");
      }
    });

    it("answers 404 WaitActionNotFound for an action the rollout has not reached", async () => {
      const id = await startRollout(sim);
      const answer = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Approve" },
      });
      assert.equal(answer.status, 404);
      assert.equal(answer.body.error.code, "WaitActionNotFound");
    });

    it("answers 400 InvalidParameter decision for a decision that is not Approve or Reject", async () => {
      const id = await startRollout(sim);
      const answer = await call(sim, "POST", `/rollouts/${id}/waitActions/wait-1/decision`, {
        body: { decision: "Maybe" },
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error.target, "decision");
    });

    it("answers 409 RolloutNotRestartable for a rollout that has not failed", async () => {
      const id = await startRollout(sim);
      const answer = await call(sim, "POST", `/rollouts/${id}/restart`, { body: { scope: "FailedOnly" } });
      assert.equal(answer.status, 409);
      assert.equal(answer.body.error.code, "RolloutNotRestartable");
      assert.equal(answer.body.error.details.status, "NotStarted");
    });

    it("answers 400 InvalidParameter scope for a restart scope other than FailedOnly", async () => {
      const answer = await call(sim, "POST", `/rollouts/33333333-3333-4333-8333-333333333333/restart`, {
        body: { scope: "All" },
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error.target, "scope");
    });

    it("answers 409 RolloutAlreadyTerminal with the status for a finished rollout", async () => {
      for (const [id, status] of [
        ["11111111-1111-4111-8111-111111111111", "Completed"],
        ["33333333-3333-4333-8333-333333333333", "Failed"],
      ]) {
        const answer = await call(sim, "POST", `/rollouts/${id}/cancel`, { body: { reason: "too late" } });
        assert.equal(answer.status, 409);
        assert.equal(answer.body.error.code, "RolloutAlreadyTerminal");
        assert.equal(answer.body.error.details.status, status);
      }
    });
  });
});
