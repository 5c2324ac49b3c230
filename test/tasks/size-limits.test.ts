/**
 * Bounded by size (built tasks): an EV2 answer over the body cap fails once, clearly, without
 * being read whole; a huge rollout keeps the output variables short and the record whole, and the
 * deployment report still tells the rollout (summarised, never dropped).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { RequestListener } from "node:http";
import type { Simulator } from "../../sim/ev2";
import { flood, startRawEv2, type RawEv2 } from "../support/raw-ev2";
import { recordArtifacts, reportArtifacts, runBuiltTask } from "../support/run-built-task";
import { ev2Setup, rolloutIdentity, simulator, startTestRollout } from "./ev2-fixture";

const serve = (handler: RequestListener) => startRawEv2((_n, req, res) => handler(req, res));

const asSim = (url: string) => ({ url }) as Simulator;
const MiB = 1024 * 1024;

/** A Completed rollout of 3 stages of 10 000 regions each. */
function hugeRollout() {
  const at = { startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-01T00:05:00Z" };
  const stages = [1, 2, 3].map((n) => ({
    name: `Stage${n}`,
    status: "Completed",
    ...at,
    regions: Array.from({ length: 10_000 }, (_, i) => ({
      name: `region-${n}-${String(i).padStart(5, "0")}`,
      status: "Completed",
      ...at,
    })),
  }));
  return {
    rolloutId: "r-huge",
    ...rolloutIdentity,
    status: "Completed",
    currentStage: null,
    stages,
    waitActions: [],
    errors: [],
    createdTimestamp: at.startTime,
    lastUpdateTime: at.endTime,
  };
}

describe("size limits (built tasks)", function () {
  this.timeout(120_000);
  let server: RawEv2 | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("an EV2 answer that never ends fails once at the 16 MiB cap, not retried, with a record", async () => {
    // Chunked, no Content-Length: only counting the bytes can stop it.
    server = await serve((_req, res) => flood(res));
    const run = await runBuiltTask("FollowRollout", ev2Setup(asSim(server.url), { rolloutId: "r-1" }));
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(
      run.result!.message,
      /EV2 get rollout r-1 failed: ResponseTooLarge: the response body is over the 16 MiB limit, so it was not read/,
    );
    assert.equal(server.requests(), 1, "not retried");
    assert.equal(recordArtifacts(run).length, 1);
  });

  it("a Content-Length over the cap is refused before reading", async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(5 * 1024 * MiB) });
      res.write("{");
    });
    const run = await runBuiltTask("FollowRollout", ev2Setup(asSim(server.url), { rolloutId: "r-1" }));
    assert.equal(run.result?.result, "Failed", run.stdout);
    assert.match(run.result!.message, /ResponseTooLarge: .*16 MiB limit \(Content-Length 5368709120 bytes\)/);
    assert.equal(server.requests(), 1, "not retried");
  });

  it("an Azure DevOps answer that never ends stops at the cap too: the bundle patches the client it uses", async () => {
    // GateApproval looks up who approved the stage in Azure DevOps, through azure-devops-node-api,
    // whose body reader the task wraps (shared/ado/connection.ts): the wrapped reader must be the
    // one the client calls, not another copy of typed-rest-client.
    const sim = await simulator("gated", 1200);
    try {
      const rolloutId = await startTestRollout(sim, "ado-cap");
      server = await serve((_req, res) => flood(res));
      const run = await runBuiltTask(
        "GateApproval",
        ev2Setup(
          sim,
          { rolloutId, decision: "approve", waitTimeoutMinutes: "1" },
          {
            variables: { "System.CollectionUri": `${server.url}/fabrikam/`, "System.TeamProject": "Orders" },
            secretVariables: { "System.AccessToken": "job-token" },
          },
        ),
      );
      assert.equal(run.result?.result, "Failed", run.stdout.slice(-2000));
      assert.match(
        run.result!.message,
        /the Azure DevOps answer is over the 16 MiB limit, so it was not read/,
      );
    } finally {
      await sim.close();
    }
  });

  it("a rollout of 30 000 regions: short outputs (+N more), the whole record, a report that tells it", async () => {
    const body = JSON.stringify(hugeRollout());
    server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", etag: '"1"' });
      res.end(body);
    });
    const run = await runBuiltTask("FollowRollout", ev2Setup(asSim(server.url), { rolloutId: "r-huge" }));
    assert.equal(run.result?.result, "Succeeded", run.stdout.slice(-2000));
    const deployed = run.outputs.deployedRegions;
    assert.ok(deployed.length <= 2000, `deployedRegions is ${deployed.length} characters`);
    const more = /,\+(\d+) more$/.exec(deployed);
    assert.ok(more, deployed.slice(-50));
    assert.equal(deployed.split(",").length - 1 + Number(more[1]), 30_000);
    for (const [name, value] of Object.entries(run.outputs))
      assert.ok(value.length <= 2000, `${name} is ${value.length} characters`);

    const [record] = recordArtifacts(run);
    const kept = JSON.parse(readFileSync(record.path, "utf8"));
    const regions = kept.details.rollout.stages.flatMap((s: { regions: unknown[] }) => s.regions);
    assert.equal(regions.length, 30_000, "the record keeps every region");
    assert.ok(readFileSync(record.path).length > 4 * MiB, "the record is over the report's cap");

    const report = reportArtifacts(run).find((a) => a.path.endsWith(".md"))!;
    const markdown = readFileSync(report.path, "utf8");
    assert.doesNotMatch(markdown, /No rollout is recorded/);
    assert.match(markdown, /## Rollout r-huge: Completed/);
    // Summarised: the first 100 regions of each stage, and a note saying the record has them all.
    assert.match(markdown, /region-1-00049 Completed \(5m 0s\)<br>\+50 more \|/);
    assert.match(
      markdown,
      /The record is \d+\.\d MB: this report shows the first 100 items of each of its lists/,
    );
    const summary = readFileSync(run.summaries[0], "utf8");
    assert.ok(summary.length < 100_000, `the summary is ${summary.length} characters`);
  });
});
