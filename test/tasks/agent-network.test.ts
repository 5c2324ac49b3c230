/**
 * The built tasks behind the agent's proxy, with its CA: names resolve only at the proxy, so a
 * call that skips it fails with "host not found".
 */
import assert from "node:assert/strict";
import type { Simulator } from "../../sim/ev2";
import {
  startRecordingProxy,
  startTlsFront,
  type RecordingProxy,
  type TlsFront,
} from "../helpers/recording-proxy";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startTeamsSink } from "../../sim/teams-sink";
import { createTestCa, startTestHttpsServer, type TestCa } from "../helpers/test-ca";
import { runBuiltTask, type TaskRunSetup } from "../support/run-built-task";
import { TOKEN, ev2Setup, rolloutInputs, simulator, startTestRollout } from "./ev2-fixture";

describe("the agent's proxy and CA (built tasks, as the agent runs them)", function () {
  this.timeout(60_000);
  let ca: TestCa;
  let sim: Simulator;
  let front: TlsFront;
  let rolloutId: string;
  let proxy: RecordingProxy | undefined;

  before(async () => {
    ca = createTestCa();
    sim = await simulator("small", 3000);
    front = await startTlsFront(ca, ["ev2.contoso.test"], sim.port);
    rolloutId = await startTestRollout(sim, "agent-network");
    // A finished rollout: FollowRollout needs one GET, whatever the polling interval.
    for (
      let i = 0;
      i < 400 && sim.rollouts().find((r) => r.rolloutId === rolloutId)?.status !== "Completed";
      i++
    )
      await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await front.close();
    await sim.close();
    ca.dispose();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const hosts = () => ({
    "ev2.contoso.test:443": front.address,
    "ev2.contoso.test:80": `127.0.0.1:${sim.port}`,
  });

  function follow(
    ev2Url: string,
    more: Partial<TaskRunSetup>,
  ): Promise<Awaited<ReturnType<typeof runBuiltTask>>> {
    const setup = ev2Setup(sim, { rolloutId }, more);
    setup.endpoints!.ev2conn = { url: ev2Url, scheme: "Token", parameters: { apitoken: TOKEN } };
    return runBuiltTask("FollowRollout", setup);
  }

  it("reaches an https EV2 through a CONNECT proxy with credentials, trusting Agent.CAInfo; the password stays secret", async () => {
    proxy = await startRecordingProxy({
      hosts: hosts(),
      credentials: { username: "agent", password: "Pr0xy-S3cret" },
    });
    const before = sim.requests.length;
    const run = await follow("https://ev2.contoso.test", {
      variables: { "Agent.ProxyUrl": proxy.url, "Agent.ProxyUsername": "agent", "Agent.CAInfo": ca.caFile },
      secretVariables: { "Agent.ProxyPassword": "Pr0xy-S3cret" },
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(run.outputs.rolloutStatus, "Completed");
    assert.ok(proxy.requests.length >= 1);
    assert.deepEqual(
      new Set(proxy.requests.map((r) => `${r.kind} ${r.target} ${r.proxyAuthorization} ${r.status}`)),
      new Set(["connect ev2.contoso.test:443 right 200"]),
    );
    assert.ok(sim.requests.slice(before).some((r) => r.path === `/rollouts/${rolloutId}`));
    assert.ok(run.secrets.includes("Pr0xy-S3cret"), "the proxy password is registered with the agent");
    assert.doesNotMatch(run.visibleText, /Pr0xy-S3cret/);
  });

  /** TriggerEv2Rollout fails once its first call has used its retries. */
  function trigger(
    ev2Url: string,
    more: Partial<TaskRunSetup>,
  ): Promise<Awaited<ReturnType<typeof runBuiltTask>>> {
    const setup = ev2Setup(sim, rolloutInputs, more);
    setup.endpoints!.ev2conn = { url: ev2Url, scheme: "Token", parameters: { apitoken: TOKEN } };
    return runBuiltTask("TriggerEv2Rollout", setup);
  }

  it("reaches an http EV2 through the proxy in absolute form", async () => {
    proxy = await startRecordingProxy({ hosts: hosts() });
    const run = await follow("http://ev2.contoso.test", { variables: { "Agent.ProxyUrl": proxy.url } });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(proxy.requests[0]?.kind, "absolute");
    assert.equal(proxy.requests[0]?.url, `http://ev2.contoso.test/rollouts/${rolloutId}`);
    assert.equal(proxy.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
  });

  it("fails naming the proxy's 407 when the agent gives no proxy credentials", async () => {
    proxy = await startRecordingProxy({ hosts: hosts(), credentials: { username: "agent", password: "x" } });
    const run = await trigger("https://ev2.contoso.test", {
      variables: { "Agent.ProxyUrl": proxy.url, "Agent.CAInfo": ca.caFile },
    });
    assert.equal(run.result?.result, "Failed");
    assert.match(run.result!.message, /the proxy asked for credentials \(HTTP 407\)/);
    // Not retried: another try cannot fix it, and bad credentials repeated can lock an account.
    assert.deepEqual(
      proxy.requests.map((r) => [r.status, r.proxyAuthorization]),
      [[407, "none"]],
    );
  });

  it("goes direct to what Agent.ProxyBypassList matches", async () => {
    proxy = await startRecordingProxy({ hosts: hosts() });
    const run = await follow(sim.url, {
      variables: {
        "Agent.ProxyUrl": proxy.url,
        "Agent.ProxyBypassList": JSON.stringify(["^http://127\\.0\\.0\\.1:"]),
      },
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.deepEqual(proxy.requests, []);
  });

  it("Agent.CAInfo adds to Node's roots: a server another trusted CA issued stays reachable", async () => {
    // EV2's certificate comes from a CA the process trusts already (NODE_EXTRA_CA_CERTS, which
    // Node puts in its root store); Agent.CAInfo names an unrelated CA. Replacing the roots with
    // the agent's bundle would break the handshake.
    const other = createTestCa();
    const otherFront = await startTlsFront(other, ["ev2.contoso.test"], sim.port);
    try {
      proxy = await startRecordingProxy({ hosts: { "ev2.contoso.test:443": otherFront.address } });
      const run = await follow("https://ev2.contoso.test", {
        variables: { "Agent.ProxyUrl": proxy.url, "Agent.CAInfo": ca.caFile },
        env: { NODE_EXTRA_CA_CERTS: other.caFile },
      });
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.equal(proxy.requests[0]?.target, "ev2.contoso.test:443");
      // (control) without that CA among the roots, the same call is refused.
      const refused = await follow("https://ev2.contoso.test", {
        variables: { "Agent.ProxyUrl": proxy.url, "Agent.CAInfo": ca.caFile },
      });
      assert.equal(refused.result?.result, "Failed");
    } finally {
      await otherFront.close();
      other.dispose();
    }
  });

  it("uses HTTPS_PROXY when the agent has no proxy", async () => {
    proxy = await startRecordingProxy({ hosts: hosts() });
    const run = await follow("https://ev2.contoso.test", {
      variables: { "Agent.CAInfo": ca.caFile },
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout);
    assert.equal(proxy.requests[0]?.target, "ev2.contoso.test:443");
  });

  it("TeamsNotify posts through the proxy to an https webhook at a name only the proxy resolves", async () => {
    const sink = await startTeamsSink({ names: ["prod-00.westus.logic.contoso.test"] });
    try {
      const sinkUrl = new URL(sink.url);
      proxy = await startRecordingProxy({
        hosts: { ...hosts(), "prod-00.westus.logic.contoso.test:443": `127.0.0.1:${sinkUrl.port}` },
      });
      const webhookUrl = `https://prod-00.westus.logic.contoso.test${sinkUrl.pathname}${sinkUrl.search}`;
      const setup = ev2Setup(
        sim,
        { rolloutId, webhookUrl },
        {
          variables: { "Agent.ProxyUrl": proxy.url, "Agent.CAInfo": sink.caFile },
        },
      );
      const run = await runBuiltTask("TeamsNotify", setup);
      assert.equal(run.result?.result, "Succeeded", run.stdout);
      assert.equal(run.outputs.delivered, "true");
      assert.equal(sink.received.length, 1);
      assert.ok(
        proxy.requests.some(
          (r) => r.kind === "connect" && r.target === "prod-00.westus.logic.contoso.test:443",
        ),
      );
    } finally {
      await sink.close();
    }
  });

  it("TeamsNotify does not follow a webhook's redirect to another origin", async () => {
    const sink = await startTeamsSink();
    const redirector = await startTestHttpsServer(ca, (req, res) =>
      res.writeHead(307, { location: sink.url }).end(),
    );
    try {
      const setup = ev2Setup(
        sim,
        { rolloutId, webhookUrl: `${redirector.url}/workflows/x?sig=redirect-sig-canary` },
        {
          variables: { "Agent.CAInfo": ca.caFile },
        },
      );
      const run = await runBuiltTask("TeamsNotify", setup);
      assert.equal(run.outputs.delivered, "false", run.stdout);
      assert.equal(sink.received.length, 0, "the card went nowhere else");
      assert.doesNotMatch(run.visibleText, /redirect-sig-canary/);
    } finally {
      await redirector.close();
      await sink.close();
    }
  });

  it("EV2: a redirect to another origin is not followed; the token goes nowhere", async () => {
    const redirector = createServer((req, res) =>
      res.writeHead(307, { location: new URL(req.url ?? "/", sim.url).href }).end(),
    );
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", r));
    try {
      const before = sim.requests.length;
      const run = await trigger(`http://127.0.0.1:${(redirector.address() as AddressInfo).port}`, {});
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.match(run.result!.message, /307/);
      assert.equal(sim.requests.length, before, "nothing reached the other origin");
    } finally {
      await new Promise((r) => redirector.close(r));
    }
  });

  it("refuses the proxy's certificate chain without Agent.CAInfo", async () => {
    proxy = await startRecordingProxy({ hosts: hosts() });
    const run = await trigger("https://ev2.contoso.test", { variables: { "Agent.ProxyUrl": proxy.url } });
    assert.equal(run.result?.result, "Failed");
    assert.match(
      run.result!.message,
      /the server's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): .*Agent\.CAInfo/,
    );
  });
});
