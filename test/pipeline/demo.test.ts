import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { builtTasksDirectory } from "../../pipeline/task-process";
import { runScript, type ScriptRun } from "./run-script";

const demo = resolve(__dirname, "..", "..", "demo", "run.ts");

function runDemo(args: string[]): Promise<ScriptRun> {
  return runScript(demo, ["--no-color", ...args]);
}

/** Plays `pipeline` in `scenario`, writing into a fresh temporary folder. */
function playOwnPipeline(scenario: string, pipeline: string): Promise<ScriptRun> {
  const dir = mkdtempSync(join(tmpdir(), "demo-own-pipeline-"));
  return runDemo(["--scenario", scenario, "--pipeline", pipeline, "--out", join(dir, "out")]);
}

describe("npm run demo (examples/azure-pipelines.yml through the local runner)", function () {
  this.timeout(120_000);
  before(function () {
    if (!existsSync(join(builtTasksDirectory, "TeamsNotify", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });

  const scenarios: Array<{ name: string; stage: RegExp; cards: string[] }> = [
    {
      name: "healthy",
      stage: /Stage Broad · Approve and roll out Stage3-Broad/,
      cards: ["01-waiting-for-approval-before-stage3-broad.json", "02-rollout-completed.json"],
    },
    {
      name: "human-rejection",
      stage: /Stage Reject_Broad · Carry the rejection into EV2/,
      cards: ["01-waiting-for-approval-before-stage3-broad.json", "02-rolled-back-to-1-3-1.json"],
    },
    {
      name: "failing-region",
      stage: /Stage Roll_back · Roll back to the last good version/,
      cards: ["01-rolled-back-to-1-3-1.json"],
    },
    {
      name: "ev2-failure",
      stage: /Stage Roll_back · Roll back to the last good version/,
      cards: ["01-rolled-back-to-1-3-1.json"],
    },
    {
      name: "telemetry-healthy",
      stage: /Stage Rollout_PPE · Roll out orders-api to PPE, gated on production telemetry/,
      cards: ["01-rollout-completed.json"],
    },
    {
      name: "telemetry-regression",
      stage: /Stage Roll_back · Roll back to the last good version/,
      cards: ["01-rolled-back-to-1-3-1.json"],
    },
  ];
  for (const scenario of scenarios) {
    it(`${scenario.name}: every check of the scenario holds, and the cards it expects are posted`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), "demo-")), "out");
      const { code, stdout, stderr } = await runDemo(["--scenario", scenario.name, "--out", out]);
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, scenario.stage);
      assert.match(stdout, /The demo ended as the scenario expects\./);
      assert.deepEqual(readdirSync(join(out, "teams-cards")), scenario.cards);
    });
  }

  it("exits 1 when the flow did not end as the scenario expects: a copy of the pipeline without its rollback stage", async () => {
    const dir = mkdtempSync(join(tmpdir(), "demo-mine-"));
    const example = readFileSync(join(__dirname, "..", "..", "examples", "azure-pipelines.yml"), "utf8");
    const noRollback = example.slice(0, example.indexOf("  - stage: Roll_back"));
    assert.ok(noRollback.length > 0 && !noRollback.includes("- stage: Roll_back"));
    writeFileSync(join(dir, "mine.yml"), noRollback);
    const { code, stdout } = await runDemo([
      "--scenario",
      "failing-region",
      "--pipeline",
      join(dir, "mine.yml"),
      "--out",
      join(dir, "out"),
    ]);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /✖ exactly one rollback rollout was started \(saw 0\)/);
    assert.match(stdout, /The demo did NOT end as the scenario expects\./);
  });

  // Written as a new user would, from the README: its own service group, service, stage map,
  // environment, stage and step names, deployment jobs on environments with approvals, its own
  // base URL and webhook variables. Nothing else is written by hand.
  for (const scenario of ["healthy", "failing-region"]) {
    it(`a new user's own pipeline plays in ${scenario}, judged by what happened in EV2`, async () => {
      const { code, stdout, stderr } = await playOwnPipeline(
        scenario,
        join(__dirname, "..", "fixtures", "pipelines", "new-user-payments.yml"),
      );
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, /The demo ended as the scenario expects\./);
      assert.match(stdout, /Stage Deploy: environment 'payments-staging' approved by Riley Release-Manager/);
      if (scenario === "healthy")
        assert.match(stdout, /Stage Release: environment 'payments-prod' approved by Riley Release-Manager/);
      else assert.match(stdout, /✔ the rollback rolls out the last good version \(1\.3\.1\)/);
    });
  }

  // Another new user's pipeline: a literal host, an early-abort threshold and no card at the end.
  // The card checks are not judged then (telling Teams is a choice); EV2's outcome still is.
  for (const scenario of ["healthy", "failing-region"]) {
    it(`a pipeline that posts no card once the rollout ends plays in ${scenario}; the card check is not judged`, async () => {
      const { code, stdout, stderr } = await playOwnPipeline(
        scenario,
        join(__dirname, "fixtures", "new-user-catalog.yml"),
      );
      assert.equal(code, 0, stdout + stderr);
      assert.match(
        stdout,
        /– a card says the rollout (completed|was rolled back): not judged \(the pipeline posts no card once the rollout has ended\)/,
      );
      if (scenario === "failing-region") {
        assert.match(stdout, /The load was aborted early: http:\/\/127\.0\.0\.1:\d+\/uksouth\/api\/items/);
        assert.match(stdout, /✔ exactly one rollback rollout was started/);
      } else assert.match(stdout, /✔ the rollout completed/);
      assert.match(stdout, /The demo ended as the scenario expects\./);
    });
  }

  it("a new user's pipeline with its hosts written into it plays in failing-region: the failing region's load fails", async () => {
    const { code, stdout, stderr } = await playOwnPipeline(
      "failing-region",
      join(__dirname, "fixtures", "new-user-inventory.yml"),
    );
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /\$\(inventoryEndpoint\) = http:\/\/127\.0\.0\.1:\d+\/\{region\}\/v1\/items/);
    // The gate's evidence names the failing region's endpoint (the overall figure may fail too).
    assert.match(
      stdout,
      /FAIL stressResult .*: failed: .*http:\/\/127\.0\.0\.1:\d+\/uksouth\/v1\/items: error_rate/,
    );
    const requests = /requests by region: (.*); errors injected (\d+)/.exec(stdout);
    assert.ok(requests, stdout);
    for (const region of ["eastus2euap", "centraluseuap", "westcentralus", "uksouth"])
      assert.match(requests[1], new RegExp(`\\b${region} [1-9]\\d*`));
    assert.ok(Number(requests[2]) > 0);
    assert.match(stdout, /The demo ended as the scenario expects\./);
  });

  it("--help says how to play your own pipeline and lists the scenarios", async () => {
    const { code, stdout } = await runDemo(["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /--pipeline <file\.yml>/);
    assert.match(stdout, /human-rejection /);
  });

  it("refuses an unknown scenario, naming the ones there are", async () => {
    const { code, stderr } = await runDemo(["--scenario", "nope"]);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /Unknown scenario 'nope'\. Scenarios: healthy, human-approval, human-rejection, failing-region, ev2-failure, telemetry-healthy, telemetry-regression, classic-release, classic-rejection\./,
    );
  });
});
