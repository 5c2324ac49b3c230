import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Simulator } from "../../sim/ev2";
import { evaluateServerExpression, substituteMacros } from "../support/server-expression";
import { simulator, startTestRollout, TOKEN } from "./ev2-fixture";

const root = join(__dirname, "..", "..");
const task = JSON.parse(readFileSync(join(root, "tasks", "Ev2RolloutGate", "task.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(root, "vss-extension.json"), "utf8"));
const execute = task.execution.HttpRequest.Execute;

/** What the server does for the gate: the request its URL and the endpoint type's header describe, then the expression. */
async function evaluateGate(
  sim: Simulator,
  inputs: { rolloutId?: string; stageName?: string; releaseId?: string; endpointUrl?: string },
): Promise<boolean> {
  const macros = {
    "endpoint.url": inputs.endpointUrl ?? sim.url,
    rolloutId: inputs.rolloutId ?? "",
    stageName: inputs.stageName ?? "",
    "Release.ReleaseId": inputs.releaseId ?? "77",
  };
  const url = substituteMacros(execute.EndpointUrl, macros);
  const endpointType = manifest.contributions.find(
    (c: { type: string }) => c.type === "ms.vss-endpoint.service-endpoint-type",
  );
  const header = endpointType.properties.authenticationSchemes[0].headers[0];
  const res = await fetch(url, {
    method: execute.Method,
    headers: {
      ...JSON.parse(execute.Headers),
      [header.name]: header.value.replace("{{endpoint.apitoken}}", TOKEN),
    },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return Boolean(evaluateServerExpression(substituteMacros(execute.Expression, macros), await res.json()));
}

describe("Ev2RolloutGate (agentless release gate): URL and success expression against simulator answers", () => {
  let sim: Simulator;
  afterEach(() => sim?.close());

  async function start(scenario: string): Promise<string> {
    sim = await simulator(scenario, 0);
    return startTestRollout(sim, "release-gate");
  }

  it("is an agentless gate over the EV2 connection", () => {
    assert.deepEqual(task.runsOn, ["Server", "ServerGate"]);
    assert.equal(execute.EndpointId, "$(ev2Connection)");
    assert.equal(
      task.inputs.find((i: { name: string }) => i.name === "ev2Connection").type,
      "connectedService:ev2rollout",
    );
  });

  it("holds while the rollout runs and passes once it has completed", async () => {
    const rolloutId = await start("small");
    assert.equal(await evaluateGate(sim, { rolloutId }), false);
    sim.clock.advance(400_000);
    assert.equal(await evaluateGate(sim, { rolloutId }), false);
    sim.clock.advance(3600_000);
    assert.equal(await evaluateGate(sim, { rolloutId }), true);
  });

  it("with a stage name, passes once that stage has completed", async () => {
    const rolloutId = await start("small");
    assert.equal(await evaluateGate(sim, { rolloutId, stageName: "Stage1-Canary" }), false);
    sim.clock.advance(400_000);
    assert.equal(await evaluateGate(sim, { rolloutId, stageName: "Stage1-Canary" }), true);
    assert.equal(await evaluateGate(sim, { rolloutId, stageName: "Stage3-Broad" }), false);
  });

  it("with no rollout id, checks the newest rollout this release started (tag ado.releaseId)", async () => {
    sim = await simulator("small", 0);
    assert.equal(await evaluateGate(sim, { releaseId: "77" }), false, "no rollout of this release yet");
    const other = await startTestRollout(sim, "other-release", "v3", { "ado.releaseId": "76" });
    sim.clock.advance(3600_000);
    assert.equal(sim.rollouts().find((r) => r.rolloutId === other)?.status, "Completed");
    assert.equal(
      await evaluateGate(sim, { releaseId: "77" }),
      false,
      "another release's rollout does not count",
    );
    await startTestRollout(sim, "this-release", "v3", { "ado.releaseId": "77" });
    assert.equal(await evaluateGate(sim, { releaseId: "77" }), false);
    assert.equal(await evaluateGate(sim, { releaseId: "77", stageName: "Stage1-Canary" }), false);
    sim.clock.advance(400_000);
    assert.equal(await evaluateGate(sim, { releaseId: "77", stageName: "Stage1-Canary" }), true);
    sim.clock.advance(3600_000);
    assert.equal(await evaluateGate(sim, { releaseId: "77" }), true);
    assert.equal(await evaluateGate(sim, { releaseId: "76" }), true);
  });

  it("with the connection URL saved with a trailing slash, asks //rollouts and judges the same", async () => {
    const rolloutId = await start("small");
    const endpointUrl = `${sim.url}/`;
    assert.equal(
      substituteMacros(execute.EndpointUrl, { "endpoint.url": endpointUrl }).startsWith(
        `${sim.url}//rollouts?`,
      ),
      true,
    );
    assert.equal(await evaluateGate(sim, { rolloutId, endpointUrl }), false);
    assert.equal(await evaluateGate(sim, { endpointUrl }), false, "release 77 started no rollout");
    sim.clock.advance(4000_000);
    assert.equal(await evaluateGate(sim, { rolloutId, endpointUrl }), true);
  });

  it("never passes a failed rollout, not even for a stage that completed before the failure", async () => {
    const rolloutId = await start("failing-region");
    sim.clock.advance(3600_000);
    assert.equal(await evaluateGate(sim, { rolloutId }), false);
    assert.equal(await evaluateGate(sim, { rolloutId, stageName: "Stage1-Canary" }), false);
  });
});
