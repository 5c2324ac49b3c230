import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AdoServer } from "../../sim/ado/server";
import { addProject, addRepository, type AdoRepositoryState } from "../../sim/ado/state";
import type { Simulator } from "../../sim/ev2";
import { builtCommit, jobToken, otherCommit, projectName, startSeededAdo } from "../ado/ado-fixture";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startRecordingProxy } from "../helpers/recording-proxy";
import { recordArtifacts, runBuiltTask } from "../support/run-built-task";
import { ev2Setup, rolloutInputs, simulator } from "./ev2-fixture";

describe("TriggerEv2Rollout tracking branch (built task, Azure DevOps REST slice)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let ado: AdoServer;
  let repo: AdoRepositoryState;
  beforeEach(async () => {
    sim = await simulator("small");
    ado = await startSeededAdo((state) => {
      repo = addRepository(addProject(state, projectName), "orders-service", {
        refs: [{ name: "refs/heads/main", objectId: builtCommit }],
      });
    });
  });
  afterEach(async () => {
    await sim.close();
    await ado.close();
  });

  const trigger = (
    inputs: Record<string, string> = {},
    jobTokens: { variable?: string; systemVssConnection?: string } = { variable: jobToken },
    more: { collectionUri?: string; variables?: Record<string, string> } = {},
  ) =>
    runBuiltTask(
      "TriggerEv2Rollout",
      ev2Setup(
        sim,
        {
          ...rolloutInputs,
          createTrackingBranch: "true",
          trackingBranch: "ev2/{environment}/{artifactVersion}-{buildId}",
          ...inputs,
        },
        {
          variables: {
            ...more.variables,
            "System.CollectionUri": more.collectionUri ?? ado.url,
            "System.TeamProject": projectName,
            "Build.Repository.ID": repo.id,
            "Build.SourceVersion": builtCommit,
          },
          secretVariables: jobTokens.variable ? { "System.AccessToken": jobTokens.variable } : {},
          endpoints: jobTokens.systemVssConnection
            ? {
                SYSTEMVSSCONNECTION: {
                  url: ado.url,
                  scheme: "OAuth",
                  parameters: { AccessToken: jobTokens.systemVssConnection },
                },
              }
            : {},
        },
      ),
    );
  const refUpdates = () => ado.requests.filter((r) => r.method === "POST" && /\/refs$/i.test(r.path));

  it("creates the branch at the commit being deployed and outputs its name", async () => {
    const run = await trigger();
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.trackingBranch, "ev2/PPE/1.3.2-4711");
    assert.deepEqual(
      repo.refs.find((r) => r.name === "refs/heads/ev2/PPE/1.3.2-4711")?.objectId,
      builtCommit,
    );
    assert.equal(refUpdates().length, 1);
    assert.ok(!run.visibleText.includes(jobToken));
  });

  it("uses the SystemVssConnection token, before System.AccessToken and without it", async () => {
    // The slice knows only jobToken: a run that sent the other one would be refused (HTTP 401).
    const stale = "eyJ0eXAiOiJKV1QifQ.stale-access-token.signature";
    const refused = await trigger({}, { variable: stale });
    assert.equal(refused.result?.result, "Failed", "the slice refuses the stale token");
    const both = await trigger({}, { systemVssConnection: jobToken, variable: stale });
    assert.equal(both.result?.result, "Succeeded", both.stdout);
    const only = await trigger(
      { trackingBranch: "ev2/{environment}/second-{buildId}" },
      { systemVssConnection: jobToken },
    );
    assert.equal(only.result?.result, "Succeeded", only.stdout);
    assert.ok(!only.visibleText.includes(jobToken) && only.secrets.includes(jobToken));
  });

  it("reaches Azure DevOps through the agent's proxy, at a name only the proxy resolves", async () => {
    const proxy = await startRecordingProxy({
      hosts: { "ado.contoso.test": `127.0.0.1:${new URL(ado.url).port}` },
    });
    try {
      const collectionUri = ado.url.replace(/127\.0\.0\.1:\d+/, "ado.contoso.test");
      const run = await trigger({}, undefined, {
        collectionUri,
        variables: {
          "Agent.ProxyUrl": proxy.url,
          "Agent.ProxyBypassList": '["^http://127\\\\.0\\\\.0\\\\.1:"]',
        },
      });
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.equal(run.outputs.trackingBranch, "ev2/PPE/1.3.2-4711");
      assert.ok(
        proxy.requests.some((r) => r.target.startsWith("ado.contoso.test")),
        JSON.stringify(proxy.requests),
      );
      // EV2 (127.0.0.1) matched the bypass list and went direct.
      assert.ok(proxy.requests.every((r) => !r.target.startsWith("127.0.0.1")));
    } finally {
      await proxy.close();
    }
  });

  it("does not send the job's token along a redirect to another origin", async () => {
    // The collection URL answers every call with a redirect to the Azure DevOps slice on another port.
    const redirector = createServer((req, res) =>
      res.writeHead(302, { location: new URL(req.url ?? "/", ado.url).href }).end(),
    );
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
    try {
      const port = (redirector.address() as AddressInfo).port;
      const run = await trigger({}, undefined, { collectionUri: ado.url.replace(/:\d+\//, `:${port}/`) });
      assert.equal(run.result?.result, "Failed");
      assert.ok(ado.requests.length > 0, "the redirects were followed to the other origin");
      assert.deepEqual(
        ado.requests.map((r) => r.headers.authorization),
        ado.requests.map(() => undefined),
        "no Authorization reached the other origin",
      );
    } finally {
      await new Promise((r) => redirector.close(r));
    }
  });

  it("reuses the branch on a re-run and suffixes a name taken at another commit", async () => {
    repo.refs.push({ name: "refs/heads/ev2/PPE/1.3.2-4711", objectId: otherCommit });
    const first = await trigger();
    assert.equal(first.outputs.trackingBranch, "ev2/PPE/1.3.2-4711-2");
    const again = await trigger();
    assert.equal(again.outputs.trackingBranch, "ev2/PPE/1.3.2-4711-2");
    assert.match(again.stdout, /reused/);
    assert.equal(again.outputs.rolloutId, first.outputs.rolloutId);
  });

  it("reports a refused branch with what to grant, and still names the running rollout", async () => {
    repo.refUpdateRules.push({
      refPattern: "refs/heads/ev2/*",
      updateStatus: "createBranchPermissionRequired",
    });
    const run = await trigger();
    assert.equal(run.result?.result, "Failed");
    assert.equal(
      run.outputs.rolloutId.length > 0,
      true,
      "the rollout id is an output even though the branch failed",
    );
    assert.match(
      run.result!.message,
      new RegExp(`Rollout ${run.outputs.rolloutId} was started and is running`),
    );
    assert.match(run.result!.message, /Create branch/);
    assert.match(run.result!.message, /Build Service/);
    // The running rollout is on record all the same.
    const [recordFile] = recordArtifacts(run);
    const record = JSON.parse(readFileSync(recordFile.path, "utf8"));
    assert.equal(record.result, "Failed");
    assert.equal(record.rolloutId, run.outputs.rolloutId);
    assert.match(record.message, /could not be created/);
    assert.equal(run.summaries.length, 1);
  });

  it("rejects an unknown template token before anything is sent", async () => {
    const run = await trigger({ trackingBranch: "ev2/{env}/{artifactVersion}" });
    assert.equal(run.result?.result, "Failed");
    assert.match(run.result!.message, /Input 'trackingBranch'.*\{env\}/);
    assert.equal(sim.requests.length, 0);
    assert.equal(ado.requests.length, 0);
  });
});
