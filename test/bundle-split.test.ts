/**
 * The packages a task needs late or not at all live in files beside its bundle (scripts/build.mjs,
 * lazyPackages), so that its start-up does not parse them: the bundle must not carry a second copy
 * of one, and a run loads such a file only when it gets that far.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTargetService, type TargetService } from "../sim/target-service";
import { runBuiltTask, type TaskRunSetup } from "./support/run-built-task";
import { runVariables } from "./tasks/ev2-fixture";

const root = join(__dirname, "..");
const builtTasksDirectory = join(root, "dist", "tasks");
const lazilyLoaded = [
  "@azure/identity",
  "azure-devops-node-api",
  "typed-rest-client",
  "yaml",
  "hdr-histogram-js",
];

/** The npm packages a task's bundle was built from (its source map's sources). */
function bundledPackages(task: string): string[] {
  const map = JSON.parse(readFileSync(join(root, "dist", "sourcemaps", task, "index.js.map"), "utf8"));
  const packages = (map.sources as string[])
    .map((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s)?.[1])
    .filter((p): p is string => p !== undefined);
  return [...new Set(packages)];
}

/** The files of dist/tasks/<task> that a run of it loaded (from its V8 coverage). */
function filesLoaded(coverageDir: string, task: string): string[] {
  const taskDir = join(builtTasksDirectory, task);
  const loaded = new Set<string>();
  for (const file of readdirSync(coverageDir)) {
    const coverage = JSON.parse(readFileSync(join(coverageDir, file), "utf8"));
    for (const script of coverage.result as Array<{ url: string }>) {
      if (!script.url.startsWith("file:")) continue;
      const path = fileURLToPath(script.url);
      if (path.startsWith(taskDir + "/")) loaded.add(path.slice(taskDir.length + 1));
    }
  }
  return [...loaded].sort();
}

describe("task bundles and the packages loaded beside them", function () {
  this.timeout(60_000);

  it("no bundle carries a package that is loaded from a file beside it", () => {
    const tasks = readdirSync(builtTasksDirectory).filter((t) =>
      readdirSync(join(builtTasksDirectory, t)).includes("index.js"),
    );
    assert.ok(tasks.includes("StressTestStage") && tasks.includes("GateApproval"), tasks.join());
    for (const task of tasks) {
      const packages = bundledPackages(task);
      assert.ok(packages.includes("zod"), `${task}'s source map lists its packages: ${packages.join()}`);
      for (const lazy of lazilyLoaded) assert.ok(!packages.includes(lazy), `${task} bundles ${lazy}`);
    }
  });

  describe("StressTestStage", () => {
    let service: TargetService;
    before(async () => {
      service = await startTargetService();
    });
    after(async () => {
      await service.close();
    });

    const stressLoading = async (inputs: TaskRunSetup["inputs"], tempDirectory?: string) => {
      const coverageDir = mkdtempSync(join(tmpdir(), "bundle-split-"));
      const run = await runBuiltTask("StressTestStage", {
        inputs: { connections: "1", durationSeconds: "1", readinessTimeoutSeconds: "5", ...inputs },
        variables: runVariables(),
        env: { NODE_V8_COVERAGE: coverageDir },
        tempDirectory,
      });
      return { run, loaded: filesLoaded(coverageDir, "StressTestStage") };
    };

    it("a run stopped by a bad input loads the bundle alone", async () => {
      const { run, loaded } = await stressLoading({ endpoints: "not a url" });
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.deepEqual(loaded, ["index.js"]);
    });

    it("a run that measures loads HdrHistogram; an endpoints file in YAML loads the YAML parser", async () => {
      const lines = await stressLoading({ endpoints: `${service.url}/health` });
      assert.equal(lines.run.result?.result, "Succeeded", lines.run.stdout);
      assert.deepEqual(lines.loaded, ["hdr-histogram-js.js", "index.js"]);

      const dir = mkdtempSync(join(tmpdir(), "bundle-split-yaml-"));
      writeFileSync(join(dir, "endpoints.yaml"), `endpoints:\n  - url: ${service.url}/health\n`);
      const file = await stressLoading({ endpointsFile: "endpoints.yaml" }, dir);
      assert.equal(file.run.result?.result, "Succeeded", file.run.stdout);
      assert.deepEqual(file.loaded, ["hdr-histogram-js.js", "index.js", "yaml.js"]);
    });
  });
});
