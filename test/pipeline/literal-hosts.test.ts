import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startLocalPlay, type LocalPlay } from "../../pipeline/local-play";
import { readPipeline } from "../../pipeline/pipeline-file";
import { ev2NamesOf, scenarioForPipeline } from "../../pipeline/pipeline-world";
import type { PipelineRunResult } from "../../pipeline/run-events";
import { runPipeline } from "../../pipeline/runner";
import { startSimulatedServices, type SimulatedServices } from "../../pipeline/simulated-services";
import { builtTasksDirectory } from "../../pipeline/task-process";
import { runScript } from "./run-script";

// A new user's pipeline: its own names, and its endpoints, probes and one webhook on literal hosts.
const fixture = join(__dirname, "fixtures", "literal-hosts.yml");
const canaryAndPilot = ["eastus2euap", "centraluseuap", "westcentralus", "uksouth"];

/** Every line of every step log of a run. */
function logLines(out: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else lines.push(...readFileSync(join(dir, entry.name), "utf8").split("\n"));
  };
  walk(join(out, "logs"));
  return lines;
}

describe("local play of a pipeline's literal endpoint and webhook hosts (built tasks, simulators on 127.0.0.1)", function () {
  this.timeout(90_000);
  let services: SimulatedServices;
  let local: LocalPlay;
  let seeded: Set<string>;
  let closeWorld: (() => Promise<void>) | undefined;

  before(function () {
    if (!existsSync(join(builtTasksDirectory, "StressTestStage", "index.js")))
      throw new Error("The tasks are not built: run npm run build first.");
  });
  afterEach(async () => {
    await closeWorld?.();
    closeWorld = undefined;
  });

  async function play(failingRegion?: string): Promise<{ run: PipelineRunResult; out: string }> {
    const definition = readPipeline(readFileSync(fixture, "utf8"));
    services = await startSimulatedServices({
      scenario: scenarioForPipeline("gated", ev2NamesOf(definition)),
      clockSpeed: 600,
    });
    seeded = new Set(services.ev2.rollouts().map((r) => r.rolloutId));
    local = await startLocalPlay(definition, services.ev2.scenario);
    closeWorld = async () => void (await Promise.all([services.close(), local.close()]));
    local.target.setBehaviour({ latencyMs: 2 });
    if (failingRegion) local.target.setBehaviour({ errorShare: 0.25, errorStatus: 503 }, failingRegion);
    const out = join(mkdtempSync(join(tmpdir(), "literal-hosts-")), "out");
    const run = await runPipeline({
      file: fixture,
      outputDirectory: out,
      ...services.runOptions,
      variables: { ...services.runOptions.variables, ...local.variables },
      secretVariables: local.secretVariables,
      rewriteInput: local.rewriteInput,
    });
    return { run, out };
  }

  /** The rollouts the run started, as EV2 has them. */
  const started = () => services.ev2.rollouts().filter((r) => !seeded.has(r.rolloutId));

  it("default: the load reaches each canary and pilot region through the literal hosts, and the rollout completes", async () => {
    const { run, out } = await play();
    assert.equal(run.result, "Succeeded", JSON.stringify(run.stages.map((s) => [s.name, s.result])));
    const rollouts = started();
    assert.deepEqual(
      rollouts.map((r) => [r.serviceGroupName, r.status, Boolean(r.tags?.["ado.rollbackOf"])]),
      [["Fabrikam.Shop", "Completed", false]],
    );
    const byRegion = local.target.stats().byRegion;
    for (const region of canaryAndPilot)
      assert.ok(byRegion[region] > 0, `no request reached ${region}: ${JSON.stringify(byRegion)}`);
    // The broad regions were deployed after the test: nothing loaded them.
    assert.equal(byRegion.eastus, 0);
    assert.equal(local.target.stats().errorsInjected, 0);
    // The literal webhook of the Broad stage reached the sink: the completed card.
    assert.equal(local.sink.received.length, 1);
    const lines = logLines(out);
    assert.ok(
      lines.some((l) =>
        /^local play: https:\/\/orders-\{region\}\.fabrikam\.net\/api\/orders -> http:\/\/127\.0\.0\.1:\d+\/\{region\}\/api\/orders$/.test(
          l,
        ),
      ),
    );
    assert.ok(
      lines.some((l) =>
        /^local play: https:\/\/prod-27\.westeurope\.logic\.azure\.com:443\/… -> the Teams sink https:\/\/127\.0\.0\.1:\d+\/…$/.test(
          l,
        ),
      ),
    );
    // Neither the literal webhook's secret nor the sink's that replaced it shows in the logs or the run record.
    const sinkSig = new URL(local.sink.url).searchParams.get("sig")!;
    const record = readFileSync(join(out, "run.json"), "utf8");
    for (const secret of ["NotARealSig", sinkSig])
      assert.ok(!lines.some((l) => l.includes(secret)) && !record.includes(secret), `${secret} shows`);
  });

  it("failing-region: the failing region's endpoints fail whatever encodes the region, the gate rejects and one rollback runs", async () => {
    const { run, out } = await play("uksouth");
    assert.equal(run.result, "Failed");
    const rollouts = started();
    const bad = rollouts.find((r) => !r.tags?.["ado.rollbackOf"]);
    const rollbacks = rollouts.filter((r) => r.tags?.["ado.rollbackOf"]);
    assert.equal(bad?.status, "Cancelled");
    assert.equal(bad?.waitActions.at(-1)?.status, "Rejected");
    assert.equal(rollbacks.length, 1);
    assert.equal(rollbacks[0].artifactVersionNumber, "1.3.1");
    const stats = local.target.stats();
    assert.ok(stats.byRegion.uksouth > 0 && stats.errorsInjected > 0, JSON.stringify(stats));
    assert.match(bad?.waitActions.at(-1)?.comment ?? "", /\/uksouth\/\S+: error_rate [\d.]+%, limit < 2%/);
    // The load test saw it on each of uksouth's endpoints (region in the host, in the path, in the endpoints file), and nowhere else.
    const load = run.stages[0].jobs[0].steps.find((s) => s.name === "load");
    const result = JSON.parse(readFileSync(load!.outputs.resultFile, "utf8")) as {
      endpoints: Array<{ template?: string; url: string; failures: number; errorRatePercent: number }>;
    };
    const failing = result.endpoints
      .filter((e) => e.failures > 0)
      .map((e) => e.url.replace(/^http:\/\/[^/]+/, ""));
    assert.deepEqual(failing.sort(), ["/uksouth/api/orders", "/uksouth/health", "/uksouth/v1/orders"]);
    for (const e of result.endpoints.filter((x) => x.url.includes("/uksouth/")))
      assert.ok(e.errorRatePercent > 2, `${e.url}: ${e.errorRatePercent}%`);
    // The gate's literal probes were played too (host-encoded uksouth, path-encoded canary).
    const lines = logLines(out);
    assert.ok(
      lines.some((l) =>
        /^local play: https:\/\/shop-uksouth\.fabrikam\.net\/health -> http:\/\/127\.0\.0\.1:\d+\/uksouth\/health$/.test(
          l,
        ),
      ),
    );
    // The rollback card went to the sink through the secret variable.
    assert.equal(local.sink.received.length, 1);
  });

  it("npm run pipeline -- <file> --sim gated plays it with nothing else given", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "literal-hosts-cli-")), "out");
    const cli = resolve(__dirname, "..", "..", "pipeline", "cli.ts");
    const { code, stdout, stderr } = await runScript(cli, [fixture, "--sim", "gated", "--out", out], {
      NO_COLOR: "1",
    });
    assert.equal(code, 0, stdout + stderr);
    assert.match(stderr, /literal hosts as http:\/\/127\.0\.0\.1:\d+\/<region>\/…/);
    const runRecord = JSON.parse(readFileSync(join(out, "run.json"), "utf8")) as PipelineRunResult;
    const load = runRecord.stages[0].jobs[0].steps.find((s) => s.name === "load");
    assert.equal(load?.result, "Succeeded");
    assert.ok(
      logLines(out).some((l) =>
        l.startsWith("local play: https://fabrikam.net/{region}/health -> http://127.0.0.1:"),
      ),
    );
  });
});
