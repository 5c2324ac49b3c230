import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fakeTasksDirectory } from "./fake-tasks";
import { runScript, type ScriptRun } from "./run-script";

const cli = resolve(__dirname, "..", "..", "pipeline", "cli.ts");

function runCli(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  return runScript(cli, args, { NO_COLOR: "1", ...env });
}

describe("pipeline CLI", function () {
  // Two whole release plays (about 8 s each on an idle machine, tsx start-up included) in one test.
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), "pipeline-cli-"));
  const tasks = fakeTasksDirectory();
  const file = join(dir, "azure-pipelines.yml");
  writeFileSync(
    file,
    `
variables:
  target: from-the-file
  outcome: Succeeded
steps:
- task: Echo@1
  name: show
  inputs:
    ev2Connection: ev2-orders-prod
    show: target,webhook
    result: $(outcome)
`,
  );

  it("--help explains the options; a missing EV2 choice or file is a usage error (exit 2)", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: npm run pipeline -- <file\.yml \| release\.json> \[options\]/);
    assert.match(help.stdout, /--sim <scenario>/);

    const noEv2 = await runCli([file]);
    assert.equal(noEv2.code, 2);
    assert.match(noEv2.stderr, /Say where EV2 is: --sim <scenario> or --ev2-url <url>\./);

    const noToken = await runCli([file, "--ev2-url", "https://ev2.contoso.com"]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /--ev2-url needs the EV2 API token in the environment variable EV2_TOKEN/);

    const badFile = await runCli([join(dir, "nope.yml"), "--sim", "small"]);
    assert.equal(badFile.code, 2);
    assert.match(badFile.stderr, /nope\.yml does not exist/);
  });

  it("--ev2-url with EV2_TOKEN, --var and --secret reach the task; exit code follows the result", async () => {
    const env = { EV2_TOKEN: "real-ev2-token", TEAMS_HOOK: "https://hooks.example/s3cret" };
    const common = [
      "--ev2-url",
      "https://ev2.contoso.com",
      "--tasks",
      tasks,
      "--secret",
      "webhook=TEAMS_HOOK",
    ];
    const ok = await runCli(
      [file, ...common, "--var", "target=from-the-command-line", "--out", join(dir, "ok")],
      env,
    );
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /connection https:\/\/ev2\.contoso\.com token \*\*\*/);
    assert.match(ok.stdout, /target=from-the-command-line/);
    assert.match(ok.stdout, /webhook=\*\*\*/);
    assert.match(ok.stdout, /✔ Pipeline: Succeeded/);
    assert.match(ok.stdout, /Local run of \S*azure-pipelines\.yml · build \d+/);
    assert.ok(!ok.stdout.includes("real-ev2-token") && !ok.stdout.includes("s3cret"));

    const failed = await runCli(
      [file, ...common, "--var", "outcome=Failed", "--out", join(dir, "failed")],
      env,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /✖ Pipeline: Failed/);
  });

  it("plays a classic release definition (.json with environments) against the simulator; a rejected approval fails it", async () => {
    const release = resolve(__dirname, "..", "..", "examples", "classic-release.json");
    const ok = await runCli([release, "--sim", "gated", "--out", join(dir, "release")]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /The pre-deployment approval of Broad was approved by Sam Lead/);
    assert.match(ok.stdout, /The post-deployment gates of Broad: passed at sample 1/);
    assert.match(ok.stdout, /✔ Pipeline: Succeeded/);
    // A release is called a release, not a build, in the header and the summary.
    assert.match(ok.stdout, /Local run of \S*classic-release\.json · release Release-\d+/);
    assert.match(ok.stdout, /Summary · release Release-\d+ · Succeeded/);

    const rejected = await runCli([
      release,
      "--sim",
      "gated",
      "--reject-approval",
      "Broad",
      "--out",
      join(dir, "rejected"),
    ]);
    assert.equal(rejected.code, 1, rejected.stdout + rejected.stderr);
    assert.match(rejected.stdout, /the pre-deployment approval of Broad was rejected by Sam Lead/);
  });
});
