import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeAgent } from "../../shared/agent/fake-agent";
import {
  buildDeploymentReport,
  deploymentReportFiles,
  type DeploymentReport,
} from "../../shared/report/deployment-report";
import { renderDeploymentReportMarkdown } from "../../shared/report/report-markdown";
import { readRecordsFolder } from "../../shared/report/publish-report";
import { publishRecord, recordArtifactName, type TaskRecord } from "../../shared/rollout/record";
import { startTargetService, type TargetService } from "../../sim/target-service";
import {
  approvalComment,
  approver,
  flowSetup,
  rolloutInputs,
  startFlowServices,
  type FlowServices,
} from "../chaos/chaos-support";
import { runBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import {
  completedFlow,
  followRecord,
  gateRecord,
  rollbackId,
  rollbackFollowRecord,
  rolledBackFlow,
  rolloutId,
  run,
  stressRecord,
  teamsRecord,
  triggerRecord,
} from "./report-records";

/** A deterministic shuffle: the builder must not depend on the order records are read in. */
const reversed = <T>(xs: T[]) => [...xs].reverse();

describe("deployment report: build", () => {
  it("a gated rollout that completes: checks, stages and regions, stress, gate, card, steps in order", () => {
    const report = buildDeploymentReport(reversed(completedFlow()));
    assert.equal(report.schemaVersion, 1);
    assert.equal(report.kind, "ev2-deployment-report");
    assert.equal(report.outcome, "completed");
    assert.equal(
      report.headline,
      `Rollout ${rolloutId} (orders-api 1.3.2 to PPE) completed: 3 stage(s), 6 region(s). Gate: wait-1 approved by Alice Approver <alice@contoso.com>.`,
    );
    assert.deepEqual(
      report.steps.map((s) => s.task),
      [
        "TriggerEv2Rollout",
        "FollowRollout",
        "StressTestStage",
        "GateApproval",
        "FollowRollout",
        "TeamsNotify",
      ],
    );
    assert.equal(report.steps[0].durationSeconds, 1.2);
    assert.deepEqual(report.window, {
      startedAt: "2026-11-22T10:00:00.000Z",
      endedAt: "2026-11-22T10:26:07.000Z",
      durationSeconds: 1567,
    });
    assert.deepEqual(report.run, {
      project: "Orders",
      runUrl: run.runUrl,
      buildId: "4711",
      requestedFor: "Alice Example",
      sourceVersion: run.sourceVersion,
      stages: ["Deploy_PPE"],
      jobs: ["rollout"],
    });

    assert.equal(report.rollouts.length, 1);
    const r = report.rollouts[0];
    assert.equal(r.role, "rollout");
    assert.equal(r.artifactVersion, "1.3.2");
    assert.equal(r.stageMapVersion, "v3");
    assert.equal(r.status, "Completed");
    assert.equal(r.statusAt, "2026-11-22T10:26:05.000Z", "the last snapshot wins");
    assert.deepEqual(r.trigger?.selectionScope, ["regions(*).steps(*).stamps(*).actions(*)"]);
    assert.equal(r.trigger?.trackingBranch, "ev2/PPE/1.3.2-4711");
    assert.match(r.trigger!.resolution[0], /newest Active one \(skipped newer 1\.4\.0: Deprecated\)/);
    assert.deepEqual(
      r.stages.map((s) => [s.name, s.status, s.durationSeconds, s.regions.map((g) => g.name)]),
      [
        ["Stage1-Canary", "Completed", 360, ["eastus2euap", "centraluseuap"]],
        ["Stage2-Pilot", "Completed", 360, ["westcentralus", "uksouth"]],
        ["Stage3-Broad", "Completed", 360, ["eastus", "westeurope"]],
      ],
    );
    assert.equal(r.stages[0].regions[0].durationSeconds, 300);

    assert.deepEqual(report.gates, [
      {
        at: "2026-11-22T10:19:55.000Z",
        rolloutId,
        actionId: "wait-1",
        stage: "Stage3-Broad",
        requested: "approve",
        decision: "approved",
        decidedBy: "Alice Approver <alice@contoso.com>",
        approverSource: "yamlApproval",
        decidedAt: "2026-11-22T10:19:58.500Z",
        comment: "Canary metrics look good (Azure DevOps approval, https://dev.azure.com/...)",
        evidence: [],
        decidedThrough: "GateApproval",
        result: "Succeeded",
        message:
          "Wait action wait-1 before stage Stage3-Broad approved as Alice Approver <alice@contoso.com>.",
      },
    ]);
    assert.deepEqual(report.notifications, [
      {
        at: "2026-11-22T10:26:06.000Z",
        rolloutId,
        requested: "auto",
        card: "completed",
        delivered: true,
        httpStatus: 202,
        attempts: 1,
      },
    ]);
    assert.equal(report.stressTests.length, 1);
    assert.deepEqual(report.rollbacks, []);
    assert.deepEqual(report.badVerdicts, []);
    assert.equal(report.timeToSafetySeconds, null);
  });

  it("a failed rollout and its rollback: versions, the bad verdict and the time to safety", () => {
    const report = buildDeploymentReport(rolledBackFlow());
    assert.equal(report.outcome, "rolledBack");
    assert.equal(report.timeToSafetySeconds, 8.4);
    assert.deepEqual(report.rollbacks, [
      {
        at: "2026-11-22T10:08:20.000Z",
        rolloutId: rollbackId,
        rolledBackRolloutId: rolloutId,
        badVersion: "1.3.2",
        rolledBackToVersion: "1.3.1",
        badVerdictAt: "2026-11-22T10:08:13.000Z",
        acceptedAt: "2026-11-22T10:08:21.200Z",
        timeToSafetySeconds: 8.4,
        timeToSafetySource: "recorded",
        resolution: report.rollbacks[0].resolution,
      },
    ]);
    assert.match(report.rollbacks[0].resolution[0], /as artifactVersion: lastSucceeded asks/);
    const [bad, back] = report.rollouts;
    assert.equal(bad.rolloutId, rolloutId);
    assert.equal(bad.status, "Failed", "a failed rollout stays Failed: the cancel found it ended");
    assert.equal(bad.rolledBackBy, rollbackId);
    assert.deepEqual(bad.failure?.errorCode, "ServiceHealthCheckFailed");
    assert.deepEqual(
      bad.errors.map((e) => [e.stage, e.region, e.errorCode, e.errorClass]),
      [["Stage2-Pilot", "uksouth", "ServiceHealthCheckFailed", "healthCheck"]],
    );
    assert.equal(back.role, "rollback");
    assert.equal(back.rollbackOf, rolloutId);
    assert.equal(back.artifactVersion, "1.3.1");
    assert.deepEqual(
      report.badVerdicts.map((v) => [v.at, v.task]),
      [["2026-11-22T10:08:13.000Z", "FollowRollout"]],
    );
    assert.deepEqual(report.run.jobs, ["rollout", "rollback"]);
    assert.equal(
      report.headline,
      `Rollout ${rolloutId} (orders-api 1.3.2 to PPE) was rolled back to 1.3.1 by rollout ${rollbackId} after: Stage2-Pilot in uksouth: ServiceHealthCheckFailed: Health check of orders-api in uksouth failed: 5 of 12 probes returned 503. Time to safety: 8.4 s.`,
    );
  });

  it("a rollout still running when rolled back is reported Cancelled by the rollback", () => {
    const [trigger, , rollback] = rolledBackFlow();
    const report = buildDeploymentReport([
      trigger,
      followRecord("waiting", "2026-11-22T10:00:02.000Z", "2026-11-22T10:05:00.000Z"),
      rollback,
    ]);
    assert.equal(report.rollouts[0].status, "Cancelled");
    assert.equal(report.rollouts[0].statusAt, "2026-11-22T10:08:21.200Z");
    // No stage row says Waiting under a Cancelled heading: what the snapshot saw unfinished stopped too.
    const stages = report.rollouts[0].stages;
    assert.ok(stages.length > 0);
    assert.ok(
      stages.every((st) => st.status !== "Waiting" && st.status !== "InProgress"),
      JSON.stringify(stages),
    );
    assert.ok(
      stages.some((st) => st.status === "Cancelled"),
      JSON.stringify(stages),
    );
    assert.match(renderDeploymentReportMarkdown(report), /stage and region times by EV2's clock/);
  });

  it("estimates the time to safety from badVerdictAt when an older record has none", () => {
    const rollback = triggerRecord({
      rolloutId: rollbackId,
      at: "2026-11-22T10:08:20.000Z",
      details: {
        rollbackOf: rolloutId,
        badVerdictAt: "2026-11-22T10:08:13.000Z",
        timeToSafetySeconds: undefined,
      },
    });
    const report = buildDeploymentReport([rollback]);
    assert.equal(report.rollbacks[0].timeToSafetySeconds, 8.2);
    assert.equal(report.rollbacks[0].timeToSafetySource, "estimated");
    assert.equal(report.rollbacks[0].badVersion, undefined, "no record of the bad rollout");
  });

  it("stress results: verdicts, figures, the baseline verdict and figure changes when recorded", () => {
    const report = buildDeploymentReport([
      stressRecord("2026-11-22T10:12:13.000Z", "2026-11-22T10:12:45.000Z", true),
      stressRecord("2026-11-22T10:13:00.000Z", "2026-11-22T10:13:31.000Z", false, {
        baseline: {
          source: "baseline/baseline.json",
          startedAt: "2026-11-21T10:00:00Z",
          distribution: { verdict: "slower", cliffsDelta: 0.41, pSlower: 0.001 },
          figures: {
            p95Ms: { baseline: 120, current: 180, change: 60, relativeChange: 0.5 },
            errorRatePercent: { baseline: 0, current: 0.5, change: 0.5, relativeChange: null },
          },
        },
      }),
    ]);
    const [passed, failed] = report.stressTests;
    assert.equal(passed.verdict, "passed");
    assert.equal(passed.p95Ms, 120);
    assert.equal(passed.errorRatePercent, 0.5);
    assert.deepEqual(passed.baseline, {
      source: "baseline/baseline.json",
      startedAt: "2026-11-21T10:00:00Z",
      verdict: "same",
      cliffsDelta: 0.02,
      pSlower: 0.001,
    });
    assert.equal(failed.verdict, "failed");
    assert.equal(failed.verdictAt, "2026-11-22T10:13:31.000Z");
    assert.deepEqual(failed.failedThresholds, ["overall: p95 < 100ms (p95 was 180.0 ms)"]);
    assert.deepEqual(failed.baseline?.changes, {
      p95Ms: { baseline: 120, current: 180, relativeChange: 0.5 },
      errorRatePercent: { baseline: 0, current: 0.5, relativeChange: null },
    });
    assert.equal(report.outcome, "failed");
    assert.deepEqual(
      report.badVerdicts.map((v) => [v.task, v.at]),
      [["StressTestStage", "2026-11-22T10:13:31.000Z"]],
    );
    const markdown = renderDeploymentReportMarkdown(report);
    assert.match(
      markdown,
      /\| ❌ failed \| 0\.5% \| 40\.2 ms \| 180 ms \| 250\.4 ms \| 40 \| latency slower, Cliff's δ 0\.41, p95Ms \+50% \|/,
    );
  });

  it("a stress test stopped early by a windowed abort line: the verdict says when, where and the time to detect", () => {
    const report = buildDeploymentReport([
      stressRecord("2026-11-22T10:13:00.000Z", "2026-11-22T10:13:31.000Z", false, {
        earlyAbort: {
          threshold: "error_rate < 1% over 30s abort",
          scope: "endpoint",
          endpoint: "orders-westus",
          windowSeconds: 30,
          atSeconds: 34.2,
          firstFailingSecond: 4,
          timeToDetectSeconds: 30.2,
        },
      }),
    ]);
    const [test] = report.stressTests;
    assert.deepEqual(test.earlyAbort, {
      threshold: "error_rate < 1% over 30s abort",
      endpoint: "orders-westus",
      windowSeconds: 30,
      atSeconds: 34.2,
      timeToDetectSeconds: 30.2,
    });
    assert.match(
      renderDeploymentReportMarkdown(report),
      /\| ❌ failed, aborted early at 34\.2 s \(time to detect 30\.2 s, orders-westus\) \|/,
    );
  });

  it("a gate decided in EV2 (not by a step) and one still waiting come from the last snapshot", () => {
    const approvedElsewhere = buildDeploymentReport([
      triggerRecord(),
      followRecord("completed", "2026-11-22T10:20:00.000Z", "2026-11-22T10:26:05.000Z"),
    ]);
    assert.deepEqual(approvedElsewhere.gates, [
      {
        at: "2026-11-22T10:19:58Z",
        rolloutId,
        actionId: "wait-1",
        stage: "Stage3-Broad",
        decision: "approved",
        decidedBy: "Alice Approver <alice@contoso.com>",
        comment: "Canary metrics look good (Azure DevOps approval, https://dev.azure.com/...)",
        decidedAt: "2026-11-22T10:19:58Z",
        evidence: [],
        decidedThrough: "ev2",
      },
    ]);
    const waiting = buildDeploymentReport([
      triggerRecord(),
      followRecord("waiting", "2026-11-22T10:00:02.000Z", "2026-11-22T10:12:12.000Z"),
    ]);
    assert.equal(waiting.outcome, "inProgress");
    assert.equal(waiting.gates[0].decision, "waiting");
    assert.match(waiting.headline, /is Waiting \(2 of 3 stages completed\)\.$/);
  });

  it("an automatic gate: evidence with verdicts, and a rejection is a bad verdict", () => {
    const gate = gateRecord("2026-11-22T10:19:55.000Z", "2026-11-22T10:19:58.500Z");
    const rejected: TaskRecord = {
      ...gate,
      result: "Failed",
      message: "Wait action wait-1 before stage Stage3-Broad rejected as Automatic gate (...).",
      details: {
        ...gate.details,
        requested: "evaluate",
        decision: "rejected",
        decidedBy: "Automatic gate (https://dev.azure.com/contoso/Orders/_build/results?buildId=4711)",
        approverSource: undefined,
        evidence: [
          { kind: "stressResult", source: "stress.json", passed: false, detail: "p95 < 100ms failed" },
          { kind: "rolloutErrors", source: "EV2 rollout errors", passed: true, detail: "no errors" },
        ],
      },
    };
    const report = buildDeploymentReport([triggerRecord(), rejected]);
    assert.equal(report.gates[0].evidence.length, 2);
    assert.equal(report.badVerdicts[0].task, "GateApproval");
    assert.equal(report.outcome, "failed");
    const markdown = renderDeploymentReportMarkdown(report);
    assert.match(markdown, /❌ stressResult: p95 < 100ms failed, ✅ rolloutErrors: no errors/);
  });

  describe("never throws on records that lack or retype fields", () => {
    const base = triggerRecord();
    const cases: Array<[string, unknown]> = [
      ["no details", { ...base, details: undefined }],
      ["details is a string", { ...base, details: "nope" }],
      ["no run", { ...base, run: undefined }],
      ["no startedAt", { ...base, startedAt: undefined }],
      ["a bad date", { ...base, startedAt: "yesterday", endedAt: "today" }],
      ["an unknown task", { ...base, task: "SomeFutureTask", details: { anything: [1, 2] } }],
      [
        "follow without a snapshot (older record)",
        { ...followRecord("waiting", "a", "b"), details: { end: "waiting" } },
      ],
      [
        "a snapshot with retyped stages",
        {
          ...followRecord("waiting", "a", "b"),
          details: { rollout: { stages: [null, 3, { regions: "x" }], errors: [null] } },
        },
      ],
      ["a gate without details", { ...gateRecord("a", "b"), details: {} }],
      [
        "stress without outputs",
        { ...stressRecord("a", "b", true), details: { passed: "yes", baseline: 5 } },
      ],
      [
        "teams with retyped fields",
        { ...teamsRecord("a", "b"), details: { delivered: "true", status: "202" } },
      ],
      [
        "a rollback without a trigger of the bad one",
        { ...base, details: { rollbackOf: "x", timeToSafetySeconds: "9" } },
      ],
      ["not an object", null],
      ["a string", "record"],
    ];
    for (const [name, record] of cases) {
      it(name, () => {
        const report = buildDeploymentReport([record as TaskRecord, ...completedFlow()]);
        assert.equal(report.kind, "ev2-deployment-report");
        assert.ok(renderDeploymentReportMarkdown(report).startsWith("# Deployment report"));
        JSON.stringify(report);
      });
    }

    it("no records at all", () => {
      const report = buildDeploymentReport([]);
      assert.equal(report.outcome, "unknown");
      assert.deepEqual(report.window, { startedAt: null, endedAt: null, durationSeconds: null });
      assert.match(renderDeploymentReportMarkdown(report), /No rollout is recorded/);
    });
  });

  it("stays small: no load, endpoints, histograms or polls copied; errors capped", () => {
    const failed = followRecord("failed", "2026-11-22T10:30:00.000Z", "2026-11-22T10:31:00.000Z");
    const snapshot = failed.details.rollout as { errors: unknown[] };
    snapshot.errors = Array.from({ length: 60 }, (_, i) => ({
      stage: "Stage2-Pilot",
      region: `r${i}`,
      errorCode: "QuotaExceeded",
      message: "x".repeat(200),
    }));
    const report = buildDeploymentReport([...completedFlow(), failed]);
    const json = JSON.stringify(report);
    for (const key of ['"load"', '"endpoints"', '"histogram"', '"polls"', '"junitFile"', '"transientErrors"'])
      assert.ok(!json.includes(key), `${key} is not copied`);
    assert.equal(report.rollouts[0].errors.length, 20);
    assert.equal(report.rollouts[0].errorsOmitted, 40);
    assert.ok(json.length < 16_000, `${json.length} characters`);
  });
});

describe("deployment report: markdown", () => {
  it("headings, tables and durations a reviewer reads without the logs", () => {
    const markdown = renderDeploymentReportMarkdown(buildDeploymentReport(completedFlow()));
    for (const expected of [
      "# Deployment report: orders-api 1.3.2 → PPE",
      "| Outcome | ✅ completed |",
      `| Pipeline run | [build 4711](${run.runUrl}) |`,
      "| Window | 2026-11-22 10:00:00Z → 2026-11-22 10:26:07Z (26m 7s) |",
      "## Pre-deployment checks",
      "| Artifact version | 1.3.2 |",
      "| Scope | regions(*).steps(*).stamps(*).actions(*) |",
      "| Tracking branch | ev2/PPE/1.3.2-4711 |",
      "- Artifact version 1.3.2: the newest Active one (skipped newer 1.4.0: Deprecated).",
      `## Rollout ${rolloutId}: Completed`,
      "| Stage | Status | Started | Ended | Duration | Regions |",
      "| Stage1-Canary | ✅ Completed | 2026-11-22 10:00:10Z | 2026-11-22 10:06:10Z | 6m 0s | eastus2euap Completed (5m 0s)<br>centraluseuap Completed (6m 0s) |",
      "## Stress tests",
      "## Approval gates",
      "| wait-1 | 9f1c2d3e-0000-4000-8000-00000000aaaa | Stage3-Broad | approved (asked: approve) | Alice Approver &lt;alice@contoso.com> (yamlApproval) | 2026-11-22 10:19:58Z | Canary metrics look good (Azure DevOps approval, https://dev.azure.com/...) |",
      "## Notifications",
      "| 2026-11-22 10:26:06Z | completed (auto) | 9f1c2d3e-0000-4000-8000-00000000aaaa | yes | HTTP 202 |",
      "## Steps",
      "| 2026-11-22 10:00:00Z | TriggerEv2Rollout | rollout | Succeeded | 1s |",
    ])
      assert.ok(markdown.includes(expected), `missing ${JSON.stringify(expected)} in:\n${markdown}`);
    assert.ok(!markdown.includes("## Rollback"), "no rollback section without a rollback");
  });

  it("the rollback: what was rolled back to what, the bad verdict and the time to safety", () => {
    const markdown = renderDeploymentReportMarkdown(buildDeploymentReport(rolledBackFlow()));
    for (const expected of [
      "| Outcome | ↩️ rolled back |",
      "| Time to safety | 8.4 s (bad verdict → rollback accepted by EV2) |",
      "## Rollback",
      `| ${rolloutId} | 1.3.2 | 1.3.1 | ${rollbackId} | 2026-11-22 10:08:13Z | 2026-11-22 10:08:21Z | 8.4 s |`,
      "- 2026-11-22 10:08:13Z FollowRollout: Stage2-Pilot in uksouth: ServiceHealthCheckFailed: Health check",
      `## Rollout ${rolloutId}: Failed`,
      "| Stage2-Pilot | uksouth | ServiceHealthCheckFailed | healthCheck | Health check of orders-api in uksouth failed: 5 of 12 probes returned 503 |",
      "**What to do:** The deployed service failed its health checks",
      `## Rollback rollout ${rollbackId}: status not seen`,
      `| Started as | started (rollback of ${rolloutId}) |`,
      "| 2026-11-22 10:08:22Z | rolledBack (auto) |",
    ])
      assert.ok(markdown.includes(expected), `missing ${JSON.stringify(expected)} in:\n${markdown}`);
  });

  it("the verified rollback: both halves of time to safety and each region that got the bad version", () => {
    const report = buildDeploymentReport(reversed([...rolledBackFlow(), rollbackFollowRecord(true)]));
    const m = report.rollbacks[0].mitigation!;
    assert.equal(m.mitigated, true);
    assert.equal(m.mitigatedAt, "2026-11-22T10:21:30.000Z");
    assert.equal(report.timeToSafetySeconds, 8.4);
    assert.equal(report.timeToMitigatedSeconds, 798.4);
    assert.match(
      report.headline,
      /Time to safety: 8\.4 s\. Mitigated \(every region that got the bad version back\) 798\.4 s after the bad verdict\.$/,
    );
    const markdown = renderDeploymentReportMarkdown(report);
    for (const expected of [
      "| Time to safety | 8.4 s (bad verdict → rollback accepted by EV2) |",
      "| Time to mitigated | 13m 18s (798 s) |",
      `| ${rolloutId} | 1.3.2 | 1.3.1 | ${rollbackId} | 2026-11-22 10:08:13Z | 2026-11-22 10:08:21Z | 8.4 s | 2026-11-22 10:21:30Z | 13m 18s (798 s) |`,
      "| uksouth | 2026-11-22 10:21:30Z |",
    ])
      assert.ok(markdown.includes(expected), `missing ${JSON.stringify(expected)} in:\n${markdown}`);

    const partly = buildDeploymentReport([...rolledBackFlow(), rollbackFollowRecord(false)]);
    assert.equal(partly.timeToMitigatedSeconds, null);
    assert.match(partly.headline, /Not mitigated when last checked: 2 of 4 region\(s\) back\.$/);
    const partlyMd = renderDeploymentReportMarkdown(partly);
    assert.ok(
      partlyMd.includes(
        "| Time to mitigated | not yet when last checked (2026-11-22 10:15:00Z): 2 of 4 region(s) back |",
      ),
      partlyMd,
    );
    assert.ok(partlyMd.includes("| uksouth | not yet |"), partlyMd);
    const unverified = renderDeploymentReportMarkdown(buildDeploymentReport(rolledBackFlow()));
    assert.ok(
      unverified.includes(
        "| Time to mitigated | not verified (no FollowRollout with rollbackOf followed the rollback) |",
      ),
      unverified,
    );
  });

  it("escapes pipes and newlines coming from EV2 and comments", () => {
    const gate = gateRecord("2026-11-22T10:19:55.000Z", "2026-11-22T10:19:58.500Z");
    const report = buildDeploymentReport([
      { ...gate, details: { ...gate.details, decidedBy: "Mallory | admin\nline" } },
    ]);
    const markdown = renderDeploymentReportMarkdown(report);
    assert.ok(markdown.includes("Mallory \\| admin line"), markdown);
  });
});

describe("deployment report: publishRecord", () => {
  let temp: string;
  beforeEach(() => (temp = mkdtempSync(join(tmpdir(), "report-"))));
  afterEach(() => rmSync(temp, { recursive: true, force: true }));

  const agentFor = () =>
    new FakeAgent({
      tempDirectory: temp,
      variables: { "System.StageName": "Deploy PPE", "System.JobName": "rollout" },
    });
  const files = deploymentReportFiles({ stageName: "Deploy PPE", jobName: "rollout" });

  it("each step rewrites the report from every record in the folder and uploads both files", () => {
    const agent = agentFor();
    const records = completedFlow();
    for (const r of records) publishRecord(agent, r, `### ${r.task}\n`);
    const dir = join(temp, recordArtifactName);
    // The Teams card kept after a failed delivery lives in the same folder: not a record.
    writeFileSync(join(dir, "rollout-TeamsNotify-x-card.json"), JSON.stringify({ type: "message" }));
    publishRecord(agent, teamsRecord("2026-11-22T10:27:00.000Z", "2026-11-22T10:27:01.000Z"), "x");

    const report = JSON.parse(readFileSync(join(dir, files.json), "utf8")) as DeploymentReport;
    assert.equal(report.steps.length, records.length + 1);
    assert.equal(report.notifications.length, 2);
    assert.ok(readFileSync(join(dir, files.markdown), "utf8").startsWith("# Deployment report"));
    assert.equal(agent.summaries.length, records.length + 1, "one summary per step, no report summary");
    const last = agent.artifacts.slice(-3);
    assert.deepEqual(
      last.map((a) => [a.name, a.path.split(/[\\/]/).at(-1)]),
      [
        [recordArtifactName, last[0].path.split(/[\\/]/).at(-1)],
        [recordArtifactName, "deployment-report.Deploy_PPE.rollout.json"],
        [recordArtifactName, "deployment-report.Deploy_PPE.rollout.md"],
      ],
    );
    assert.equal(
      readRecordsFolder(dir).length,
      records.length + 1,
      "the report and the card are not records",
    );
  });

  it("names each summary after the step, in a folder of its own, as the Extensions tab titles it", () => {
    const named = (displayName: string | undefined) => {
      const agent = new FakeAgent({
        tempDirectory: temp,
        variables: {
          "System.JobName": "rollout",
          ...(displayName ? { "Task.DisplayName": displayName } : {}),
        },
      });
      publishRecord(agent, triggerRecord(), "x");
      return agent.summaries.map((f) => f.split(/[\\/]/).slice(-3));
    };
    const [first] = named("Start the EV2 rollout");
    assert.equal(first[0], "ev2-summaries");
    assert.equal(first[2], "Start the EV2 rollout.md");
    assert.equal(named('Deploy: a/b\\c <x> "y" | z? *.')[0][2], "Deploy a b c x y z.md");
    assert.equal(named(undefined)[0][2], "TriggerEv2Rollout.md");
  });

  it("reads the records an earlier job left, when this job downloaded them into Pipeline.Workspace", () => {
    const workspace = join(temp, "w");
    const downloaded = join(workspace, recordArtifactName);
    mkdirSync(downloaded, { recursive: true });
    const earlier = completedFlow().slice(0, 2);
    earlier.forEach((r, i) => writeFileSync(join(downloaded, `rollout-${i}.json`), JSON.stringify(r)));
    // The earlier job's own report travels in the artifact too: not a record.
    writeFileSync(
      join(downloaded, "deployment-report.Deploy.rollout.json"),
      JSON.stringify({ kind: "ev2-deployment-report" }),
    );
    const agent = new FakeAgent({
      tempDirectory: join(temp, "t"),
      variables: {
        "System.StageName": "Roll back",
        "System.JobName": "rollback",
        "Pipeline.Workspace": workspace,
      },
    });
    const last = teamsRecord("2026-11-22T10:27:00.000Z", "2026-11-22T10:27:01.000Z");
    publishRecord(agent, last, "x");
    const files = deploymentReportFiles(last.run);
    const report = JSON.parse(
      readFileSync(join(temp, "t", recordArtifactName, files.json), "utf8"),
    ) as DeploymentReport;
    assert.deepEqual(
      report.steps.map((st) => st.task),
      [...earlier.map((r) => r.task), "TeamsNotify"],
    );
  });

  it("masks secrets in the report as in the record", () => {
    const agent = agentFor();
    agent.setSecret("s3cr3t-token-value-123");
    const gate = gateRecord("2026-11-22T10:19:55.000Z", "2026-11-22T10:19:58.500Z");
    publishRecord(agent, { ...gate, message: "approved with s3cr3t-token-value-123" }, "x");
    for (const file of readdirSync(join(temp, recordArtifactName)))
      assert.ok(
        !readFileSync(join(temp, recordArtifactName, file), "utf8").includes("s3cr3t-token-value-123"),
        file,
      );
  });

  it("a report that cannot be written is a warning; the record is still published", () => {
    const agent = agentFor();
    // A folder where the report file should be: writing it fails.
    mkdirSync(join(temp, recordArtifactName, files.json), { recursive: true });
    const file = publishRecord(agent, triggerRecord(), "x");
    assert.ok(file && readFileSync(file, "utf8").includes('"TriggerEv2Rollout"'));
    assert.equal(agent.artifacts.length, 1);
    assert.equal(agent.summaries.length, 1);
    assert.deepEqual(
      agent.log.filter((l) => l.kind === "warning").map((l) => l.text.replace(/:.*/s, "")),
      ["Could not update the deployment report"],
    );
  });
});

describe("deployment report: built tasks against the simulators", function () {
  this.timeout(120_000);
  let services: FlowServices | undefined;
  let target: TargetService | undefined;
  let temp: string;
  beforeEach(() => (temp = mkdtempSync(join(tmpdir(), "report-job-"))));
  afterEach(async () => {
    await services?.close();
    await target?.close();
    services = undefined;
    target = undefined;
    rmSync(temp, { recursive: true, force: true });
  });

  /** The steps of one job share Agent.TempDirectory, so each sees the records of those before it. */
  const jobStep = (task: string, inputs: TaskRunSetup["inputs"], more: Partial<TaskRunSetup> = {}) =>
    runBuiltTask(task, flowSetup(services!, inputs, { ...more, tempDirectory: temp }));

  const reportOf = (run: TaskRun) => {
    const isReport = (path: string, ext: string) =>
      /deployment-report\.[^/\\]+$/.test(path) && path.endsWith(ext);
    const json = run.artifacts.find((a) => isReport(a.path, ".json"));
    const markdown = run.artifacts.find((a) => isReport(a.path, ".md"));
    assert.ok(json && markdown, `the step uploads the report: ${JSON.stringify(run.artifacts)}`);
    assert.equal(json.name, recordArtifactName);
    return {
      report: JSON.parse(readFileSync(json.path, "utf8")) as DeploymentReport,
      markdown: readFileSync(markdown.path, "utf8"),
    };
  };

  it("trigger → follow to the gate → stress → approve → follow to the end → notify: the last step's report tells it all", async () => {
    services = await startFlowServices();
    target = await startTargetService();
    const trigger = await jobStep("TriggerEv2Rollout", rolloutInputs);
    assert.equal(trigger.result?.result, "Succeeded", trigger.stdout);
    assert.equal(reportOf(trigger).report.steps.length, 1, "the first step's report has only itself");
    const id = trigger.outputs.rolloutId;
    const steps = [
      await jobStep("FollowRollout", { rolloutId: id, until: "waitAction" }),
      await jobStep("StressTestStage", {
        endpoints: `${target.url}/eastus/api/orders`,
        connections: "2",
        durationSeconds: "1",
        thresholds: "error_rate < 5%",
        region: "eastus",
      }),
      await jobStep("GateApproval", { rolloutId: id, decision: "approve", waitTimeoutMinutes: "5" }),
      await jobStep("FollowRollout", { rolloutId: id }),
      await jobStep("TeamsNotify", {
        rolloutId: id,
        webhookUrl: services.sink.url,
        failOnError: "true",
      }),
    ];
    for (const step of steps) assert.equal(step.result?.result, "Succeeded", step.stdout);
    const { report, markdown } = reportOf(steps[steps.length - 1]);
    assert.equal(report.kind, "ev2-deployment-report");
    assert.equal(report.outcome, "completed");
    assert.deepEqual(
      report.steps.map((s) => s.task),
      [
        "TriggerEv2Rollout",
        "FollowRollout",
        "StressTestStage",
        "GateApproval",
        "FollowRollout",
        "TeamsNotify",
      ],
    );
    const [rollout] = report.rollouts;
    assert.equal(report.rollouts.length, 1);
    assert.equal(rollout.rolloutId, id);
    assert.equal(rollout.artifactVersion, "1.3.2");
    assert.equal(rollout.status, "Completed");
    assert.match(rollout.trigger!.resolution.join("\n"), /Artifact version 1\.3\.2: the newest Active one/);
    assert.deepEqual(
      rollout.stages.map((s) => [s.name, s.status, s.regions.map((g) => g.name)]),
      [
        ["Stage1-Canary", "Completed", ["eastus2euap", "centraluseuap"]],
        ["Stage2-Pilot", "Completed", ["westcentralus", "uksouth"]],
        ["Stage3-Broad", "Completed", ["eastus", "westeurope"]],
      ],
    );
    assert.ok(rollout.stages.every((s) => typeof s.durationSeconds === "number"));
    assert.equal(report.gates.length, 1);
    assert.equal(report.gates[0].actionId, "wait-1");
    assert.equal(report.gates[0].decision, "approved");
    assert.equal(report.gates[0].decidedBy, approver);
    assert.match(report.gates[0].comment ?? "", new RegExp(approvalComment));
    assert.equal(report.stressTests[0].verdict, "passed");
    assert.equal(report.stressTests[0].region, "eastus");
    assert.deepEqual(
      report.notifications.map((n) => [n.card, n.delivered]),
      [["completed", true]],
    );
    assert.equal(services.sink.received.length, 1);

    for (const expected of [
      `## Rollout ${id}: Completed`,
      "| Artifact version | 1.3.2 |",
      "| Stage3-Broad | ✅ Completed |",
      "eastus2euap Completed",
      // The approver's <address> is escaped: raw, it would be a mailto: autolink.
      `| wait-1 | ${id} | Stage3-Broad | approved (asked: approve) | ${approver.replace("<", "&lt;")}`,
      approvalComment,
      "| completed (auto) |",
      "| ✅ passed |",
    ])
      assert.ok(markdown.includes(expected), `missing ${JSON.stringify(expected)} in:\n${markdown}`);
  });

  it("a rollout that fails, then TriggerEv2Rollout with rollbackOf in the same job: the rollback and its time to safety", async () => {
    services = await startFlowServices({ scenario: "failing-region" });
    const bad = await jobStep("TriggerEv2Rollout", rolloutInputs);
    assert.equal(bad.result?.result, "Succeeded", bad.stdout);
    const follow = await jobStep("FollowRollout", { rolloutId: bad.outputs.rolloutId });
    assert.equal(follow.result?.result, "Failed", follow.stdout);
    assert.ok(follow.outputs.verdictAt, "FollowRollout says when it judged the rollout bad");
    const rollback = await jobStep("TriggerEv2Rollout", {
      ...rolloutInputs,
      artifactVersion: "lastSucceeded",
      rollbackOf: bad.outputs.rolloutId,
      badVerdictAt: follow.outputs.verdictAt,
    });
    assert.equal(rollback.result?.result, "Succeeded", rollback.stdout);

    const { report, markdown } = reportOf(rollback);
    assert.equal(report.outcome, "rolledBack");
    assert.equal(report.rollbacks.length, 1);
    const rb = report.rollbacks[0];
    assert.equal(rb.rolledBackRolloutId, bad.outputs.rolloutId);
    assert.equal(rb.rolloutId, rollback.outputs.rolloutId);
    assert.equal(rb.badVersion, "1.3.2");
    assert.equal(rb.rolledBackToVersion, "1.3.1");
    assert.equal(rb.badVerdictAt, follow.outputs.verdictAt);
    assert.equal(rb.timeToSafetySource, "recorded");
    assert.ok(
      Math.abs(rb.timeToSafetySeconds! - Number(rollback.outputs.timeToSafetySeconds)) <= 0.05,
      "the recorded time to safety is the step's output",
    );
    assert.ok(rb.timeToSafetySeconds! >= 0 && rb.timeToSafetySeconds! < 30, `${rb.timeToSafetySeconds} s`);
    assert.equal(report.timeToSafetySeconds, rb.timeToSafetySeconds);
    const badRollout = report.rollouts.find((r) => r.rolloutId === bad.outputs.rolloutId)!;
    assert.equal(badRollout.status, "Failed");
    assert.equal(badRollout.rolledBackBy, rollback.outputs.rolloutId);
    assert.equal(badRollout.failure?.errorCode, "ServiceHealthCheckFailed");
    assert.deepEqual(
      report.badVerdicts.map((v) => v.task),
      ["FollowRollout"],
    );
    for (const expected of [
      "| Outcome | ↩️ rolled back |",
      "## Rollback",
      `| ${bad.outputs.rolloutId} | 1.3.2 | 1.3.1 | ${rollback.outputs.rolloutId} |`,
      `| Time to safety | ${rb.timeToSafetySeconds!.toFixed(1)} s (bad verdict → rollback accepted by EV2) |`,
      "ServiceHealthCheckFailed",
    ])
      assert.ok(markdown.includes(expected), `missing ${JSON.stringify(expected)} in:\n${markdown}`);
  });
});
