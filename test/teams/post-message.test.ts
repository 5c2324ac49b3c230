import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { RetryNotice } from "../../shared/http/request";
import { closeHttpConnections } from "../../shared/http/request";
import { AbortedError, type RetryPolicy } from "../../shared/http/retry";
import { buildNotificationCard } from "../../shared/teams/notification-card";
import { notifyTeams } from "../../shared/teams/notify";
import { postTeamsMessage, type TeamsDelivery } from "../../shared/teams/post-message";
import { buildTeamsMessage } from "../../shared/teams/teams-message";
import { directNetwork, useNetwork } from "../../shared/http/transport";
import { startTeamsSink, teamsSinkCaFile, type TeamsSink } from "../../sim/teams-sink";
import { assertValidTeamsMessage } from "./adaptive-card-validator";
import { failedRollout, makeRollout, t0 } from "./rollout-fixtures";

// Short backoff so the tests wait on Retry-After, not on jitter.
const quickRetry: RetryPolicy = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 50, maxTotalWaitMs: 5000 };
const message = buildTeamsMessage(
  buildNotificationCard({ kind: "completed", rollout: makeRollout({ completed: 4 }), now: t0 }),
);

/** The webhook URL, its secret signature or its path must never reach a message. */
function assertNoSecret(delivery: TeamsDelivery, sink: TeamsSink): void {
  const url = new URL(sink.url);
  for (const secret of [sink.url, url.searchParams.get("sig")!, url.pathname, url.host]) {
    assert.ok(
      !(delivery.error ?? "").includes(secret),
      `the error shows part of the webhook URL: ${delivery.error}`,
    );
  }
}

