import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { builtTasksDirectory } from "../../pipeline/task-process";

const demo = resolve(__dirname, "..", "..", "demo", "run.ts");

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", demo, "--no-color", ...args], {
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("npm run demo (examples/azure-pipelines.yml through the local runner)", function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(join(builtTasksDirectory, "TeamsNotify", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });

  it("ev2-failure: EV2 fails a region before the gate; the failure stage posts the failed card", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "demo-")), "out");
    const { code, stdout, stderr } = await runDemo(["--scenario", "ev2-failure", "--out", out]);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /Stage Notify_failure · Tell the channel the rollout failed/);
    assert.match(stdout, /The demo ended as the scenario expects\./);
    assert.deepEqual(readdirSync(join(out, "teams-cards")), ["01-rollout-failed-at-stage2-pilot.json"]);
  });

  it("refuses an unknown scenario, naming the ones there are", async () => {
    const { code, stderr } = await runDemo(["--scenario", "nope"]);
    assert.equal(code, 2);
    assert.match(stderr, /Unknown scenario 'nope'\. Scenarios: healthy, failing-region, ev2-failure\./);
  });
});
