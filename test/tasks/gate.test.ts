import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdoServer } from "../../sim/ado/server";
import {
  addBuild,
  addPipelineApproval,
  addProject,
  addReleaseApproval,
  guidFrom,
  stageTimelineRecords,
} from "../../sim/ado/state";
import { loadScenario, startSimulator, type Scenario, type Simulator } from "../../sim/ev2";
import { startTargetService } from "../../sim/target-service";
import { alice, jobToken, projectName, startSeededAdo } from "../ado/ado-fixture";
import { startRecordingProxy } from "../helpers/recording-proxy";
import { recordArtifacts, runBuiltTask, type TaskRun } from "../support/run-built-task";
import { ev2Setup, simulator, startTestRollout, TOKEN } from "./ev2-fixture";

function stressResult(passed: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "gate-evidence-"));
  const file = join(dir, "stress-result.json");
  const thresholds = [
    {
      line: 1,
      threshold: "error_rate < 1%",
      scope: "overall",
      metric: "error_rate",
      operator: "<",
      limit: 1,
      unit: "%",
      observed: passed ? 0 : 5.2,
      passed,
      message: `error_rate ${passed ? "0%" : "5.2%"}, limit < 1%`,
    },
  ];
  writeFileSync(
    file,
    JSON.stringify({ schemaVersion: 1, kind: "stressTestResult", passed, aborted: false, thresholds }),
  );
  return file;
}

/** Azure DevOps with Alice's approval of stage Deploy_PPE (build 4711) and of release 57's Prod. */
function startApprovingAdo(): Promise<AdoServer> {
  const approvalId = guidFrom("approval:Deploy_PPE");
  return startSeededAdo((state) => {
    const project = addProject(state, projectName);
    addBuild(project, 4711, [{ identifier: "Deploy_PPE", approvalIds: [approvalId] }]);
    addPipelineApproval(project, approvalId, [{ by: alice, comment: "Canary metrics look good" }]);
    addReleaseApproval(project, {
      id: 301,
      releaseId: 57,
      environmentId: 7,
      environmentName: "Prod",
      approver: alice,
      comments: "Go for prod",
    });
  });
}

/** The gated scenario with two gates: wait-1 before Stage2-Pilot, wait-2 before Stage3-Broad. */
function twoGateScenario(): Scenario {
  const scenario = structuredClone(loadScenario("gated"));
  scenario.name = "two-gates";
  scenario.serviceGroups[0].services[0].stageMaps[0].waitActions = [
    { actionId: "wait-1", beforeStage: "Stage2-Pilot", reason: "ManualApproval" },
    { actionId: "wait-2", beforeStage: "Stage3-Broad", reason: "ManualApproval" },
  ];
  return scenario;
}

/** The record the step published in ev2-records. */
function publishedRecord(run: TaskRun) {
  const records = recordArtifacts(run);
  assert.equal(records.length, 1, JSON.stringify(run.artifacts));
  return JSON.parse(readFileSync(records[0].path, "utf8"));
}