describe("postTeamsMessage (against the Teams webhook sink)", function () {
  this.timeout(15_000);
  let sink: TeamsSink;

  // The sink's CA trusted as a task trusts the agent's CA bundle (Agent.CAInfo).
  const trustingTheSink = () => ({
    proxies: {},
    tls: { extraCa: readFileSync(teamsSinkCaFile(), "utf8"), rejectUnauthorized: true },
  });
  before(() => useNetwork(trustingTheSink()));
  afterEach(async () => {
    await sink?.close();
  });
  after(() => {
    closeHttpConnections();
    useNetwork(directNetwork);
  });

  it("refuses the sink's certificate without its CA", async () => {
    useNetwork(directNetwork);
    try {
      sink = await startTeamsSink();
      const delivery = await postTeamsMessage(sink.url, message, { retry: quickRetry });
      assert.equal(delivery.delivered, false);
      assert.match(delivery.error ?? "", /certificate/);
      assert.equal(sink.received.length, 0);
    } finally {
      useNetwork(trustingTheSink());
    }
  });

  it("delivers on 202 and posts the envelope as JSON", async () => {
    sink = await startTeamsSink();
    const delivery = await postTeamsMessage(sink.url, message, { retry: quickRetry });
    assert.deepEqual(delivery, { delivered: true, status: 202, attempts: 1 });
    assert.equal(sink.received.length, 1);
    assert.deepEqual(sink.received[0].body, message);
    assert.match(sink.received[0].headers["content-type"], /^application\/json/);
    assertValidTeamsMessage(sink.received[0].body);
  });

  it("delivers on 200", async () => {
    sink = await startTeamsSink({ responses: [200] });
    assert.deepEqual(await postTeamsMessage(sink.url, message), {
      delivered: true,
      status: 200,
      attempts: 1,
    });
  });

  it("retries 500 and 429, waits the Retry-After, then delivers", async () => {
    sink = await startTeamsSink({ responses: [500, 429], retryAfter: 1 });
    const notices: RetryNotice[] = [];
    const delivery = await postTeamsMessage(sink.url, message, {
      retry: quickRetry,
      onRetry: (n) => notices.push(n),
    });
    assert.deepEqual(delivery, { delivered: true, status: 202, attempts: 3 });
    assert.deepEqual(
      sink.received.map((r) => r.status),
      [500, 429, 202],
    );
    const gap = sink.received[2].at - sink.received[1].at;
    assert.ok(gap >= 950, `waited ${gap} ms after the 429, Retry-After asked for 1 s`);
    assert.deepEqual(
      notices.map((n) => [n.reason, n.retryAfterHonoured]),
      [
        ["HTTP 500", false],
        ["HTTP 429", true],
      ],
    );
    assert.equal(notices[1].delayMs, 1000);
    assert.ok(
      !notices.some((n) => JSON.stringify(n).includes(sink.url)),
      "a retry notice shows the webhook URL",
    );
  });

  it("gives up on a webhook that keeps failing, without throwing", async () => {
    sink = await startTeamsSink({ responses: [500, 500, 500, 500, 500] });
    const delivery = await postTeamsMessage(sink.url, message, { retry: quickRetry });
    assert.equal(delivery.delivered, false);
    assert.equal(delivery.status, 500);
    assert.equal(delivery.attempts, 4);
    assert.equal(sink.received.length, 4);
    assert.match(
      delivery.error ?? "",
      /^The Teams webhook still answered HTTP 500 after 4 attempts\. It said: InternalServerError: /,
    );
    assertNoSecret(delivery, sink);
  });

  const final: Array<[number, RegExp]> = [
    [400, /^The Teams webhook rejected the message \(HTTP 400\)\. Check that the Workflows flow/],
    [
      401,
      /^The Teams webhook refused the request \(HTTP 401\): the URL may be incomplete or its signature revoked/,
    ],
    [403, /^The Teams webhook refused the request \(HTTP 403\)/],
    [
      404,
      /^The Teams webhook was not found \(HTTP 404\): the Workflows flow may have been deleted or turned off/,
    ],
    [413, /^The Teams webhook refused the message as too large \(HTTP 413\)/],
    [204, /^The Teams webhook answered HTTP 204, not 200 or 202/],
  ];
  for (const [status, expected] of final) {
    it(`does not retry HTTP ${status} and says what it means`, async () => {
      sink = await startTeamsSink({ responses: [status] });
      const delivery = await postTeamsMessage(sink.url, message, { retry: quickRetry });
      assert.equal(delivery.delivered, false);
      assert.equal(delivery.status, status);
      assert.equal(delivery.attempts, 1);
      assert.equal(sink.received.length, 1, "exactly one request");
      assert.match(delivery.error ?? "", expected);
      assertNoSecret(delivery, sink);
    });
  }

  it("answers 404 to a path that is not the webhook's", async () => {
    sink = await startTeamsSink();
    const wrong = sink.url.replace("/paths/invoke", "/paths/other");
    const delivery = await postTeamsMessage(wrong, message, { retry: quickRetry });
    assert.equal(delivery.status, 404);
    assert.equal(sink.received.length, 0);
    assert.ok(!(delivery.error ?? "").includes(new URL(wrong).searchParams.get("sig")!));
  });

  it("reports an unreachable webhook without throwing or showing the URL", async () => {
    sink = await startTeamsSink();
    const url = sink.url;
    await sink.close();
    const delivery = await postTeamsMessage(url, message, { retry: { ...quickRetry, maxAttempts: 2 } });
    assert.equal(delivery.delivered, false);
    assert.equal(delivery.status, undefined);
    assert.equal(delivery.attempts, 2);
    assert.match(
      delivery.error ?? "",
      /^Could not reach the Teams webhook: connection refused \(2 attempts\)\.$/,
    );
    assertNoSecret(delivery, sink);
  });

  it("keeps the URL out of the message when the webhook quotes it back", async () => {
    sink = await startTeamsSink({ responses: [400] });
    const delivery = await postTeamsMessage(sink.url, message, { retry: quickRetry });
    // The sink's answer is "The sink answered 400 to POST <the webhook URL>".
    assert.match(
      delivery.error ?? "",
      /It said: InvalidRequestContent: The sink answered 400 to POST <the Teams webhook>\.$/,
    );
    assertNoSecret(delivery, sink);
  });

  it("throws when aborted, even between retries", async () => {
    sink = await startTeamsSink({ responses: [429], retryAfter: 5 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await assert.rejects(
      postTeamsMessage(sink.url, message, { retry: quickRetry, signal: controller.signal }),
      AbortedError,
    );
    assert.ok(Date.now() - started < 2000, "the abort did not wait out the Retry-After");
  });

  it("notifyTeams resolves auto, posts the card and reports what it sent", async () => {
    sink = await startTeamsSink({ responses: [503], retryAfter: 0 });
    const result = await notifyTeams(
      sink.url,
      { kind: "auto", rollout: failedRollout(), now: t0 },
      { retry: quickRetry },
    );
    assert.equal(result.kind, "failed");
    assert.equal(result.delivered, true);
    assert.equal(result.attempts, 2);
    assert.equal(result.bytes, Buffer.byteLength(JSON.stringify(sink.received[1].body)));
    assert.deepEqual(result.message, sink.received[1].body, "the message reported is the one posted");
    assertValidTeamsMessage(sink.received[1].body);
  });
});
