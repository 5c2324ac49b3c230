import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Simulator } from "../../sim/ev2";
import { startTargetService, type TargetService } from "../../sim/target-service";
import { runBuiltTask, type TaskRunSetup } from "../support/run-built-task";
import { ev2Setup, runVariables, simulator, startTestRollout } from "./ev2-fixture";

/** The run's page where the approver acts, as runVariables() make it. */
const approveLink =
  "[Approve or reject in Azure DevOps](https://dev.azure.com/contoso/Orders/_build/results?buildId=4711&view=results)";

describe("The run's summary while EV2 waits for approval (built tasks, one job's temp folder)", function () {
  this.timeout(60_000);
  let sim: Simulator | undefined;
  let service: TargetService;
  before(async () => {
    service = await startTargetService({
      regions: ["eastus2euap", "centraluseuap", "westcentralus", "uksouth"],
    });
  });
  afterEach(async () => {
    service.resetBehaviour();
    await sim?.close();
    sim = undefined;
  });
  after(() => service.close());

  const summaryOf = (run: { summaries: string[] }) => {
    assert.equal(run.summaries.length, 1);
    return readFileSync(run.summaries[0], "utf8");
  };
  const stress = (tempDirectory: string, inputs: TaskRunSetup["inputs"]) =>
    runBuiltTask("StressTestStage", {
      tempDirectory,
      inputs: {
        endpoints: `${service.url}/{region}/api/orders`,
        connections: "4",
        durationSeconds: "1",
        readinessTimeoutSeconds: "5",
        ...inputs,
      },
      variables: runVariables(),
    });

  for (const verdict of ["passed", "failed"] as const) {
    it(`shows the waiting stage, the regions deployed since the last gate, the stress verdict (${verdict}) with its figure, and the link to approve`, async () => {
      sim = await simulator("gated");
      const rolloutId = await startTestRollout(sim, `approval-summary-${verdict}`);
      const job = mkdtempSync(join(tmpdir(), "approval-summary-"));

      const follow = await runBuiltTask(
        "FollowRollout",
        ev2Setup(sim, { rolloutId, until: "waitAction" }, { tempDirectory: job }),
      );
      assert.equal(follow.outputs.waitActionId, "wait-1", follow.stdout);
      const regions = follow.outputs.newRegions;
      assert.equal(regions, "eastus2euap,centraluseuap,westcentralus,uksouth");
      const followSummary = summaryOf(follow);
      assert.match(followSummary, /^### ⏸️ Waiting for approval before Stage3-Broad$/m);
      assert.match(followSummary, /^\| EV2 stage waiting \| Stage3-Broad \|$/m);
      assert.match(followSummary, /^\| Wait action \| wait-1, ManualApproval · waiting since /m);
      assert.match(
        followSummary,
        /^\| Deployed since the last gate \| eastus2euap, centraluseuap, westcentralus, uksouth \|$/m,
      );
      assert.match(
        followSummary,
        /^\| Stress test \| not run yet: no StressTestStage step has run since the rollout was seen at this gate \|$/m,
      );
      assert.ok(followSummary.includes(`**${approveLink}**`), followSummary);

      if (verdict === "failed") service.setBehaviour({ errorShare: 0.05 });
      const tested = await stress(job, { region: regions, thresholds: "error_rate < 1%\np95 < 500ms" });
      assert.equal(tested.outputs.passed, verdict === "passed" ? "true" : "false", tested.stdout);
      const stressSummary = summaryOf(tested);
      // The stress task's own summary first, then the block with the verdict now in.
      assert.match(stressSummary, /^## Stress test /);
      assert.match(stressSummary, /^### ⏸️ Waiting for approval before Stage3-Broad$/m);
      const where = "\\(eastus2euap,centraluseuap,westcentralus,uksouth\\)";
      assert.match(
        stressSummary,
        verdict === "passed"
          ? new RegExp(
              `^\\| Stress test \\| ✅ passed ${where}: error rate 0%, p95 [\\d.]+ ms, p99 [\\d.]+ ms, [\\d.]+ req/s \\|$`,
              "m",
            )
          : new RegExp(
              `^\\| Stress test \\| ❌ failed ${where}: overall: error_rate < 1% \\(error_rate [\\d.]+%, limit < 1%\\)(; and \\d+ more failed thresholds?)? \\|$`,
              "m",
            ),
      );
      assert.ok(stressSummary.includes(`**${approveLink}**`), stressSummary);

      // A later step of the same job with nothing new to say does not repeat the block.
      const again = await runBuiltTask(
        "FollowRollout",
        ev2Setup(sim, { rolloutId, until: "waitAction" }, { tempDirectory: job }),
      );
      assert.doesNotMatch(summaryOf(again), /Waiting for approval/);

      // Once the gate is decided, no step says it waits.
      const gate = await runBuiltTask(
        "GateApproval",
        ev2Setup(
          sim,
          { rolloutId, actionId: "wait-1", decision: "approve", requireApproval: "false" },
          { tempDirectory: job },
        ),
      );
      assert.equal(gate.result?.result, "Succeeded", gate.stdout);
      assert.doesNotMatch(summaryOf(gate), /Waiting for approval/);
    });
  }
});