describe("GateApproval (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ado: AdoServer;
  let rolloutId: string;

  beforeEach(async () => {
    sim = await simulator("gated", 1200);
    ado = await startApprovingAdo();
    rolloutId = await startTestRollout(sim, "gate-test");
  });
  afterEach(async () => {
    await sim.close();
    await ado.close();
  });

  const gate = (inputs: Record<string, string>, withAdo = true, variables: Record<string, string> = {}) =>
    runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { rolloutId, waitTimeoutMinutes: "1", ...inputs },
        withAdo
          ? {
              variables: { "System.CollectionUri": ado.url, "System.TeamProject": projectName, ...variables },
              secretVariables: { "System.AccessToken": jobToken },
            }
          : { variables },
      ),
    );
  /** The step in another stage of build 4711 (stageName), with the job's token. */
  const gateInStage = (stageName: string, inputs: Record<string, string>) =>
    runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { rolloutId, waitTimeoutMinutes: "1", ...inputs },
        {
          variables: {
            "System.CollectionUri": ado.url,
            "System.TeamProject": projectName,
            "System.StageName": stageName,
          },
          secretVariables: { "System.AccessToken": jobToken },
        },
      ),
    );
  const decisions = () => sim.requests.filter((r) => r.path.endsWith("/decision"));
  const waitAction = () => sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions[0];

  it("approve: waits for the gate, carries the Azure DevOps approver and comment into EV2; a re-run changes nothing", async () => {
    const run = await gate({ decision: "approve", comment: "Release 42" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.deepEqual(run.outputs, {
      rolloutId,
      decision: "approved",
      actionId: "wait-1",
      decidedBy: "Alice Approver <alice@contoso.com>",
      verdictAt: "",
    });
    const action = waitAction();
    assert.equal(action.status, "Approved");
    assert.equal(action.decidedBy, "Alice Approver <alice@contoso.com>");
    assert.match(
      action.comment ?? "",
      /^Canary metrics look good Release 42 \(Azure DevOps approval, http:\/\/127\.0\.0\.1:\d+\/DefaultCollection\/Contoso\/_build\/results\?buildId=4711, stage Deploy_PPE\)$/,
    );
    assert.ok(!run.visibleText.includes(jobToken));

    const again = await gate({ decision: "approve" });
    assert.equal(again.result?.result, "Succeeded");
    assert.match(again.result!.message, /already Approved by Alice Approver/);
    assert.equal(decisions().length, 1);
  });

  it("reject after an approval is a clear error", async () => {
    await gate({ decision: "approve" });
    const run = await gate({ decision: "reject" });
    assert.equal(run.result?.result, "Failed");
    assert.match(run.result!.message, /already Approved by Alice Approver .*cannot be rejected now/);
  });

  it("fails closed: without the Azure DevOps approval nothing is decided in EV2, and it says what it looked for", async () => {
    const noToken = await gate({ decision: "approve" }, false);
    assert.equal(noToken.result?.result, "Failed", noToken.stdout);
    assert.match(
      noToken.result!.message,
      /^Wait action wait-1 before stage Stage3-Broad was not approved in EV2: no Azure DevOps decision was found \(looked for the approved approval of stage Deploy_PPE in the timeline of build 4711\)\. The job has no Azure DevOps token .* or set requireApproval: false/,
    );
    const otherStage = await gateInStage("Broad", { decision: "approve" });
    assert.equal(otherStage.result?.result, "Failed", otherStage.stdout);
    assert.match(
      otherStage.result!.message,
      /Stage 'Broad' is not in the timeline of build 4711\. Run this step in a deployment job whose environment has an approval check/,
    );
    const rejectWithoutRejection = await gate({ decision: "reject" });
    assert.equal(rejectWithoutRejection.result?.result, "Failed");
    assert.match(rejectWithoutRejection.result!.message, /was not rejected in EV2: .*no rejected step/);
    assert.equal(decisions().length, 0);
    assert.equal(waitAction().status, "Waiting");
  });

  it("reject: a stage run on a rejection rejects the wait action with the rejecter and their comment", async () => {
    const rejection = guidFrom("approval:Broad");
    const project = ado.state.projects[0];
    const build = project.builds.find((b) => b.id === 4711)!;
    build.records.push(...stageTimelineRecords(4711, { identifier: "Broad", approvalIds: [rejection] }));
    addPipelineApproval(project, rejection, [
      { by: alice, comment: "Error budget spent, roll back", status: "rejected" },
    ]);
    const run = await gateInStage("Reject_Broad", { decision: "reject" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.decision, "rejected");
    assert.equal(run.outputs.decidedBy, "Alice Approver <alice@contoso.com>");
    const action = waitAction();
    assert.equal(action.status, "Rejected");
    assert.match(action.comment ?? "", /^Error budget spent, roll back \(Azure DevOps rejection, /);
  });

  it("requireApproval: false records the run's requester when no access token is available, and says why in the record", async () => {
    const run = await gate({ decision: "approve", requireApproval: "false" }, false);
    assert.equal(run.result?.result, "Succeeded");
    assert.equal(run.outputs.decidedBy, "Alice Example");
    const why =
      /The job has no Azure DevOps token \(the SystemVssConnection endpoint's token \(or System\.AccessToken\)\)/;
    assert.match(run.stdout, why);
    const { details } = publishedRecord(run);
    assert.equal(details.approverSource, "requester");
    assert.match(details.approverNote, why);
  });

  it("classic release without System.AccessToken: the approver is read with the SystemVssConnection token, masked", async () => {
    const run = await runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { rolloutId, waitTimeoutMinutes: "1", decision: "approve", comment: "Release 42" },
        {
          variables: {
            "System.CollectionUri": ado.url,
            "System.TeamProject": projectName,
            "System.StageName": undefined,
            "Release.ReleaseId": "57",
            "Release.EnvironmentId": "7",
            "Release.EnvironmentName": "Prod",
          },
          endpoints: {
            SYSTEMVSSCONNECTION: { url: ado.url, scheme: "OAuth", parameters: { AccessToken: jobToken } },
          },
        },
      ),
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.decidedBy, "Alice Approver <alice@contoso.com>");
    assert.match(
      waitAction().comment ?? "",
      /^Go for prod Release 42 \(Azure DevOps approval, http:\/\/127\.0\.0\.1:\d+\/DefaultCollection\/Contoso\/_releaseProgress\?releaseId=57, stage Prod\)$/,
    );
    assert.ok(run.secrets.includes(jobToken), "the token is registered as a secret");
    assert.ok(!run.visibleText.includes(jobToken));
    const { details } = publishedRecord(run);
    assert.equal(details.approverSource, "releaseApproval");
    assert.equal(details.decidedBy, "Alice Approver <alice@contoso.com>");
  });

  it("evaluate: a failed stress result rejects, which ends the rollout, and the task fails", async () => {
    const run = await gate({ decision: "evaluate", evidence: stressResult(false) });
    assert.equal(run.result?.result, "Failed");
    assert.equal(run.outputs.decision, "rejected");
    assert.ok(Date.parse(run.outputs.verdictAt) > 0);
    assert.equal(waitAction().status, "Rejected");
    assert.match(
      waitAction().comment ?? "",
      /Evaluated: stress-result\.json: .*error_rate 5\.2%, limit < 1%/,
    );
    assert.ok(!(waitAction().comment ?? "").includes(tmpdir()), "the agent's temp folder stays out of EV2");
    sim.clock.advance(60_000);
    assert.equal(sim.rollouts().find((r) => r.rolloutId === rolloutId)!.status, "Cancelled");
  });

  it("evaluate: each health probe must answer 2xx within its own limit (5 s unless the line says)", async () => {
    const target = await startTargetService();
    try {
      target.setBehaviour({ latencyMs: 400, latencyJitterMs: 0 }, "westus");
      const run = await gate({
        decision: "evaluate",
        evidence: stressResult(true),
        healthProbes: [
          `${target.url}/eastus/health`,
          `${target.url}/eastus/api/orders < 2s`,
          `${target.url}/westus/api/orders < 100ms`,
        ].join("\n"),
      });
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.equal(run.outputs.decision, "rejected");
      const evidence = publishedRecord(run).details.evidence as Array<{
        source: string;
        passed: boolean;
        detail: string;
      }>;
      const probes = evidence.filter((e) => e.source.startsWith(target.url));
      assert.deepEqual(
        probes.map((e) => [e.source.slice(target.url.length), e.passed]),
        [
          ["/eastus/health", true],
          ["/eastus/api/orders", true],
          ["/westus/api/orders", false],
        ],
      );
      assert.match(probes[0].detail, /^HTTP 200 in \d+ ms, limit 5000 ms$/);
      assert.match(probes[2].detail, /^HTTP 200 in \d+ ms, limit 100 ms: too slow$/);
    } finally {
      await target.close();
    }
  });

  it("evaluate: health probes go through the agent's proxy, to names only the proxy resolves", async () => {
    const target = await startTargetService();
    const proxy = await startRecordingProxy({
      hosts: { "orders-eastus.contoso.test": new URL(target.url).host },
    });
    try {
      const run = await gate(
        {
          decision: "evaluate",
          evidence: stressResult(true),
          healthProbes: "http://orders-eastus.contoso.test/eastus/health",
        },
        true,
        // EV2 and Azure DevOps (127.0.0.1 here) go direct; the probe must not.
        {
          "Agent.ProxyUrl": proxy.url,
          "Agent.ProxyBypassList": JSON.stringify(["^http://127\\.0\\.0\\.1:"]),
        },
      );
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.equal(run.outputs.decision, "approved");
      assert.deepEqual(
        proxy.requests.map((r) => [r.kind, r.url, r.status]),
        [["absolute", "http://orders-eastus.contoso.test/eastus/health", 200]],
      );
    } finally {
      await proxy.close();
      await target.close();
    }
  });

  it("evaluate: passing evidence approves", async () => {
    const run = await gate({ decision: "evaluate", evidence: stressResult(true) });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.decision, "approved");
    assert.match(run.outputs.decidedBy, /^Automatic gate/);
    assert.equal(waitAction().status, "Approved");
  });

  it("evaluate with onUnhealthy: leaveWaiting decides nothing and succeeds with issues", async () => {
    const run = await gate({
      decision: "evaluate",
      evidence: stressResult(false),
      onUnhealthy: "leaveWaiting",
    });
    assert.equal(run.result?.result, "SucceededWithIssues");
    assert.equal(run.outputs.decision, "leftWaiting");
    assert.equal(decisions().length, 0);
  });

  it("evaluate with onUnhealthy: fail leaves the gate waiting and fails the task", async () => {
    const run = await gate({ decision: "evaluate", evidence: stressResult(false), onUnhealthy: "fail" });
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /^The evidence did not hold \(.*error_rate 5\.2%, limit < 1%\); wait action wait-1 was left waiting \(onUnhealthy: fail\)\.$/,
    );
    assert.equal(run.outputs.decision, "leftWaiting");
    assert.equal(decisions().length, 0);
    assert.equal(waitAction().status, "Waiting");
    assert.equal(publishedRecord(run).result, "Failed");
  });

  it("fails with a clear error when the rollout does not reach a gate within waitTimeoutMinutes", async () => {
    sim.clock.speed = 0; // the rollout stays where it is: far from wait-1
    const run = await gate({ decision: "approve", waitTimeoutMinutes: "0" });
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /WaitActionTimeout: the rollout did not reach a wait action within 0s \(it is (NotStarted|InProgress)[^)]*\)\. Raise waitTimeoutMinutes or run this step after FollowRollout with until: waitAction\.$/,
    );
    assert.equal(decisions().length, 0);
    assert.equal(publishedRecord(run).result, "Failed");
  });

  for (const [what, inputs, message] of [
    [
      "a missing evidence file",
      { decision: "evaluate", evidence: "/nope/result.json" },
      /Input 'evidence' line 1 .*does not exist/,
    ],
    [
      "an unknown decision",
      { decision: "maybe" },
      /Input 'decision' must be one of approve, reject, evaluate/,
    ],
    [
      "a bad probe URL",
      { decision: "evaluate", healthProbes: "ftp://x" },
      /Input 'healthProbes' line 1 .*http\(s\) URL/,
    ],
    [
      "an out-of-range wait",
      { decision: "approve", waitTimeoutMinutes: "5000" },
      /Input 'waitTimeoutMinutes' must be a number from 0 to 1440/,
    ],
  ] as const) {
    it(`fails on ${what} with nothing sent`, async () => {
      const before = sim.requests.length;
      const run = await gate(inputs);
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, message);
      assert.equal(sim.requests.length, before);
    });
  }
});

