import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { builtTasksDirectory } from "../../../pipeline/task-process";
import { runScript } from "../run-script";

const demo = resolve(__dirname, "..", "..", "..", "demo", "run.ts");

describe("npm run demo -- --classic (examples/classic-release.json through the local runner)", function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(join(builtTasksDirectory, "GateApproval", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });

  const scenarios: Array<{ args: string[]; code: number; seen: RegExp }> = [
    {
      args: [],
      code: 0,
      seen: /✔ EV2 records the release's approver and their Azure DevOps approval\n {2}✔ no rollback was started\n {2}✔ Broad succeeded \(after its post-deployment gate\)/,
    },
    {
      args: ["--scenario", "classic-rejection"],
      code: 0,
      seen: /✔ the EV2 gate is undecided\n {2}✔ Broad was not deployed/,
    },
  ];
  for (const s of scenarios)
    it(`${s.args.at(-1) ?? "classic-release"}: judged by what happened in EV2, every check holds`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), "demo-classic-")), "out");
      const { code, stdout, stderr } = await runScript(demo, [
        "--classic",
        "--no-color",
        "--out",
        out,
        ...s.args,
      ]);
      assert.equal(code, s.code, stdout + stderr);
      assert.match(stdout, /Stage Broad\n/);
      assert.match(stdout, s.seen);
      assert.match(stdout, /The demo ended as the scenario expects\./);
    });

  it("refuses a YAML scenario with --classic, naming the classic ones", async () => {
    const { code, stderr } = await runScript(demo, ["--classic", "--scenario", "failing-region"]);
    assert.equal(code, 2);
    assert.match(stderr, /its scenarios are classic-release and classic-rejection \(not failing-region\)/);
  });
});
