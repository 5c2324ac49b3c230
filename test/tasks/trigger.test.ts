import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { loadScenario, startSimulator, type Simulator } from "../../sim/ev2";
import { recordArtifacts, reportArtifacts, runBuiltTask } from "../support/run-built-task";
import { ev2Setup, rolloutInputs, runVariables, simulator, TOKEN } from "./ev2-fixture";

describe("TriggerEv2Rollout (built task, as the agent runs it)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let seeded: Set<string>;
  beforeEach(async () => {
    sim = await simulator("small");
    seeded = new Set(sim.rollouts().map((r) => r.rolloutId));
  });
  const started = () => sim.rollouts().filter((r) => !seeded.has(r.rolloutId));
  afterEach(() => sim.close());
  const startPosts = () => sim.requests.filter((r) => r.method === "POST" && r.path.endsWith("/rollouts"));

  it("starts a rollout of the newest Active versions and publishes its outputs, summary and record", async () => {
    const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.exitCode, 0);
    const rollouts = started();
    assert.equal(rollouts.length, 1);
    assert.deepEqual(run.outputs, {
      rolloutId: rollouts[0].rolloutId,
      artifactVersion: "1.3.2",
      stageMapVersion: "v3",
      dashboardUrl: rollouts[0].dashboardUrl,
      trackingBranch: "",
    });
    assert.match(
      run.stdout,
      /Artifact version 1\.3\.2: the newest Active one \(skipped newer 1\.4\.0: Deprecated\)/,
    );
    assert.equal(run.summaries.length, 1);
    assert.match(readFileSync(run.summaries[0], "utf8"), /### EV2 rollout started/);
    const records = recordArtifacts(run);
    assert.equal(records.length, 1);
    assert.deepEqual(
      reportArtifacts(run).map((a) => a.path.split(/[\\/]/).at(-1)),
      ["deployment-report.Deploy_PPE.rollout.json", "deployment-report.Deploy_PPE.rollout.md"],
      "the job's deployment report goes beside the record",
    );
    const record = JSON.parse(readFileSync(records[0].path, "utf8"));
    assert.equal(record.schemaVersion, 1);
    assert.equal(record.rolloutId, rollouts[0].rolloutId);
    const post = startPosts()[0];
    assert.match(post.headers["idempotency-key"], /^ado:[0-9a-f]{64}$/);
    assert.equal(
      (post.body as { tags: Record<string, string> }).tags["ado.runUrl"],
      "https://dev.azure.com/contoso/Orders/_build/results?buildId=4711",
    );
  });

  it("started three times by the same run: one rollout, the re-runs attach to it", async () => {
    const runs = [];
    for (let i = 0; i < 3; i++)
      runs.push(
        await runBuiltTask(
          "TriggerEv2Rollout",
          ev2Setup(sim, rolloutInputs, { variables: { "System.JobAttempt": String(i + 1) } }),
        ),
      );
    const ids = new Set(runs.map((r) => r.outputs.rolloutId));
    assert.equal(ids.size, 1);
    assert.equal(started().length, 1);
    assert.match(runs[1].stdout, /already started rollout .* attached to it/);
    assert.ok(runs.every((r) => r.result?.result === "Succeeded"));
  });

  it("against injected 429 and 503: one rollout, Retry-After waited out", async () => {
    sim.addFault({ kind: "status", status: 429, retryAfter: 1, method: "POST", count: 1 });
    sim.addFault({ kind: "status", status: 503, count: 2 });
    const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(started().length, 1);
    const posts = startPosts();
    const throttled = posts.findIndex((p) => p.status === 429);
    assert.ok(throttled >= 0);
    assert.ok(posts[throttled + 1].at - posts[throttled].at >= 990);
    assert.match(run.stdout, /retrying in .* as Retry-After asks/);
  });

  it("fails naming the active rollout when another one runs, or follows it on request", async () => {
    // A real-time clock: the first rollout must still be running when the third run starts,
    // however busy the machine (at the fast clock it could complete in between).
    await sim.close();
    sim = await simulator("small", 1);
    const first = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    const activeId = first.outputs.rolloutId;
    const other = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, rolloutInputs, { variables: runVariables("4712") }),
    );
    assert.equal(other.result?.result, "Failed");
    assert.match(other.result!.message, new RegExp(`ConcurrentRollout: Rollout ${activeId} \\(https://`));
    assert.match(other.result!.message, /onConcurrentRollout: follow/);
    const follow = await runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(sim, { ...rolloutInputs, onConcurrentRollout: "follow" }, { variables: runVariables("4713") }),
    );
    assert.equal(follow.result?.result, "SucceededWithIssues");
    assert.equal(follow.outputs.rolloutId, activeId);
    assert.equal(follow.warnings.length, 1, follow.warnings.join("\n"));
  });

  for (const [what, inputs, message] of [
    ["an empty service id", { serviceId: "" }, /Input 'serviceId' is required/],
    [
      "a malformed scope",
      { selectionScope: "regions(eastus).steps(*)" },
      /Input 'selectionScope' line 1 .*four parts.*regions\(eastus,westus\)/,
    ],
    [
      "an unknown onConcurrentRollout",
      { onConcurrentRollout: "wait" },
      /Input 'onConcurrentRollout' must be one of fail, follow \(got "wait"\)/,
    ],
    [
      "a bad idempotency key",
      { idempotencyKey: "has spaces" },
      /Input 'idempotencyKey' must be 1 to 128 characters/,
    ],
    ["no connection", { ev2Connection: "" }, /Input 'ev2Connection' is required when connectionType is ev2/],
  ] as const) {
    it(`fails on ${what} with nothing sent`, async () => {
      const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, { ...rolloutInputs, ...inputs }));
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, message);
      assert.equal(sim.requests.length, 0);
    });
  }

  for (const [what, inputs, message] of [
    [
      "an unknown service",
      { serviceId: "payments-api" },
      /ServiceNotFound: service payments-api is not registered in service group Microsoft\.Contoso\.Orders/,
    ],
    ["an unknown stage map", { stageMapName: "Nope" }, /StageMapNotFound: stage map Nope does not exist/],
    [
      "an unregistered artifact version",
      { artifactVersion: "9.9.9" },
      /artifact version 9\.9\.9 is not registered .* \(newest registered: 1\.4\.0/,
    ],
    [
      "an unknown stage map version",
      { stageMapVersion: "v99" },
      /stage map OrdersStageMap has no version v99/,
    ],
  ] as const) {
    it(`explains ${what} and starts nothing`, async () => {
      const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, { ...rolloutInputs, ...inputs }));
      assert.equal(run.result?.result, "Failed");
      assert.match(run.result!.message, message);
      assert.equal(startPosts().length, 0);
    });
  }

  it("never shows the token, even with system.debug", async () => {
    const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    assert.equal(run.result?.result, "Succeeded");
    assert.ok(!run.visibleText.includes(TOKEN));
    assert.ok(run.secrets.includes(TOKEN), "the token is registered as a secret");
    assert.ok(existsSync(run.artifacts[0].path));
    assert.ok(!readFileSync(run.artifacts[0].path, "utf8").includes(TOKEN));
  });
  it("says there is no Active artifact version, and what to do, when every version is Deprecated", async () => {
    const scenario = structuredClone(loadScenario("small"));
    scenario.name = "all-deprecated";
    for (const v of scenario.serviceGroups[0].services[0].artifactVersions) v.status = "Deprecated";
    await sim.close();
    sim = await startSimulator({ scenario, clockSpeed: 600, tokens: [TOKEN] });
    const run = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /NoActiveArtifactVersion.*has no Active artifact version: all 4 registered versions are Deprecated \(newest 1\.4\.0\)\. Register a new version, or pin artifactVersion\./,
    );
    assert.equal(sim.requests.filter((r) => r.method === "POST").length, 0, "nothing started");
  });
});