describe("GateApproval on a rollout with two gates (built task)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ado: AdoServer;
  let rolloutId: string;

  beforeEach(async () => {
    sim = await startSimulator({ scenario: twoGateScenario(), clockSpeed: 1200, tokens: [TOKEN] });
    ado = await startApprovingAdo();
    rolloutId = await startTestRollout(sim, "two-gates");
  });
  afterEach(async () => {
    await sim.close();
    await ado.close();
  });

  const gate = (attempt: number) =>
    runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { rolloutId, decision: "approve", waitTimeoutMinutes: "1" },
        {
          variables: {
            "System.CollectionUri": ado.url,
            "System.TeamProject": projectName,
            "System.JobAttempt": String(attempt),
          },
          secretVariables: { "System.AccessToken": jobToken },
        },
      ),
    );
  const waitActions = () => sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions;

  it("a re-run after the rollout moved on to wait-2 reports its wait-1 decision and leaves wait-2 waiting", async () => {
    const first = await gate(1);
    assert.equal(first.result?.result, "Succeeded", first.stdout);
    assert.equal(first.outputs.actionId, "wait-1");

    sim.clock.advance(60 * 60_000); // through Stage2-Pilot to wait-2
    assert.deepEqual(
      waitActions().map((w) => [w.actionId, w.status]),
      [
        ["wait-1", "Approved"],
        ["wait-2", "Waiting"],
      ],
    );

    const rerun = await gate(2);
    assert.equal(rerun.result?.result, "Succeeded", rerun.stdout);
    assert.equal(
      rerun.result!.message,
      "Wait action wait-1 was already Approved by Alice Approver <alice@contoso.com>; nothing changed.",
    );
    assert.deepEqual(rerun.outputs, {
      rolloutId,
      decision: "approved",
      actionId: "wait-1",
      decidedBy: "Alice Approver <alice@contoso.com>",
      verdictAt: "",
    });
    assert.equal(sim.requests.filter((r) => r.path.endsWith("/decision")).length, 1);
    assert.equal(waitActions()[1].status, "Waiting");
  });
});
