import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { staticToken } from "../../shared/ev2/auth";
import { Ev2Client } from "../../shared/ev2/client";
import type { AdaptiveCard, Container } from "../../shared/teams/adaptive-card";
import type { Simulator } from "../../sim/ev2";
import { startTeamsSink, type TeamsSink } from "../../sim/teams-sink";
import { runBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import { assertValidTeamsMessage } from "../teams/adaptive-card-validator";
import { cardText } from "../teams/card-text-of";
import { oneToHundredMs, stressResultDocument } from "../teams/stress-result-fixture";
import { ev2Setup, simulator, TOKEN } from "./ev2-fixture";

const completedRollout = "11111111-1111-4111-8111-111111111111";
const failedRollout = "33333333-3333-4333-8333-333333333333";
const runUrl = "https://dev.azure.com/contoso/Orders/_build/results?buildId=4711";

async function startRollout(sim: Simulator, stageMapVersion = "v3"): Promise<string> {
  const client = new Ev2Client({ baseUrl: sim.url, getToken: staticToken(TOKEN) });
  const started = await client.startRollout(
    "Microsoft.Contoso.Orders",
    "orders-api",
    {
      stageMapName: "OrdersStageMap",
      stageMapVersion,
      artifactVersionNumber: "1.3.2",
      environment: "PPE",
      selectionScope: [],
      exclusionScope: [],
      tags: {},
    },
    "teams-notify-test",
  );
  return started.rolloutId;
}

/** The card of the n-th message the sink received. */
function cardOf(sink: TeamsSink, n = 0): AdaptiveCard {
  return (sink.received[n].body as { attachments: [{ content: AdaptiveCard }] }).attachments[0].content;
}

function recordOf(run: TaskRun): { result: string; details: Record<string, unknown> } {
  const file = run.artifacts.find((a) => !a.path.endsWith("-card.json"));
  assert.ok(file, "the record is published");
  return JSON.parse(readFileSync(file.path, "utf8"));
}

function keptCard(run: TaskRun): string | undefined {
  return run.artifacts.find((a) => a.name === "ev2-records" && a.path.endsWith("-card.json"))?.path;
}

/**
 * The webhook URL is a credential: neither it, its sig, nor its URL-encoded or base64 forms
 * may reach the log, the record, the summary or the kept card. It must be registered as a secret.
 */
function assertWebhookHidden(run: TaskRun, webhookUrl: string): void {
  const url = new URL(webhookUrl);
  const forms = [
    webhookUrl,
    url.searchParams.get("sig")!,
    url.pathname,
    encodeURIComponent(webhookUrl),
    Buffer.from(webhookUrl).toString("base64"),
    Buffer.from(webhookUrl).toString("base64url"),
  ];
  const files = [...run.artifacts.map((a) => a.path), ...run.summaries];
  for (const [where, text] of [
    ["the log", run.visibleText],
    ...files.map((f) => [basename(f), readFileSync(f, "utf8")]),
  ]) {
    for (const form of forms) assert.ok(!text.includes(form), `${where} shows the webhook URL (${form})`);
  }
  assert.ok(run.secrets.includes(webhookUrl), "the webhook URL is registered as a secret");
}

describe("TeamsNotify (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator | undefined;
  let sink: TeamsSink | undefined;
  afterEach(async () => {
    await sink?.close();
    await sim?.close();
    sink = undefined;
    sim = undefined;
  });

  const rolloutGets = () =>
    sim!.requests.filter((r) => r.method === "GET" && r.path.startsWith("/rollouts/"));

  /** Runs the task against the simulator and the sink; every run must keep the webhook URL hidden. */
  async function notify(inputs: TaskRunSetup["inputs"], more: Partial<TaskRunSetup> = {}): Promise<TaskRun> {
    const run = await runBuiltTask("TeamsNotify", ev2Setup(sim!, { webhookUrl: sink!.url, ...inputs }, more));
    assertWebhookHidden(run, sink!.url);
    return run;
  }

  for (const [kind, simulatedSeconds] of [
    ["stageCompleted", 3000],
    ["completed", 7000],
  ] as const) {
    it(`auto on a 50-stage, 1000-region rollout posts a valid ${kind} card under 28 KB after one GET`, async () => {
      sim = await simulator("large-50x20", 0);
      sink = await startTeamsSink();
      const rolloutId = await startRollout(sim, "v1");
      sim.clock.advance(simulatedSeconds * 1000);
      const before = rolloutGets().length;
      const run = await notify({ rolloutId });

      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.equal(run.result?.message, `Teams accepted the ${kind} card (HTTP 202).`);
      assert.equal(run.outputs.delivered, "true");
      assert.equal(rolloutGets().length - before, 1, "one GET of the rollout");
      assert.equal(sink.received.length, 1);
      const message = sink.received[0].body;
      assertValidTeamsMessage(message);
      assert.ok(Buffer.byteLength(JSON.stringify(message)) < 28 * 1024);
      assert.match(sink.received[0].headers["content-type"], /^application\/json/);

      const text = cardText(cardOf(sink));
      for (const expected of [
        "Service group: Microsoft.Contoso.Orders",
        "Environment: PPE",
        `Rollout: ${rolloutId}`,
        "Artifact version: 1.3.2",
        "Stages (50)",
        `[Open the pipeline run](${runUrl})`,
      ]) {
        assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
      }
      assert.match(text, /Regions: \d+ of 1000 deployed · \d+ pending/);
      assert.match(text, kind === "completed" ? /Duration: 1h \d+m/ : /Running for: /);
      assert.match(
        run.stdout,
        new RegExp(`Posting a ${kind} card \\(chosen by auto\\) about rollout ${rolloutId}, which is`),
      );
      const record = recordOf(run);
      assert.equal(record.result, "Succeeded");
      assert.equal(record.details.delivered, true);
      assert.equal(record.details.kind, kind);
      assert.equal(keptCard(run), undefined, "a delivered card is not kept");
      assert.match(readFileSync(run.summaries[0], "utf8"), /### Teams notification: delivered/);
    });
  }

  it("auto on a failed rollout posts the failed card with the failing stage, error and remediation", async () => {
    sim = await simulator("failing-region");
    sink = await startTeamsSink();
    const run = await notify({ rolloutId: failedRollout });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    const card = cardOf(sink);
    assertValidTeamsMessage(sink.received[0].body);
    assert.equal((card.body[0] as Container).style, "attention");
    const text = cardText(card);
    for (const expected of [
      "❌ Rollout failed at Stage2-Pilot",
      "Failed stage: Stage2-Pilot",
      "Region: uksouth",
      "Error code: ServiceHealthCheckFailed",
      "Artifact version: 1.4.0",
      "**What to do:** The deployed service failed its health checks",
    ]) {
      assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
    }
  });

  it("waitingForApproval links to the run and to where the approval is given", async () => {
    sim = await simulator("gated", 0);
    sink = await startTeamsSink();
    const rolloutId = await startRollout(sim);
    sim.clock.advance(800_000);
    const run = await notify({ rolloutId, notification: "waitingForApproval" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    const text = cardText(cardOf(sink));
    assert.match(text, /Waiting for approval before Stage3-Broad/);
    assert.match(text, /Wait action: wait-1 \(ManualApproval\)/);
    assert.ok(text.includes(`[Review the approval](${runUrl}&view=results)`), text);
    assert.ok(text.includes(`[Open the pipeline run](${runUrl})`), text);
  });

  it("retries 500 and 429 (waiting the Retry-After), then delivers", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink({ responses: [500, 429], retryAfter: 1 });
    const run = await notify({ rolloutId: completedRollout, notification: "completed" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.result?.message, "Teams accepted the completed card (HTTP 202 after 3 attempts).");
    assert.equal(run.outputs.delivered, "true");
    assert.deepEqual(
      sink.received.map((r) => r.status),
      [500, 429, 202],
    );
    const gap = sink.received[2].at - sink.received[1].at;
    assert.ok(gap >= 950, `waited ${gap} ms after the 429; Retry-After asked for 1 s`);
    assert.equal(run.warnings.length, 2, run.warnings.join("\n"));
    assert.match(run.warnings[0], /^post to the Teams webhook: HTTP 500; retrying in/);
    assert.match(run.warnings[1], /^post to the Teams webhook: HTTP 429; retrying in 1s as Retry-After asks/);
    for (const received of sink.received) assert.deepEqual(received.body, sink.received[0].body);
  });

  it("a webhook that keeps failing: warning, card kept as an artifact, SucceededWithIssues", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink({ responses: [500, 500, 500, 500, 500] });
    const run = await notify({ rolloutId: completedRollout });
    assert.equal(run.result?.result, "SucceededWithIssues", run.stdout);
    assert.equal(run.exitCode, 0, "the pipeline goes on");
    assert.equal(run.outputs.delivered, "false");
    assert.equal(sink.received.length, 4, "the Teams policy's four attempts");
    const file = keptCard(run);
    assert.ok(file, "the card is uploaded with the record");
    assert.match(
      run.result!.message,
      new RegExp(
        `^The completed card was not delivered: The Teams webhook still answered HTTP 500 after 4 attempts\\..* The card is kept in the ev2-records artifact as ${basename(file).replace(/\./g, "\\.")}\\. The pipeline goes on \\(failOnError is false\\)\\.$`,
      ),
    );
    assert.deepEqual(
      run.warnings.slice(-1),
      [run.result!.message],
      "the agent shows the result as a warning",
    );
    const kept: unknown = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(kept, sink.received[0].body, "the card kept is the one that was posted");
    assertValidTeamsMessage(kept);
    const record = recordOf(run);
    assert.equal(record.result, "SucceededWithIssues");
    assert.equal(record.details.cardFile, basename(file));
    assert.equal(record.details.status, 500);
    assert.match(readFileSync(run.summaries[0], "utf8"), /### Teams notification: not delivered/);
  });

  it("failOnError: true fails the task; other 4xx answers are not retried", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink({ responses: [404] });
    const run = await notify({ rolloutId: completedRollout, failOnError: true });
    assert.equal(run.result?.result, "Failed");
    assert.equal(run.exitCode, 1);
    assert.match(
      run.result!.message,
      /^The completed card was not delivered: The Teams webhook was not found \(HTTP 404\)/,
    );
    assert.equal(sink.received.length, 1);
    assert.equal(run.outputs.delivered, "false");
    assert.ok(keptCard(run), "the card is kept");
  });

  it("never shows the webhook URL, even with System.Debug and an answer that quotes it", async () => {
    sim = await simulator("small");
    // The sink's error answers quote the request URL, sig included.
    sink = await startTeamsSink({ responses: [400] });
    const run = await notify({ rolloutId: completedRollout }, { variables: { "System.Debug": "true" } });
    assert.equal(run.result?.result, "SucceededWithIssues");
    assert.match(run.stdout, /##vso\[task\.debug\]/, "debug logging is on");
    assert.match(
      run.result!.message,
      /rejected the message \(HTTP 400\)\. .*It said: InvalidRequestContent: The sink answered 400 to POST <the Teams webhook>\./,
    );
    const sig = new URL(sink.url).searchParams.get("sig")!;
    assert.ok(run.secrets.includes(sig), "the signature alone is masked too");
  });

  const badUrls: Array<[string, (sinkUrl: string) => string, RegExp]> = [
    [
      "plain http, even to this machine",
      (u) => u.replace("https://", "http://"),
      /^Input 'webhookUrl' must be an https:\/\/ URL\. Expected a Teams Workflows webhook URL such as https:\/\//,
    ],
    [
      "a malformed URL",
      (u) => u.replace("https://", ""),
      /^Input 'webhookUrl' is not a valid URL \(its value is not shown: it is a secret\)\. Expected a Teams Workflows webhook URL such as https:\/\//,
    ],
    ["an empty URL", () => "", /^Input 'webhookUrl' is required \(pass it as a secret variable/],
  ];
  for (const [what, make, expected] of badUrls) {
    it(`fails on ${what} with nothing sent`, async () => {
      sim = await simulator("small");
      sink = await startTeamsSink();
      const bad = make(sink.url);
      const run = await runBuiltTask(
        "TeamsNotify",
        ev2Setup(sim, { webhookUrl: bad, rolloutId: completedRollout }),
      );
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, expected);
      const sig = new URL(sink.url).searchParams.get("sig")!;
      assert.ok(!run.visibleText.includes(sig), "the value is never echoed");
      if (bad) assert.ok(!run.visibleText.includes(bad));
      assert.equal(sink.received.length, 0);
      assert.equal(sim.requests.length, 0, "nothing is sent to EV2 either");
    });
  }

  const badInputs: Array<[string, TaskRunSetup["inputs"], RegExp]> = [
    [
      "stressTest without a result file",
      { notification: "stressTest", rolloutId: completedRollout },
      /^Input 'stressResultFile' is required when notification is stressTest: the result file of a StressTestStage step/,
    ],
    [
      "an unknown notification",
      { notification: "done", rolloutId: completedRollout },
      /^Input 'notification' must be one of auto, started, stageCompleted, waitingForApproval, stressTest, completed, failed, cancelled, rolledBack \(got "done"\)\.$/,
    ],
    [
      "a stress result file that does not exist",
      { stressResultFile: "missing/result.json" },
      /^Input 'stressResultFile' cannot be read: .*missing\/result\.json does not exist\./,
    ],
    [
      "a rollout id without an EV2 connection",
      { rolloutId: completedRollout, ev2Connection: undefined },
      /^Input 'ev2Connection' is required when connectionType is ev2/,
    ],
  ];
  for (const [what, inputs, expected] of badInputs) {
    it(`fails on ${what} with nothing sent`, async () => {
      sim = await simulator("small");
      sink = await startTeamsSink();
      const run = await notify(inputs);
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, expected);
      assert.equal(sink.received.length, 0);
      assert.equal(sim.requests.length, 0);
    });
  }

  it("posts a stressTest card from a StressTestStage result file (path relative to the working directory)", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink();
    const workDir = mkdtempSync(join(tmpdir(), "TeamsNotify-"));
    mkdirSync(join(workDir, "stress"));
    const doc = stressResultDocument(
      [
        {
          name: "orders-eastus",
          url: "https://eastus.orders.contoso.com/api/orders",
          latenciesMs: oneToHundredMs,
          failures: 10,
        },
      ],
      "error_rate < 5%\np95 < 500ms",
    );
    writeFileSync(join(workDir, "stress", "result.json"), JSON.stringify(doc));
    const run = await notify({ stressResultFile: "stress/result.json" }, { tempDirectory: workDir });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(sim.requests.length, 0, "no rollout id: EV2 is not asked");
    assertValidTeamsMessage(sink.received[0].body);
    const card = cardOf(sink);
    assert.equal((card.body[0] as Container).style, "attention");
    const text = cardText(card);
    assert.match(text, /🧪 Stress test failed/);
    assert.match(text, /Verdict: Failed: 1 of 2 thresholds not met/);
    assert.match(text, /❌ error_rate < 5% \(observed 10\.00%\)/);
    assert.match(text, /✅ p95 < 500ms \(observed 95 ms\)/);
    assert.match(text, /orders-eastus\np50 50 ms · p95 95 ms · p99 99 ms · errors 10\.00% · 3\.3 rps/);
    assert.equal(recordOf(run).details.stressPassed, false);
  });

  it("a stress card is still sent when the rollout cannot be read, with a warning", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink();
    const file = join(mkdtempSync(join(tmpdir(), "TeamsNotify-")), "result.json");
    const doc = stressResultDocument(
      [{ name: "orders", url: "https://orders.contoso.com/api", latenciesMs: oneToHundredMs }],
      "p95 < 500ms",
    );
    writeFileSync(file, JSON.stringify(doc));
    const run = await notify({ stressResultFile: file, rolloutId: "99999999-9999-4999-8999-999999999999" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.match(
      run.warnings[0],
      /^Could not read rollout .* The stress test card is sent without the rollout's facts\.$/,
    );
    assert.match(cardText(cardOf(sink)), /🧪 Stress test passed/);
  });

  it("a rollout EV2 does not know: warning, nothing posted, SucceededWithIssues", async () => {
    sim = await simulator("small");
    sink = await startTeamsSink();
    const run = await notify({ rolloutId: "99999999-9999-4999-8999-999999999999" });
    assert.equal(run.result?.result, "SucceededWithIssues", run.stdout);
    assert.match(
      run.result!.message,
      /^Could not read rollout 99999999-9999-4999-8999-999999999999 from EV2: .*\. No card was sent\. The pipeline goes on \(failOnError is false\)\.$/,
    );
    assert.equal(run.outputs.delivered, "false");
    assert.equal(sink.received.length, 0);
  });
});
