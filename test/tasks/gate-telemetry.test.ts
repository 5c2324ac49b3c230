import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Simulator } from "../../sim/ev2";
import {
  loadTelemetryScenario,
  startTelemetryStandIns,
  type TelemetryScenario,
} from "../../sim/log-analytics";
import { startTeamsSink } from "../../sim/teams-sink";
import { recordArtifacts, runBuiltTask, type TaskRun } from "../support/run-built-task";
import { ev2Setup, simulator, startTestRollout } from "./ev2-fixture";

function publishedRecord(run: TaskRun) {
  const records = recordArtifacts(run);
  assert.equal(records.length, 1, JSON.stringify(run.artifacts));
  return JSON.parse(readFileSync(records[0].path, "utf8"));
}

/**
 * GateApproval judging production telemetry as the agent runs it: an Entra ID token for the Log
 * Analytics API from an Azure Resource Manager connection (client secret, through a local Entra
 * ID over https), the query API's stand-in serving the scenario's requests, EV2 at the gate.
 */
describe("GateApproval with production telemetry (built task, Log Analytics stand-in)", function () {
  this.timeout(90_000);
  let sim: Simulator;
  let standIns: Awaited<ReturnType<typeof startTelemetryStandIns>> | undefined;
  let rolloutId: string;

  beforeEach(async () => {
    sim = await simulator("gated", 1200);
    rolloutId = await startTestRollout(sim, "gate-telemetry-test");
  });
  afterEach(async () => {
    await sim.close();
    await standIns?.close();
    standIns = undefined;
  });

  const waitAction = () => sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions[0];

  async function gate(scenario: string | TelemetryScenario, inputs: Record<string, string> = {}) {
    standIns = await startTelemetryStandIns(scenario);
    return runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        {
          rolloutId,
          waitTimeoutMinutes: "1",
          decision: "evaluate",
          telemetryWorkspaceId: standIns.workspaceId,
          telemetryConnection: "arm-telemetry",
          telemetryEndpoint: standIns.logs.url,
          ...inputs,
        },
        { endpoints: { "arm-telemetry": standIns.connection("arm-telemetry", "AzureRM")! } },
      ),
    );
  }

  /** TeamsNotify in the same job with the gate's telemetry verdict file: the card the channel got, as text. */
  async function cardWith(telemetryResultFile: string, notification: string): Promise<string> {
    const sink = await startTeamsSink();
    try {
      const notify = await runBuiltTask(
        "TeamsNotify",
        ev2Setup(sim, { rolloutId, webhookUrl: sink.url, notification, telemetryResultFile }),
      );
      assert.equal(notify.result?.result, "Succeeded", notify.stdout);
      return JSON.stringify(sink.received[0].body);
    } finally {
      await sink.close();
    }
  }

  it("healthy telemetry approves, with each region's statistics in the record and the summary", async () => {
    const run = await gate("healthy");
    assert.equal(run.result?.result, "Succeeded", run.stdout + run.stderr);
    assert.equal(run.outputs.decision, "approved");
    assert.equal(run.outputs.telemetryVerdict, "Pass");
    assert.equal(waitAction().status, "Approved");
    // The token Entra issued for the Log Analytics scope, on both queries, never shown.
    const scopes = standIns!.entra.tokenRequests.map((r) => r.scope);
    assert.ok(scopes.includes(`${standIns!.logs.url}/.default`), JSON.stringify(scopes));
    assert.deepEqual(
      standIns!.logs.queries.map((q) => [q.status, q.authorization, q.workspaceId]),
      [
        [200, `Bearer ${standIns!.accessToken}`, standIns!.workspaceId],
        [200, `Bearer ${standIns!.accessToken}`, standIns!.workspaceId],
      ],
    );
    assert.ok(
      !run.visibleText.includes(standIns!.accessToken) && !run.visibleText.includes(standIns!.clientSecret),
    );
    const t = publishedRecord(run).details.telemetry;
    assert.equal(t.verdict, "Pass");
    assert.equal(t.newVersion, "1.3.2");
    assert.deepEqual(t.regions.map((r: { region: string }) => r.region).sort(), [
      "centraluseuap",
      "eastus2euap",
      "uksouth",
      "westcentralus",
    ]);
    for (const r of t.regions) {
      assert.equal(r.verdict, "Pass");
      assert.equal(r.samples.new.rows, 1200);
      assert.equal(r.samples.baseline.rows, 1200);
      assert.equal(typeof r.latency.pValue, "number");
      assert.ok(r.latency.shiftMs.lower <= r.latency.shiftMs.estimate);
    }
    assert.match(t.queries[0].query, /^AppRequests\n/);
    assert.match(t.queries[0].timespan, /^\d{4}-\d\d-\d\dT[\d:.]+Z\/\d{4}-/);
    const summary = run.summaries.map((f) => readFileSync(f, "utf8")).join("\n");
    assert.match(
      summary,
      /\| Region \| Verdict \| Latency: Mann-Whitney U \| Shift \(HL\) \\\[95% CI\\\] \|/,
    );
    assert.match(summary, /```kusto\nAppRequests\n/);
  });

  it("a canary 30% slower is rejected: the rollout ends, the task fails, EV2's comment and the card carry the statistics", async () => {
    const run = await gate("regression");
    const card = await cardWith(run.outputs.telemetryResultFile, "auto");
    assert.match(card, /Production telemetry: Fail/);
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.equal(run.outputs.decision, "rejected");
    assert.equal(run.outputs.telemetryVerdict, "Fail");
    assert.equal(waitAction().status, "Rejected");
    assert.match(
      waitAction().comment ?? "",
      /Evaluated: production telemetry: Fail: eastus2euap: slower than the previous version: shift \+[\d.]+ ms .*Mann-Whitney p < 0\.0001; p95 [\d.]+ ms vs [\d.]+ ms \(1\.\d\dx\)/,
    );
    const regions = publishedRecord(run).details.telemetry.regions as Array<{
      region: string;
      verdict: string;
    }>;
    assert.deepEqual(regions.map((r) => `${r.region} ${r.verdict}`).sort(), [
      "centraluseuap Fail",
      "eastus2euap Fail",
      "uksouth Pass",
      "westcentralus Pass",
    ]);
  });

  it("shadow mode (enforce: false) records the Fail it would have given and approves on the rest", async () => {
    const run = await gate("regression", { enforce: "false" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.decision, "approved");
    assert.equal(run.outputs.telemetryVerdict, "Fail");
    const d = publishedRecord(run).details;
    assert.equal(d.telemetry.verdict, "Fail");
    assert.equal(d.telemetry.enforced, false);
    assert.match(
      run.summaries.map((f) => readFileSync(f, "utf8")).join("\n"),
      /❌ fail \(not enforced\) \| shadow mode, not enforced: Fail:/,
    );
  });

  it("too few requests is Inconclusive: EV2 is left waiting for a person (onInconclusive: wait), and can be told otherwise", async () => {
    const run = await gate("healthy", { minSamples: "5000" });
    assert.equal(run.result?.result, "SucceededWithIssues", run.stdout);
    assert.equal(run.outputs.decision, "leftWaiting");
    assert.equal(run.outputs.telemetryVerdict, "Inconclusive");
    assert.equal(waitAction().status, "Waiting");
    assert.match(
      run.result!.message,
      /inconclusive .*too few requests of the new version \(1200, at least 5000 needed\).*left waiting for a person to decide \(onInconclusive: wait\)/,
    );
    // The waiting card of the same job shows why a person is needed, with the figures.
    const file = run.outputs.telemetryResultFile;
    assert.match(file, /telemetry-verdict-wait-1-\d+\.json$/);
    const card = await cardWith(file, "waitingForApproval");
    assert.match(card, /Production telemetry: Inconclusive/);
    await standIns!.close();
    const rejecting = await gate("healthy", { minSamples: "5000", onInconclusive: "reject" });
    assert.equal(rejecting.outputs.decision, "rejected", rejecting.stdout);
    assert.equal(waitAction().status, "Rejected");
  });

  it("otherRegions: the regions still on the old version, same window, pooled as each region's baseline; sampled rows count by ItemCount", async () => {
    // Application Insights kept one request in 4: each row stands for 4.
    const sampled = { ...loadTelemetryScenario("regression"), itemCount: 4, requestsPerMinute: 160 };
    const run = await gate(sampled, {
      telemetryBaseline: "otherRegions",
      telemetryRegions: "eastus2euap, uksouth",
    });
    assert.equal(run.result?.result, "Failed", run.stdout);
    const t = publishedRecord(run).details.telemetry;
    assert.equal(t.baseline, "otherRegions");
    assert.match(t.queries[1].query, /\| where version !in \("1\.3\.2"\)\n/);
    assert.doesNotMatch(t.queries[1].query, /where region in~/);
    const regions = t.regions.map(
      (r: {
        region: string;
        verdict: string;
        samples: { new: { rows: number; requests: number }; baseline: { rows: number } };
      }) =>
        `${r.region} ${r.verdict} ${r.samples.new.rows}/${r.samples.new.requests} vs ${r.samples.baseline.rows}`,
    );
    // Six regions in the scenario, the two judged left out of the baseline: 4 x 1200 rows.
    assert.deepEqual(regions, ["eastus2euap Fail 1200/4800 vs 4800", "uksouth Pass 1200/4800 vs 4800"]);
  });

  it("a custom query is refused by the stand-in with a clear error, and nothing is decided", async () => {
    const run = await gate("healthy", {
      telemetryQuery:
        "AppRequests | where TimeGenerated between ({start} .. {end}) | project region = AppRoleName",
    });
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /HTTP 400 BadArgumentError: .*serves only the documented request query/,
    );
    assert.equal(waitAction().status, "Waiting");
    assert.equal(publishedRecord(run).result, "Failed");
  });

  it("bad telemetry inputs fail before anything is sent, naming the input and the valid form", async () => {
    const ev2Requests = sim.requests.length;
    const run = await gate("healthy", {
      telemetryRegionColumn: "AppRoleName | take 1",
      telemetryThresholds: "latency not slower than baseline",
      onInconclusive: "maybe",
    });
    assert.equal(run.result?.result, "Failed");
    const m = run.result!.message;
    assert.match(m, /Input 'onInconclusive' must be one of wait, approve, reject \(got "maybe"\)/);
    assert.match(
      m,
      /Input 'telemetryThresholds' line 1 "latency not slower than baseline": .*set latencyTolerance instead/,
    );
    assert.equal(standIns!.logs.queries.length, 0);
    assert.equal(sim.requests.length, ev2Requests);
  });
});
