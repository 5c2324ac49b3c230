import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..");

describe("README.md", () => {
  it("shows the two set-up commands", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.match(readme, /npm ci && npm run demo/);
    assert.match(readme, /npm test/);
  });

  it("has input and output tables that match every task.json", () => {
    execFileSync(process.execPath, [join(root, "scripts", "readme-tables.mjs"), "--check"], {
      stdio: "pipe",
    });
  });
});
