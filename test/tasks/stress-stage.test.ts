import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import {
  StressReadinessError,
  completeEndpoint,
  notReadyResult,
  parseThresholds,
  runStressTest,
  validateLoadSettings,
  type StressResultDocument,
} from "../../shared/stress";
import type { Simulator } from "../../sim/ev2";
import { startTargetService, type TargetService } from "../../sim/target-service";
import { matchFiles } from "../../shared/stress/file-pattern";
import { builtTasksDirectory } from "../../pipeline/task-process";
import { runBuiltTask, startBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import { ev2Setup, runVariables, simulator, startTestRollout } from "./ev2-fixture";

function resultOf(run: TaskRun): StressResultDocument {
  assert.ok(run.outputs.resultFile, `resultFile output is set:\n${run.stdout}`);
  return JSON.parse(readFileSync(run.outputs.resultFile, "utf8")) as StressResultDocument;
}

function junitOf(run: TaskRun): string {
  const dir = join(run.tempDirectory, "stress");
  const xml = readdirSync(dir).filter((f) => f.endsWith(".xml"));
  assert.equal(xml.length, 1, `one JUnit file in ${dir}`);
  return readFileSync(join(dir, xml[0]), "utf8");
}

/** Each JUnit test case by name, with its failure message when it failed. */
function testCases(xml: string): Map<string, string | undefined> {
  const cases = new Map<string, string | undefined>();
  for (const m of xml.matchAll(/<testcase [^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const failure = /<failure message="([^"]*)"/.exec(m[2]);
    cases.set(m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">"), failure?.[1]);
  }
  return cases;
}

/** The inputs as the agent hands them over: each one the step leaves out gets task.json's default. */
function withManifestDefaults(inputs: Record<string, string>): Record<string, string> {
  const manifest = JSON.parse(
    readFileSync(join(builtTasksDirectory, "StressTestStage", "task.json"), "utf8"),
  ) as { inputs: Array<{ name: string; defaultValue?: string }> };
  const filled = { ...inputs };
  for (const input of manifest.inputs)
    if (!(input.name in filled) && input.defaultValue !== undefined && input.defaultValue !== "")
      filled[input.name] = input.defaultValue;
  return filled;
}

