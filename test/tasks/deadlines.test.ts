/**
 * Deadlines are deadlines, and an EV2 that never answered is an error: the built tasks against
 * an EV2 that answers once and then hangs (a request is accepted and never answered), and
 * against a URL where nothing listens. Times are asserted against the step's own deadline with a
 * wide margin, never as absolute latencies.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Simulator } from "../../sim/ev2";
import { startRawEv2, type RawEv2 } from "../support/raw-ev2";
import { recordArtifacts, runBuiltTask } from "../support/run-built-task";
import { ev2Setup, rolloutIdentity } from "./ev2-fixture";

/** A rollout in progress with no wait action yet, valid by the contract. */
const inProgress = {
  rolloutId: "r-hung",
  ...rolloutIdentity,
  status: "InProgress",
  currentStage: "Stage1-Canary",
  stages: [
    {
      name: "Stage1-Canary",
      status: "InProgress",
      startTime: "2026-01-01T00:00:00Z",
      endTime: null,
      regions: [
        { name: "eastus2euap", status: "InProgress", startTime: "2026-01-01T00:00:00Z", endTime: null },
      ],
    },
  ],
  waitActions: [],
  errors: [],
  createdTimestamp: "2026-01-01T00:00:00Z",
  lastUpdateTime: "2026-01-01T00:00:00Z",
};

/** Answers the first GET of the rollout, then accepts every request and never answers it. */
const hangingEv2 = () =>
  startRawEv2((n, _req, res) => {
    if (n === 1) {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", etag: '"1"' });
      res.end(JSON.stringify(inProgress));
    }
    // Later requests: headers never come.
  });

/** A loopback port where nothing listens (connection refused). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((ok) => server.close(() => ok()));
  return `http://127.0.0.1:${port}`;
}

const asSim = (url: string) => ({ url }) as Simulator;
/** 0.1 minutes: the shortest deadline worth testing, far below one attempt's 30 s timeout. */
const deadlineMs = 6_000;
/** The issue's promise: the task ends within 10 s of its deadline. */
const slackMs = 10_000;

describe("deadlines and an EV2 that never answered (built tasks)", function () {
  this.timeout(90_000);
  let ev2: RawEv2 | undefined;
  afterEach(async () => {
    await ev2?.close();
    ev2 = undefined;
  });

  it("FollowRollout: timeoutMinutes cuts a call EV2 never answers; the step ends near its deadline with its record", async () => {
    ev2 = await hangingEv2();
    const started = Date.now();
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(asSim(ev2.url), { rolloutId: "r-hung", timeoutMinutes: "0.1" }),
    );
    const took = Date.now() - started;
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /Stopped following after 6s \(timeoutMinutes\): rollout r-hung is still InProgress/,
    );
    assert.ok(ev2.requests() >= 2, "a second poll was in flight when the deadline came");
    assert.ok(took >= deadlineMs - 1000, `ended after ${took} ms, before its deadline`);
    assert.ok(took <= deadlineMs + slackMs, `ended ${took - deadlineMs} ms after its deadline`);
    assert.equal(recordArtifacts(run).length, 1, "the record is published");
    assert.equal(run.outputs.rolloutStatus, "InProgress");
  });

  it("GateApproval: waitTimeoutMinutes cuts a call EV2 never answers; the step ends near its deadline with its record", async () => {
    ev2 = await hangingEv2();
    const started = Date.now();
    const run = await runBuiltTask(
      "GateApproval",
      ev2Setup(asSim(ev2.url), { rolloutId: "r-hung", decision: "approve", waitTimeoutMinutes: "0.1" }),
    );
    const took = Date.now() - started;
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(run.result!.message, /WaitActionTimeout: the rollout did not reach a wait action within 6s/);
    assert.ok(ev2.requests() >= 2, "a second look was in flight when the deadline came");
    assert.ok(took >= deadlineMs - 1000, `ended after ${took} ms, before its deadline`);
    assert.ok(took <= deadlineMs + slackMs, `ended ${took - deadlineMs} ms after its deadline`);
    assert.equal(recordArtifacts(run).length, 1, "the record is published");
  });

  it("FollowRollout: an EV2 that never answered fails after the first call's retries, naming the URL and what to check", async () => {
    const url = await closedPortUrl();
    // A minute to spare: following it "until the timeout" would end with the timeout's message.
    const run = await runBuiltTask(
      "FollowRollout",
      ev2Setup(asSim(url), { rolloutId: "r-1", timeoutMinutes: "1" }),
    );
    assert.equal(run.result?.result, "Failed", run.stdout);
    const message = run.result!.message;
    assert.ok(message.includes(`EV2 at ${url} has not given one usable answer: connection refused`), message);
    assert.match(message, /after 6 attempt\(s\)/);
    assert.match(message, /service connection's URL .*proxy .*DNS/);
    assert.doesNotMatch(message, /Stopped following/);
    assert.equal(recordArtifacts(run).length, 1, "the record is published");
  });

  it("GateApproval (and every other step): an EV2 that cannot be reached names the URL and what to check", async () => {
    const url = await closedPortUrl();
    const run = await runBuiltTask(
      "GateApproval",
      ev2Setup(asSim(url), { rolloutId: "r-1", decision: "approve", waitTimeoutMinutes: "1" }),
    );
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /connection refused after 6 attempt\(s\) to reach http:\/\/127\.0\.0\.1:\d+\. Check the service connection's URL .*proxy .*DNS/,
    );
  });
});
