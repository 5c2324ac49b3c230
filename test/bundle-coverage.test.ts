import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCoverage } from "../scripts/bundle-coverage.mjs";
import { runBuiltTask } from "./support/run-built-task";

const root = join(__dirname, "..");

describe("coverage of the built bundles, mapped back onto the sources", () => {
  it("counts the lines a bundle ran as covered and the lines it did not as uncovered", async () => {
    const coverageDir = mkdtempSync(join(tmpdir(), "bundle-coverage-"));
    // mode run without endpoints: the input check runs and fails; nothing reads a file or merges.
    const run = await runBuiltTask("StressTestStage", {
      inputs: { mode: "run" },
      env: { NODE_V8_COVERAGE: coverageDir },
    });
    assert.match(run.result?.message ?? "", /^Input 'endpoints' is required when mode is run/);

    const file = join(root, "shared", "tasks", "stress", "inputs.ts");
    const coverage = bundleCoverage(coverageDir, root)[file];
    assert.ok(coverage, "inputs.ts is in the bundle's coverage");
    const byLine = new Map(
      Object.entries(coverage.statementMap).map(([key, loc]) => [loc.start.line, coverage.s[key]]),
    );
    const source = readFileSync(file, "utf8").split("\n");
    const lineOf = (text: string) => {
      const index = source.findIndex((l) => l.includes(text));
      assert.ok(index >= 0, `inputs.ts has a line with ${text}`);
      return index + 1;
    };
    const countOf = (text: string) => byLine.get(lineOf(text));

    // Ran: the check that found no endpoints, and its problem.
    assert.ok(countOf(`if (v.mode === "run" && !v.endpoints`)! > 0);
    assert.ok(countOf(`"endpoints",`)! > 0);
    // Not run: the merge check's problem, the cancelRollout checks, reading a file.
    assert.equal(countOf(`"resultFiles",`), 0);
    assert.equal(countOf(`problems.push(...checkConnection(v));`), 0);
    assert.equal(countOf(`const stat = statSync(path);`), 0);
    // A comment has no code, so it is not counted either way.
    assert.equal(byLine.get(lineOf("/** Reads a file an input names")), undefined);
    // Partly covered, not the all-covered answer of remapping ranges by their ends.
    const counts = [...byLine.values()];
    assert.ok(counts.some((c) => c === 0) && counts.some((c) => c > 0));
  });
});
