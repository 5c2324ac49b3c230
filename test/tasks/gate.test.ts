import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdoServer } from "../../sim/ado/server";
import { addBuild, addPipelineApproval, addProject, guidFrom } from "../../sim/ado/state";
import type { Simulator } from "../../sim/ev2";
import { alice, jobToken, projectName, startSeededAdo } from "../ado/ado-fixture";
import { runBuiltTask } from "../support/run-built-task";
import { ev2Setup, simulator, startTestRollout } from "./ev2-fixture";

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

describe("GateApproval (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ado: AdoServer;
  let rolloutId: string;
  const approvalId = guidFrom("approval:Deploy_PPE");

  beforeEach(async () => {
    sim = await simulator("gated", 1200);
    ado = await startSeededAdo((state) => {
      const project = addProject(state, projectName);
      addBuild(project, 4711, [{ identifier: "Deploy_PPE", approvalIds: [approvalId] }]);
      addPipelineApproval(project, approvalId, [{ by: alice, comment: "Canary metrics look good" }]);
    });
    rolloutId = await startTestRollout(sim, "gate-test");
  });
  afterEach(async () => {
    await sim.close();
    await ado.close();
  });

  const gate = (inputs: Record<string, string>, withAdo = true) =>
    runBuiltTask(
      "GateApproval",
      ev2Setup(
        sim,
        { rolloutId, waitTimeoutMinutes: "1", ...inputs },
        withAdo
          ? {
              variables: { "System.CollectionUri": ado.url, "System.TeamProject": projectName },
              secretVariables: { "System.AccessToken": jobToken },
            }
          : {},
      ),
    );
  const decisions = () => sim.requests.filter((r) => r.path.endsWith("/decision"));
  const waitAction = () => sim.rollouts().find((r) => r.rolloutId === rolloutId)!.waitActions[0];

  it("approve: waits for the gate, carries the Azure DevOps approver and comment into EV2; a re-run changes nothing", async () => {
    const run = await gate({ decision: "approve", comment: "Release 42" });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.deepEqual(run.outputs, {
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

  it("records the run's requester when no access token is available", async () => {
    const run = await gate({ decision: "approve" }, false);
    assert.equal(run.result?.result, "Succeeded");
    assert.equal(run.outputs.decidedBy, "Alice Example");
    assert.match(run.stdout, /System\.AccessToken is not available/);
  });

  it("evaluate: a failed stress result rejects, which ends the rollout, and the task fails", async () => {
    const run = await gate({ decision: "evaluate", evidence: stressResult(false) });
    assert.equal(run.result?.result, "Failed");
    assert.equal(run.outputs.decision, "rejected");
    assert.ok(Date.parse(run.outputs.verdictAt) > 0);
    assert.equal(waitAction().status, "Rejected");
    assert.match(waitAction().comment ?? "", /error_rate 5\.2%, limit < 1%/);
    sim.clock.advance(60_000);
    assert.equal(sim.rollouts().find((r) => r.rolloutId === rolloutId)!.status, "Cancelled");
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
      /Input 'waitTimeoutMinutes' must be a whole number from 0 to 1440/,
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
