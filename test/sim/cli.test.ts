import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

function runCli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "sim/cli.ts", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe("EV2 simulator: sim/cli.ts", () => {
  it("prints the URL, serves with the given token and speed, and stops on SIGINT", async () => {
    const run = runCli(["--scenario", "small", "--port", "0", "--speed", "600", "--token", "cli-token"]);
    try {
      let url: string | undefined;
      for (let waited = 0; !url && waited < 10_000; waited += 50) {
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.output().stdout)?.[1];
        if (!url) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(url, `no URL printed: ${JSON.stringify(run.output())}`);
      const state = (await (await fetch(`${url}/_sim/state`)).json()) as { scenario: string; speed: number };
      assert.equal(state.scenario, "small");
      assert.equal(state.speed, 600);
      const versions = await fetch(
        `${url}/serviceGroups/Microsoft.Contoso.Orders/services/orders-api/artifactVersions`,
        {
          headers: { authorization: "Bearer cli-token" },
        },
      );
      assert.equal(versions.status, 200);
      run.child.kill("SIGINT");
      assert.equal(await run.exited, 0);
    } finally {
      run.child.kill("SIGKILL");
    }
  });

  it("exits 2 with the list of bundled scenarios for an unknown one", async () => {
    const run = runCli(["--scenario", "no-such-scenario"]);
    assert.equal(await run.exited, 2);
    assert.match(
      run.output().stderr,
      /no bundled scenario of that name; bundled: failing-region, gated, large-50x20, small/,
    );
  });
});
