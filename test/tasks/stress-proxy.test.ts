/**
 * StressTestStage and the agent's proxy: the load goes direct unless `useAgentProxy` asks for
 * the proxy; then the readiness probes and the load both go through it (absolute form for http,
 * CONNECT for https), with the proxy's credentials and the agent's CA.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { StressResultDocument } from "../../shared/stress";
import { startTargetService, type TargetService } from "../../sim/target-service";
import {
  startRecordingProxy,
  startTlsFront,
  type RecordingProxy,
  type TlsFront,
} from "../helpers/recording-proxy";
import { createTestCa, type TestCa } from "../helpers/test-ca";
import { runBuiltTask, type TaskRunSetup } from "../support/run-built-task";
import { runVariables } from "./ev2-fixture";

describe("StressTestStage behind the agent's proxy (built task)", function () {
  this.timeout(60_000);
  let ca: TestCa;
  let service: TargetService;
  let front: TlsFront;
  let proxy: RecordingProxy;

  before(async () => {
    ca = createTestCa();
    service = await startTargetService();
    const port = Number(new URL(service.url).port);
    front = await startTlsFront(ca, ["orders.contoso.test"], port);
    proxy = await startRecordingProxy({
      hosts: { "orders.contoso.test:80": `127.0.0.1:${port}`, "orders.contoso.test:443": front.address },
      credentials: { username: "agent", password: "load-proxy-secret" },
    });
  });
  after(async () => {
    await proxy.close();
    await front.close();
    await service.close();
    ca.dispose();
  });
  beforeEach(() => (proxy.requests.length = 0));

  const stress = (inputs: TaskRunSetup["inputs"]) =>
    runBuiltTask("StressTestStage", {
      inputs: { connections: "2", durationSeconds: "1", readinessTimeoutSeconds: "2", ...inputs },
      variables: {
        ...runVariables(),
        "Agent.ProxyUrl": proxy.url,
        "Agent.ProxyUsername": "agent",
        "Agent.CAInfo": ca.caFile,
      },
      secretVariables: { "Agent.ProxyPassword": "load-proxy-secret" },
    });

  it("sends the load direct by default, even with an agent proxy", async () => {
    const run = await stress({ endpoints: `${service.url}/eastus/api/orders` });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.deepEqual(proxy.requests, []);
    // A name only the proxy resolves is not reached: the probe went direct.
    const unreachable = await stress({ endpoints: "http://orders.contoso.test/eastus/api/orders" });
    assert.equal(unreachable.result?.result, "Failed");
    assert.match(unreachable.stdout, /never became ready/);
    assert.deepEqual(proxy.requests, []);
  });

  it("useAgentProxy: readiness probes and load go through the proxy, http in absolute form and https through CONNECT", async () => {
    const run = await stress({
      endpoints:
        "http://orders.contoso.test/eastus/api/orders\nhttps://orders.contoso.test/westus/api/orders",
      useAgentProxy: "true",
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.errorRate, "0");
    const doc = JSON.parse(readFileSync(run.outputs.resultFile, "utf8")) as StressResultDocument;
    assert.ok(doc.endpoints.length === 2 && doc.endpoints.every((e) => e.requests > 0 && e.failures === 0));
    const absolute = proxy.requests.filter((r) => r.kind === "absolute");
    const tunnels = proxy.requests.filter((r) => r.kind === "connect");
    assert.ok(absolute.length > 1, "the probe and the load's http requests");
    assert.ok(
      absolute.every((r) => r.url === "http://orders.contoso.test/eastus/api/orders" && r.status === 200),
    );
    assert.ok(tunnels.length >= 2, "one tunnel for the probe, one per load connection");
    assert.ok(tunnels.every((r) => r.target === "orders.contoso.test:443" && r.status === 200));
    assert.ok(proxy.requests.every((r) => r.proxyAuthorization === "right"));
    assert.doesNotMatch(run.visibleText, /load-proxy-secret/);
  });
});
