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

/** A --require'd script that writes the process's loaded Node modules to $BUILTINS_LOADED_FILE at exit. */
const builtinsAtExit = join(mkdtempSync(join(tmpdir(), "builtins-at-exit-")), "builtins-at-exit.cjs");
writeFileSync(
  builtinsAtExit,
  `process.on("exit", () => require("node:fs").writeFileSync(process.env.BUILTINS_LOADED_FILE, process.moduleLoadList.join("\\n")));\n`,
);

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
      const builtins = join(mkdtempSync(join(tmpdir(), "bundle-split-builtins-")), "builtins.txt");
      const run = await runBuiltTask("StressTestStage", {
        inputs: { connections: "1", durationSeconds: "1", readinessTimeoutSeconds: "5", ...inputs },
        variables: runVariables(),
        env: {
          NODE_V8_COVERAGE: coverageDir,
          NODE_OPTIONS: `--require ${builtinsAtExit}`,
          BUILTINS_LOADED_FILE: builtins,
        },
        tempDirectory,
      });
      const loadedBuiltins = readFileSync(builtins, "utf8")
        .split("\n")
        .flatMap((m) => /^NativeModule (\S+)$/.exec(m)?.[1] ?? []);
      return { run, loaded: filesLoaded(coverageDir, "StressTestStage"), loadedBuiltins };
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
      // Against an http endpoint, with the agent's CA bundle set (runVariables): no TLS, no crypto.
      assert.ok(lines.loadedBuiltins.includes("http"), lines.loadedBuiltins.join());
      for (const unused of ["tls", "https", "crypto"])
        assert.ok(!lines.loadedBuiltins.includes(unused), unused);

      const dir = mkdtempSync(join(tmpdir(), "bundle-split-yaml-"));
      writeFileSync(join(dir, "endpoints.yaml"), `endpoints:\n  - url: ${service.url}/health\n`);
      const file = await stressLoading({ endpointsFile: "endpoints.yaml" }, dir);
      assert.equal(file.run.result?.result, "Succeeded", file.run.stdout);
      assert.deepEqual(file.loaded, ["hdr-histogram-js.js", "index.js", "yaml.js"]);
    });
  });
});