function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "stress-stage-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe("StressTestStage (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let service: TargetService;
  let sim: Simulator | undefined;

  before(async () => {
    service = await startTargetService();
  });
  afterEach(async () => {
    service.resetBehaviour();
    await sim?.close();
    sim = undefined;
  });
  after(async () => {
    await service.close();
  });

  const orders = () => `${service.url}/{region}/api/orders`;
  const stress = (inputs: TaskRunSetup["inputs"], more: Partial<TaskRunSetup> = {}) =>
    runBuiltTask("StressTestStage", {
      ...more,
      inputs: { connections: "4", durationSeconds: "1", readinessTimeoutSeconds: "5", ...inputs },
      variables: { ...runVariables(), ...more.variables },
    });

  it("healthy: loads the endpoints of every region (lines and a YAML file), succeeds and sets the outputs", async () => {
    const dir = folderWith({
      "config/endpoints.yaml": [
        "endpoints:",
        "  - name: create-order-{region}",
        `    url: ${service.url}/{region}/api/orders`,
        "    method: post",
        "    body:",
        "      sku: stress-{stage}",
        "    expectedStatus: 201",
        `  - url: ${service.url}/health`,
        "",
      ].join("\n"),
    });
    const before = service.stats().byRegion;
    const run = await stress(
      {
        endpoints: orders(),
        endpointsFile: "config/endpoints.yaml",
        region: "eastus, westus",
        stage: "Stage1-Canary",
        connections: "5",
        thresholds: `error_rate < 1%\np95 < 500ms\n${orders()}: p99 < 1s`,
      },
      { tempDirectory: dir },
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.match(
      run.result!.message,
      /^Every threshold held \(\d+ checks; \d+ requests, error rate 0%, p95 [\d.]+ ms\)\.$/,
    );
    assert.equal(run.outputs.passed, "true");
    assert.equal(run.outputs.errorRate, "0");
    for (const name of ["p50Ms", "p95Ms", "p99Ms", "requestsPerSecond"])
      assert.ok(Number(run.outputs[name]) > 0, `${name} = ${run.outputs[name]}`);
    assert.equal(run.outputs.verdictAt, "");
    assert.ok(run.outputs.resultFile.startsWith(join(dir, "stress") + "/"), run.outputs.resultFile);

    const doc = resultOf(run);
    assert.deepEqual(
      doc.endpoints.map((e) => [e.name, e.method]),
      [
        [`${service.url}/eastus/api/orders`, "GET"],
        ["create-order-eastus", "POST"],
        [`${service.url}/health`, "GET"],
        [`${service.url}/westus/api/orders`, "GET"],
        ["create-order-westus", "POST"],
      ],
    );
    assert.ok(doc.endpoints.every((e) => e.requests > 0 && e.errorRatePercent === 0));
    assert.deepEqual(
      doc.thresholds.filter((v) => v.threshold === "p99 < 1s").map((v) => v.endpoint),
      [
        `${service.url}/eastus/api/orders`,
        "create-order-eastus",
        `${service.url}/westus/api/orders`,
        "create-order-westus",
      ],
      "a line naming the URL as written applies to that URL in every region (GET and POST)",
    );
    const after = service.stats().byRegion;
    assert.ok(after.eastus > before.eastus && after.westus > before.westus);
    assert.equal(after.westeurope, before.westeurope);

    assert.match(junitOf(run), /failures="0"/);
    const artifacts = run.artifacts.map((a) => `${a.name}:${a.path.split(".").at(-1)}`).sort();
    assert.deepEqual(artifacts, [
      "ev2-records:json",
      "ev2-records:json",
      "ev2-records:md",
      "stress-results:json",
      "stress-results:xml",
    ]);
    assert.equal(run.summaries.length, 1);
    assert.match(
      readFileSync(run.summaries[0], "utf8"),
      /^## Stress test eastus, westus Stage1-Canary: ✅ passed/,
    );
  });

  it("5% of answers 500 against error_rate < 1%: fails, and the JUnit file shows which test case failed", async () => {
    service.setBehaviour({ errorShare: 0.05 });
    const run = await stress({
      endpoints: orders(),
      region: "eastus",
      thresholds: "error_rate < 1%\np95 < 500ms",
    });
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /^1 of 2 threshold checks failed: overall: error_rate < 1% \(error_rate [\d.]+%, limit < 1%\)\.$/,
    );
    assert.equal(run.outputs.passed, "false");
    assert.ok(Math.abs(Number(run.outputs.errorRate) - 5) < 0.5, run.outputs.errorRate);
    assert.ok(Math.abs(Date.parse(run.outputs.verdictAt) - Date.now()) < 10_000, run.outputs.verdictAt);
    const cases = testCases(junitOf(run));
    assert.deepEqual([...cases.keys()], ["overall: error_rate < 1%", "overall: p95 < 500ms"]);
    assert.match(cases.get("overall: error_rate < 1%") ?? "", /^error_rate [\d.]+%, limit &lt; 1%$/);
    assert.equal(cases.get("overall: p95 < 500ms"), undefined);
    assert.equal(resultOf(run).passed, false);
  });

  it("error_rate < 5% over 2s abort against a failing region: stops the load early, names the region and the time to detect", async () => {
    service.setBehaviour({ errorShare: 0.5 }, "westus");
    const run = await stress({
      endpoints: orders(),
      region: "eastus, westus",
      durationSeconds: "60",
      thresholds: "error_rate < 5% over 2s abort\np95 < 500ms",
    });
    assert.equal(run.result?.result, "Failed", run.stdout);
    const westus = `${service.url}/westus/api/orders`;
    assert.match(
      run.result!.message,
      new RegExp(
        `^The load was aborted early: ${westus.replace(/[.?]/g, "\\$&")}: error_rate < 5% over 2s abort breached \\(error_rate [\\d.]+%, limit < 5%\\) over 2 s at [\\d.]+ s \\(time to detect [\\d.]+ s after load start, [\\d.]+ s after the first failing second\\)\\. \\d+ of \\d+ threshold checks failed: `,
      ),
    );
    const doc = resultOf(run);
    assert.equal(doc.passed, false);
    assert.equal(doc.aborted, false, "stopped by a threshold, not cancelled");
    const early = doc.earlyAbort;
    assert.ok(early, "the result says the load stopped early");
    assert.equal(early.endpoint, westus);
    assert.ok(early.observed > 40 && early.observed < 60, String(early.observed));
    // Never before the window was full; detected while the run had most of its 60 s left.
    assert.ok(early.atSeconds >= 2 && early.timeToDetectSeconds >= 0, JSON.stringify(early));
    assert.ok(early.timeToDetectSeconds <= early.atSeconds);
    assert.ok(
      doc.measuredSeconds < 30,
      `the engine measured ${doc.measuredSeconds} s of the 60 s configured`,
    );
    const eastus = doc.thresholds.find(
      (v) =>
        v.threshold === "error_rate < 5% over 2s abort" && v.endpoint === `${service.url}/eastus/api/orders`,
    );
    assert.equal(eastus?.passed, true, "the healthy region's windows held");

    const cases = testCases(junitOf(run));
    assert.match(
      cases.get("load ran to the end") ?? "",
      /^aborted early: .* \(time to detect [\d.]+ s after load start, [\d.]+ s after the first failing second\)$/,
    );
    assert.match(cases.get(`${westus}: error_rate < 5% over 2s abort`) ?? "", /the load was stopped$/);
    const summary = readFileSync(run.summaries[0], "utf8");
    assert.match(summary, /^## Stress test eastus, westus: ❌ failed/);
    assert.match(
      summary,
      /> ⛔ The load was aborted early: .*time to detect .* It stopped after [\d.]+ s of the 60 s configured/,
    );
    const record = JSON.parse(
      readFileSync(
        run.artifacts.find(
          (a) => a.name === "ev2-records" && a.path.endsWith(".json") && !a.path.includes("report"),
        )!.path,
        "utf8",
      ),
    ) as { details: { earlyAbort?: { endpoint?: string; timeToDetectSeconds?: number } } };
    assert.equal(record.details.earlyAbort?.endpoint, westus);
    assert.equal(record.details.earlyAbort?.timeToDetectSeconds, early.timeToDetectSeconds);
  });

  it("a window that never breaches: the full duration runs and the windowed line passes on its worst window", async () => {
    const run = await stress({
      endpoints: orders(),
      region: "eastus",
      durationSeconds: "3",
      thresholds: "error_rate < 5% over 1s abort\np95 < 500ms over 2s",
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    const doc = resultOf(run);
    assert.equal(doc.earlyAbort, undefined);
    assert.ok(doc.measuredSeconds >= 3, `the engine measured ${doc.measuredSeconds} s of the 3 s configured`);
    const [errors, p95] = doc.thresholds;
    assert.ok(errors.window && errors.window.windows >= 2, JSON.stringify(errors.window));
    assert.match(
      errors.message,
      /^error_rate 0% in the worst 1 s window \(ending at [\d.]+ s; \d+ judged\), limit < 5%$/,
    );
    assert.ok(p95.passed && p95.window && p95.window.windows >= 1, JSON.stringify(p95));
  });

  it("onThresholdFailure warn: succeeds with issues and still says what failed", async () => {
    service.setBehaviour({ errorShare: 0.05 });
    const run = await stress({
      endpoints: orders(),
      region: "westus",
      thresholds: "error_rate < 1%",
      onThresholdFailure: "warn",
    });
    assert.equal(run.result?.result, "SucceededWithIssues", run.stdout);
    assert.match(
      run.result!.message,
      /error_rate < 1% .* The pipeline goes on \(onThresholdFailure is warn\)\.$/,
    );
    assert.equal(run.outputs.passed, "false");
    assert.ok(Date.parse(run.outputs.verdictAt) > 0);
  });

  /** A one-second test of eastus that fails error_rate < 1% once the service errs, cancelling the rollout. */
  const cancelling = (rolloutId: string) => ({
    endpoints: orders(),
    region: "eastus",
    connections: "4",
    durationSeconds: "1",
    thresholds: "error_rate < 1%",
    onThresholdFailure: "cancelRollout",
    rolloutId,
  });

  it("onThresholdFailure cancelRollout: cancels the EV2 rollout with the failed thresholds as the reason, then fails", async () => {
    sim = await simulator("gated", 60);
    const rolloutId = await startTestRollout(sim, "stress-cancel");
    service.setBehaviour({ errorShare: 0.05 });
    const run = await runBuiltTask("StressTestStage", ev2Setup(sim, cancelling(rolloutId)));
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      new RegExp(`error_rate < 1% .*\\. Rollout ${rolloutId} was cancelled\\.$`),
    );
    assert.equal(sim.rollouts().find((r) => r.rolloutId === rolloutId)?.status, "Cancelled");
    const cancels = sim.requests.filter((r) => r.path.endsWith("/cancel"));
    assert.equal(cancels.length, 1);
    assert.match(
      (cancels[0].body as { reason: string }).reason,
      /^StressTestStage: 1 of 1 threshold checks failed: overall: error_rate < 1% \(error_rate [\d.]+%, limit < 1%\) \(https:\/\/dev\.azure\.com\/contoso\/Orders\/_build\/results\?buildId=4711\)$/,
    );
  });

  it("cancelRollout with rolloutId empty: finds the rollout this run started before any load, and cancels it", async () => {
    sim = await simulator("gated", 60);
    const inputs = cancelling("");
    const before = service.stats().requests;
    const none = await runBuiltTask("StressTestStage", ev2Setup(sim, inputs));
    assert.equal(none.result?.result, "Failed", none.stdout);
    assert.match(
      none.result!.message,
      /^Input 'rolloutId' is empty, and EV2 has no rollout that run 4711 started/,
    );
    assert.equal(service.stats().requests, before, "no load without a rollout to cancel");

    const rolloutId = await startTestRollout(sim, "stress-cancel-found", "v3", { "ado.buildId": "4711" });
    service.setBehaviour({ errorShare: 0.05 });
    const run = await runBuiltTask("StressTestStage", ev2Setup(sim, inputs));
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(run.stdout, new RegExp(`Input 'rolloutId' is empty: using rollout ${rolloutId} `));
    assert.match(run.result!.message, new RegExp(`Rollout ${rolloutId} was cancelled\\.$`));
    assert.equal(sim.rollouts().find((r) => r.rolloutId === rolloutId)?.status, "Cancelled");
  });

  it("an endpoint that never becomes ready: a failed verdict with nothing measured, and a result file saying so", async () => {
    service.setBehaviour({ available: false });
    const run = await stress({ endpoints: orders(), region: "eastus", readinessTimeoutSeconds: "1" });
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /^endpoint http:\/\/127\.0\.0\.1:\d+\/eastus\/api\/orders never became ready within 1 s \(last attempt: HTTP 503, expected 200-399\)\.$/,
    );
    assert.equal(run.outputs.passed, "false");
    assert.ok(Date.parse(run.outputs.verdictAt) > 0);
    const doc = resultOf(run);
    assert.equal(doc.passed, false);
    assert.equal(doc.overall.requests, 0);
    const url = `${service.url}/eastus/api/orders`;
    assert.deepEqual(doc.notReady, [{ endpoint: url, url, message: run.result!.message.replace(/\.$/, "") }]);
    const cases = testCases(junitOf(run));
    assert.equal(cases.get(`${url}: became ready`), "endpoint never became ready");
    assert.match(
      readFileSync(run.summaries[0], "utf8"),
      /\n> ❌ endpoint http:\/\/127\.0\.0\.1:\d+\/eastus\/api\/orders never became ready within 1 s \(last attempt: HTTP 503, expected 200-399\)\. Nothing was measured\.\n/,
    );
  });

  it("requests without durationSeconds, as the agent fills the defaults: not capped at 30 s", async () => {
    const inputs = withManifestDefaults({
      endpoints: orders(),
      region: "eastus",
      requests: "300",
      connections: "2",
      readinessTimeoutSeconds: "5",
    });
    assert.equal(inputs.durationSeconds, undefined, "task.json gives durationSeconds no default");
    assert.equal(inputs.connections, "2");
    const run = await runBuiltTask("StressTestStage", { inputs, variables: runVariables() });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.match(run.stdout, /: closed model, 2 connections, 300 requests \(at most 600 s\)\.\n/);
    const doc = resultOf(run);
    assert.equal(doc.load.durationSeconds, 600);
    assert.equal(doc.load.requests, 300);
    assert.equal(doc.overall.requests, 300);
    assert.deepEqual(run.warnings, []);
  });

  it("neither requests nor durationSeconds, as the agent fills the defaults: 30 s", async () => {
    const inputs = withManifestDefaults({ endpoints: orders(), region: "eastus", connections: "2" });
    const task = startBuiltTask("StressTestStage", { inputs, variables: runVariables() });
    // The settings line is all this needs: no waiting 30 s for the load.
    await task.waitForLine(/: closed model, 2 connections, 30 s\.$/, 10_000);
    task.child.kill("SIGINT");
    const run = await task.done;
    assert.equal(resultOf(run).load.durationSeconds, 30);
  });

  it("warns when a request-count run stopped at its time limit before the count", async () => {
    const run = await stress({
      endpoints: orders(),
      region: "eastus",
      requests: "50000000",
      durationSeconds: "0.5",
      connections: "2",
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    const measured = resultOf(run).overall.requests;
    assert.ok(measured > 0 && measured < 50_000_000, String(measured));
    assert.deepEqual(run.warnings, [
      `Measured ${measured} of the 50000000 requests asked for: the run stopped at its time limit of 0.5 s first. Give a longer durationSeconds (at most 600) to reach the count.`,
    ]);
  });

  it("never shows the bearer token, which the endpoints receive", async () => {
    const token = "s3cr3t-stress-bearer-0123456789";
    const seen = new Set<string>();
    const server: Server = createServer((req, res) => {
      seen.add(req.headers.authorization ?? "");
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
      const run = await stress({
        endpoints: url,
        durationSeconds: "0.5",
        connections: "2",
        bearerToken: token,
      });
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.deepEqual([...seen], [`Bearer ${token}`]);
      assert.ok(run.secrets.includes(token), "registered as a secret");
      assert.ok(!run.visibleText.includes(token), "not in the log");
      for (const file of [...run.artifacts.map((a) => a.path), ...run.summaries])
        assert.ok(!readFileSync(file, "utf8").includes(token), `not in ${file}`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  const badYaml = "endpoints:\n  - url: [http://127.0.0.1:1/x\n";
  const badMethod = "- url: http://127.0.0.1:1/x\n  method: FETCH\n";
  for (const [what, inputs, message] of [
    [
      "a malformed threshold line",
      { thresholds: "error_rate < 1%\np95 < fast" },
      /^Input 'thresholds' line 2 "p95 < fast": not a threshold; valid forms: .*'error_rate < 1%', 'p95 < 500ms'/,
    ],
    [
      "5000 connections",
      { connections: "5000" },
      /^Input 'connections' must be a whole number from 1 to 1000 \(got 5000\)\.$/,
    ],
    [
      "a 900 s duration",
      { durationSeconds: "900" },
      /^Input 'durationSeconds' must be a number greater than 0 and at most 600 \(got 900\)\.$/,
    ],
    [
      "a duration that is no number",
      { durationSeconds: "1m" },
      /^Input 'durationSeconds' must be a number .*\(got "1m"\)\.$/,
    ],
    [
      "a URL without a scheme",
      { endpoints: "orders.contoso.com/health" },
      /^Input 'endpoints': "orders\.contoso\.com\/health" is not a URL; expected e\.g\. https:\/\/contoso\.com\/api\/health\.$/,
    ],
    [
      "an ftp URL",
      { endpoints: "ftp://127.0.0.1/x" },
      /^Input 'endpoints': "ftp:\/\/127\.0\.0\.1\/x" uses ftp; only http and https URLs can be loaded\.$/,
    ],
    [
      "a missing endpoints file",
      { endpoints: undefined, endpointsFile: "missing.yaml" },
      /^Input 'endpointsFile' cannot be read: .*missing\.yaml does not exist\. Give a JSON or YAML file of endpoints, relative to /,
    ],
    [
      "an endpoints file that is not YAML",
      { endpoints: undefined, endpointsFile: "bad.yaml" },
      /^Input 'endpointsFile' bad\.yaml: not valid JSON or YAML: /,
    ],
    [
      "an unknown method in the endpoints file",
      { endpoints: undefined, endpointsFile: "method.yaml" },
      /^Input 'endpointsFile' method\.yaml: \[0\]\.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\.$/,
    ],
    [
      "no endpoints at all",
      { endpoints: undefined },
      /^Input 'endpoints' is required when mode is run \(or endpointsFile\)/,
    ],
    [
      "{region} without a region",
      { region: undefined },
      /^Input 'endpoints': ".*\{region\}.*" uses \{region\} but no region was given\.$/,
    ],
    [
      "fewer connections than endpoints",
      { connections: "1", region: "eastus,westus" },
      /^Input 'connections' \(1\) must be at least the number of endpoints \(2\): each endpoint gets connections of its own\.$/,
    ],
    [
      "a threshold for an endpoint that is not loaded",
      { thresholds: "https://elsewhere.contoso.com/: p95 < 1s" },
      /^Input 'thresholds' line 1 "https:\/\/elsewhere\.contoso\.com\/: p95 < 1s": "https:\/\/elsewhere\.contoso\.com\/" is none of the endpoints loaded/,
    ],
    [
      "an unknown onThresholdFailure",
      { onThresholdFailure: "ignore" },
      /^Input 'onThresholdFailure' must be one of fail, warn, cancelRollout \(got "ignore"\)\.$/,
    ],
    [
      "cancelRollout with a rollout id that is no id",
      { onThresholdFailure: "cancelRollout", ev2Connection: "ev2conn", rolloutId: "r 1" },
      /^Input 'rolloutId' must be an EV2 rollout id such as \$\(trigger\.rolloutId\), or empty for the newest this run started \(got "r 1"\)\.$/,
    ],
    ["a region with a slash", { region: "eastus/x" }, /^Input 'region' must be a region name such as eastus/],
    ["merge without result files", { mode: "merge" }, /^Input 'resultFiles' is required when mode is merge/],
    [
      "a relative threshold without a baseline",
      { thresholds: "error_rate < 1%\np95 < 1.2x baseline" },
      /^Input 'baselineFile' is required: thresholds line 2 "p95 < 1\.2x baseline" compares with a baseline; give the result file of an earlier stage or of the last successful run\.$/,
    ],
    [
      "a missing baseline file",
      { baselineFile: "stress-baseline/baseline.json", thresholds: "p95 < 1.2x baseline" },
      /^Input 'baselineFile' cannot be read: .*stress-baseline\/baseline\.json does not exist\. Give the result file of an earlier StressTestStage run/,
    ],
    [
      "a baseline file that is no result",
      { baselineFile: "bad.yaml", thresholds: "p95 < 1.2x baseline" },
      /^Input 'baselineFile': result file bad\.yaml: not JSON: /,
    ],
  ] as const) {
    it(`fails on ${what} before any request is sent`, async () => {
      const dir = folderWith({ "bad.yaml": badYaml, "method.yaml": badMethod });
      const before = service.stats().requests;
      const run = await stress({ endpoints: orders(), region: "eastus", ...inputs }, { tempDirectory: dir });
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.match(run.result!.message, message);
      assert.equal(service.stats().requests, before, "the target service received no request");
      assert.equal(run.outputs.passed, "false");
      assert.equal(run.outputs.resultFile, undefined);
    });
  }

  it("merge: two jobs' result files (a glob) give one exact verdict and the same outputs", async () => {
    const settings = validateLoadSettings({
      connections: 2,
      durationSeconds: 0.5,
      readinessTimeoutSeconds: 5,
    });
    const thresholds = parseThresholds("error_rate < 1%\np99 < 2s");
    const [a, b] = await Promise.all(
      // Each job runs a share of the load on the same endpoint.
      [1, 2].map(() =>
        runStressTest({
          ...settings,
          endpoints: [completeEndpoint({ url: `${service.url}/eastus/api/orders`, name: "orders" })],
          thresholds,
        }),
      ),
    );
    const dir = folderWith({
      "parts/job1/result.json": JSON.stringify(a),
      "parts/job2/result.json": JSON.stringify(b),
      "parts/notes.txt": "not a result",
    });
    const before = service.stats().requests;
    const run = await stress(
      { mode: "merge", resultFiles: "parts/**/*.json", endpoints: undefined },
      { tempDirectory: dir },
    );
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(service.stats().requests, before, "a merge sends nothing");
    const merged = resultOf(run);
    assert.equal(merged.jobs, 2);
    assert.equal(merged.overall.requests, a.overall.requests + b.overall.requests);
    assert.deepEqual(
      merged.thresholds.map((t) => t.threshold),
      ["error_rate < 1%", "p99 < 2s"],
    );
    assert.equal(run.outputs.passed, "true");
    assert.equal(run.outputs.p99Ms, String(merged.overall.latencyMs!.p99));
    assert.ok(
      Math.abs(
        Number(run.outputs.requestsPerSecond) - (a.overall.requestsPerSecond + b.overall.requestsPerSecond),
      ) < 0.01,
    );

    const judged = await stress(
      { mode: "merge", resultFiles: "parts/job1/result.json\nparts/job2/*.json", thresholds: "p50 < 1us" },
      { tempDirectory: dir },
    );
    assert.equal(judged.result?.result, "Failed");
    assert.match(
      judged.result!.message,
      /^1 of 1 threshold checks failed: overall: p50 < 1us \(p50 [\d.]+ ms, limit < 0\.001 ms\)\.$/,
    );

    const none = await stress({ mode: "merge", resultFiles: "parts/*.json" }, { tempDirectory: dir });
    assert.equal(none.result?.result, "Failed");
    assert.match(none.result!.message, /^Input 'resultFiles' line 1 "parts\/\*\.json" matches no file/);
  });

  it("merge: a job whose endpoint never became ready fails the merge, naming its file and the endpoint", async () => {
    const endpoint = completeEndpoint({ url: `${service.url}/westus/api/orders`, name: "orders" });
    const settings = validateLoadSettings({
      connections: 2,
      durationSeconds: 0.5,
      readinessTimeoutSeconds: 0.3,
    });
    const thresholds = parseThresholds("error_rate < 1%");
    const options = { ...settings, endpoints: [endpoint], thresholds };
    const healthy = await runStressTest(options);
    service.setBehaviour({ available: false });
    const startedAt = new Date();
    const err = await runStressTest(options).then(
      () => assert.fail("the endpoint was not ready"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StressReadinessError);
    const dir = folderWith({
      "parts/job1/result.json": JSON.stringify(healthy),
      "parts/job2/result.json": JSON.stringify(notReadyResult(options, err, startedAt)),
    });
    const run = await stress(
      { mode: "merge", resultFiles: "parts/**/*.json", endpoints: undefined },
      { tempDirectory: dir },
    );
    assert.equal(run.result?.result, "Failed", run.stdout);
    const job2 = join(dir, "parts", "job2", "result.json");
    assert.equal(run.result!.message, `result file ${job2}: ${err.message}.`);
    assert.match(
      err.message,
      /^endpoint http:\/\/127\.0\.0\.1:\d+\/westus\/api\/orders never became ready within 0\.3 s/,
    );
    assert.equal(run.outputs.passed, "false");
    assert.ok(Date.parse(run.outputs.verdictAt) > 0);
    const merged = resultOf(run);
    assert.equal(merged.passed, false);
    assert.ok(
      merged.thresholds.every((t) => t.passed),
      "the healthy job's figures pass on their own",
    );
    assert.deepEqual(merged.notReady, [
      { endpoint: "orders", url: endpoint.url, message: err.message, resultFile: job2 },
    ]);
    const cases = testCases(junitOf(run));
    assert.equal(cases.get("orders: became ready"), "endpoint never became ready");
    assert.ok(readFileSync(run.summaries[0], "utf8").includes(`> ❌ result file ${job2}: ${err.message}.`));
  });

  // Latencies large against scheduler noise (a busy core adds milliseconds to tens of them, not
  // a hundred) and limits with wide margins each side: the verdicts hold on a loaded machine.
  it("baseline: a stage twice as slow fails p95 < 1.5x baseline, an unchanged one passes; a passed run publishes baseline.json", async () => {
    const load = { connections: "8", durationSeconds: "2" };
    service.setBehaviour({ latencyMs: 200 });
    const canary = await stress({
      ...load,
      endpoints: orders(),
      region: "eastus",
      thresholds: "p95 < 5000ms",
      publishBaseline: "true",
    });
    assert.equal(canary.result?.result, "Succeeded", canary.stdout);
    const published = canary.artifacts.filter((a) => a.name === "stress-baseline");
    assert.deepEqual(
      published.map((a) => basename(a.path)),
      ["baseline.json"],
    );
    const baselineFile = published[0].path;
    const baseline = JSON.parse(readFileSync(baselineFile, "utf8")) as StressResultDocument;
    assert.equal(baseline.passed, true);
    assert.equal(baseline.endpoints[0].template, `${service.url}/{region}/api/orders`);

    const thresholds = "p95 < 1.5x baseline\nlatency not slower than 1.2x baseline";
    const unchanged = await stress({
      ...load,
      endpoints: orders(),
      region: "westus",
      baselineFile,
      thresholds,
    });
    assert.equal(unchanged.result?.result, "Succeeded", unchanged.stdout);
    assert.equal(resultOf(unchanged).baseline?.endpoints[0].matchedBy, "url");
    assert.match(
      unchanged.stdout,
      /Comparing with the baseline .*baseline\.json: run started .*, \d+ requests, error rate 0%, p95 \d+ ms\./,
    );

    service.setBehaviour({ latencyMs: 400 });
    const slower = await stress({
      ...load,
      endpoints: orders(),
      region: "westeurope",
      baselineFile,
      thresholds,
      publishBaseline: "true",
    });
    assert.equal(slower.result?.result, "Failed", slower.stdout);
    assert.match(
      slower.result!.message,
      /^2 of 2 threshold checks failed: overall: p95 < 1\.5x baseline \(p95 \d+(\.\d+)? ms, limit < \d+(\.\d+)? ms \(1\.5x baseline \d+(\.\d+)? ms\)\); overall: latency not slower than 1\.2x baseline \(latency δ \+\d(\.\d+)? \(large\), .*; slower than the baseline .*\)\.$/,
    );
    const p95 = resultOf(slower).thresholds[0];
    assert.ok(p95.baseline! >= 200 && p95.observed! >= 400, JSON.stringify(p95));
    assert.ok(Math.abs(p95.limit! - 1.5 * p95.baseline!) < 1e-9);
    assert.ok(Date.parse(slower.outputs.verdictAt) > 0);
    const cases = testCases(junitOf(slower));
    assert.match(
      cases.get("overall: p95 < 1.5x baseline") ?? "",
      /^p95 \d+(\.\d+)? ms, limit &lt; \d+(\.\d+)? ms \(1\.5x baseline \d+(\.\d+)? ms\)$/,
    );
    assert.ok(cases.has("overall: compared with baseline"));
    assert.equal(cases.get("overall: compared with baseline"), undefined, "the comparison itself passes");
    const summary = readFileSync(slower.summaries[0], "utf8");
    assert.match(summary, /### Compared with the baseline/);
    assert.match(summary, /\| overall \| \d+ ms → \d+ ms \(\+\d+(\.\d)?%\) \|/);
    assert.ok(!slower.artifacts.some((a) => a.name === "stress-baseline"), "a failed run is no baseline");
    assert.match(slower.stdout, /Not published as the baseline: the run did not pass\./);
  });

  it("on pipeline cancel stops promptly, writes the partial result marked aborted and fails", async () => {
    service.setBehaviour({ latencyMs: 5 });
    const task = startBuiltTask("StressTestStage", {
      inputs: { endpoints: orders(), region: "eastus", connections: "2", durationSeconds: "30" },
      variables: runVariables(),
    });
    await task.waitForLine(/measuring: \d+ measured requests/, 10_000);
    const sentAt = Date.now();
    task.child.kill("SIGINT");
    const run = await task.done;
    assert.ok(Date.now() - sentAt < 5000, `exited after ${Date.now() - sentAt} ms`);
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /^The stress test was cancelled after [\d.]+ s of measurement; the partial result, marked aborted, is in .*-result\.json\.$/,
    );
    const doc = resultOf(run);
    assert.equal(doc.aborted, true);
    assert.equal(doc.passed, false);
    assert.ok(doc.overall.requests > 0);
    assert.equal(run.outputs.passed, "false");
    assert.equal(run.outputs.verdictAt, "");
    assert.match(testCases(junitOf(run)).get("run completed") ?? "", /cancelled/);
  });
});

describe("StressTestStage: result files by path or glob", () => {
  it("matches *, ? and ** within folders, plain paths as they are, and nothing for a missing folder", () => {
    const dir = folderWith({
      "a/x.json": "{}",
      "a/b/y.json": "{}",
      "a/b/c/z.json": "{}",
      "n.txt": "",
      "a/n.txt": "",
    });
    const match = (pattern: string) => matchFiles(pattern, dir).map((f) => f.slice(dir.length + 1));
    assert.deepEqual(match("*/*.json"), ["a/x.json"]);
    assert.deepEqual(match("**/*.json"), ["a/b/c/z.json", "a/b/y.json", "a/x.json"]);
    assert.deepEqual(match("a/**/z.json"), ["a/b/c/z.json"]);
    assert.deepEqual(match("a/?.json"), ["a/x.json"]);
    assert.deepEqual(match("*/*/*"), ["a/b/y.json"], "files only, and no reading inside a file");
    assert.deepEqual(match("n.txt"), ["n.txt"]);
    assert.deepEqual(match(join(dir, "a", "*.json")), ["a/x.json"]);
    assert.deepEqual(match("missing/*.json"), []);
    assert.deepEqual(match("a"), [], "a folder is no result file");
  });
});
