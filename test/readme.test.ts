import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..");

describe("README.md", () => {
  it("shows the two set-up commands", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.match(readme, /npm ci && npm run demo/);
    assert.match(readme, /npm test/);
  });

  it("has an input table for every task", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    for (const task of readdirSync(join(root, "tasks")))
      assert.ok(readme.includes(`<!-- task-tables:${task} -->`), `README.md has no table for ${task}`);
  });

  it("has input and output tables that match every task.json", () => {
    execFileSync(process.execPath, [join(root, "scripts", "readme-tables.mjs"), "--check"], {
      stdio: "pipe",
    });
  });

  it("links the EV2 REST contract, which names every operation the simulator serves", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.ok(readme.includes("](docs/ev2-rest-contract.md)"));
    const contract = readFileSync(join(root, "docs", "ev2-rest-contract.md"), "utf8");
    const server = readFileSync(join(root, "sim", "ev2", "http-server.ts"), "utf8");
    const names: Record<string, string> = { sg: "{sg}", svc: "{svc}", stageMap: "{stageMapName}" };
    const paths = [...server.matchAll(/pattern: \[([^\]]+)\]/g)].map(
      (m) =>
        "/" +
        [...m[1].matchAll(/"([^"]+)"/g)]
          .map(([, seg]) => (seg.startsWith(":") ? (names[seg.slice(1)] ?? `{${seg.slice(1)}}`) : seg))
          .join("/"),
    );
    assert.ok(paths.length >= 8, paths.join(" "));
    for (const path of paths) assert.ok(contract.includes(path), `the contract describes ${path}`);
  });
});
