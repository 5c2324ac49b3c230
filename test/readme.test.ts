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
});
