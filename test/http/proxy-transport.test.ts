import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FakeAgent } from "../../shared/agent/fake-agent";
import { noProxyPatterns, readAgentNetwork } from "../../shared/agent/network";
import { closeHttpConnections, HttpNetworkError, sendWithRetry } from "../../shared/http/request";
import { directNetwork, proxyFor, useNetwork } from "../../shared/http/transport";
import {
  startRecordingProxy,
  startTlsFront,
  type RecordingProxy,
  type TlsFront,
} from "../helpers/recording-proxy";
import { createTestCa, type TestCa } from "../helpers/test-ca";

const once = { retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalWaitMs: 1 } };
const get = (url: string) =>
  sendWithRetry({ method: "GET", url, operation: "get it", retryNetworkErrors: false }, once);

function agentWith(variables: Record<string, string>): FakeAgent {
  return new FakeAgent({ variables });
}

describe("the agent's proxy and certificates (shared/http transport)", function () {
  this.timeout(20_000);
  let ca: TestCa;
  let origin: Server;
  let originPort: number;
  let front: TlsFront;
  const seen: Array<{ host?: string; url?: string }> = [];

  before(async () => {
    ca = createTestCa();
    origin = createServer((req, res) => {
      seen.push({ host: req.headers.host, url: req.url });
      res.end(`hello ${req.url}`);
    });
    await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
    originPort = (origin.address() as AddressInfo).port;
    front = await startTlsFront(ca, ["ev2.contoso.test"], originPort);
  });
  after(async () => {
    useNetwork(directNetwork);
    await closeHttpConnections();
    await front.close();
    await new Promise((r) => origin.close(r));
    ca.dispose();
  });
  afterEach(async () => {
    useNetwork(directNetwork);
    await closeHttpConnections();
  });

  async function withProxy(
    options: Parameters<typeof startRecordingProxy>[0],
    body: (proxy: RecordingProxy) => Promise<void>,
  ): Promise<void> {
    const proxy = await startRecordingProxy({
      hosts: { "ev2.contoso.test:443": front.address, "ev2.contoso.test:80": `127.0.0.1:${originPort}` },
      ...options,
    });
    try {
      await body(proxy);
    } finally {
      await closeHttpConnections();
      await proxy.close();
    }
  }

  it("sends http in absolute form and https through CONNECT, with the proxy's credentials, trusting Agent.CAInfo", async () => {
    await withProxy({ credentials: { username: "build", password: "p@ss:word" } }, async (proxy) => {
      const agent = agentWith({
        "Agent.ProxyUrl": proxy.url,
        "Agent.ProxyUsername": "build",
        "Agent.ProxyPassword": "p@ss:word",
        "Agent.CAInfo": ca.caFile,
      });
      useNetwork(readAgentNetwork(agent, {}));
      assert.ok(agent.secrets.includes("p@ss:word"), "the proxy password is registered as a secret");

      assert.equal((await get("http://ev2.contoso.test/plain?x=1")).body, "hello /plain?x=1");
      assert.equal((await get("https://ev2.contoso.test/secure")).body, "hello /secure");
      assert.deepEqual(
        proxy.requests.map((r) => [r.kind, r.url, r.proxyAuthorization, r.status]),
        [
          ["absolute", "http://ev2.contoso.test/plain?x=1", "right", 200],
          ["connect", "ev2.contoso.test:443", "right", 200],
        ],
      );
      assert.deepEqual(
        seen.slice(-2).map((s) => s.host),
        ["ev2.contoso.test", "ev2.contoso.test"],
      );
    });
  });

  it("says the proxy wants credentials (407) for both forms, without retrying into a lockout", async () => {
    await withProxy({ credentials: { username: "build", password: "right" } }, async (proxy) => {
      useNetwork(readAgentNetwork(agentWith({ "Agent.ProxyUrl": proxy.url, "Agent.CAInfo": ca.caFile }), {}));
      await assert.rejects(get("http://ev2.contoso.test/a"), (err: HttpNetworkError) => {
        assert.match(
          err.message,
          /^get it failed: the proxy asked for credentials \(HTTP 407\): check the agent's proxy user name and password/,
        );
        return true;
      });
      await assert.rejects(
        get("https://ev2.contoso.test/a"),
        /get it failed: the proxy asked for credentials \(HTTP 407\)/,
      );
      assert.deepEqual(
        proxy.requests.map((r) => [r.kind, r.proxyAuthorization, r.status]),
        [
          ["absolute", "none", 407],
          ["connect", "none", 407],
        ],
      );
    });
  });

  it("goes direct for URLs the bypass list matches (regular expressions on the whole URL, as task-lib)", async () => {
    await withProxy({}, async (proxy) => {
      useNetwork(
        readAgentNetwork(
          agentWith({
            "Agent.ProxyUrl": proxy.url,
            "Agent.ProxyBypassList": JSON.stringify(["127\\.0\\.0\\.1:\\d+/direct"]),
          }),
          {},
        ),
      );
      assert.equal((await get(`http://127.0.0.1:${originPort}/direct`)).body, "hello /direct");
      assert.equal((await get(`http://127.0.0.1:${originPort}/proxied`)).body, "hello /proxied");
      assert.deepEqual(
        proxy.requests.map((r) => r.url),
        [`http://127.0.0.1:${originPort}/proxied`],
      );
    });
  });

  it("without an agent proxy uses HTTPS_PROXY / HTTP_PROXY and NO_PROXY, credentials in the URL a secret", async () => {
    await withProxy({ credentials: { username: "env", password: "s3cret" } }, async (proxy) => {
      const agent = agentWith({ "Agent.CAInfo": ca.caFile });
      const env = {
        HTTPS_PROXY: `http://env:s3cret@127.0.0.1:${proxy.port}`,
        NO_PROXY: "localhost, .internal.test",
      };
      useNetwork(readAgentNetwork(agent, env));
      assert.ok(agent.secrets.includes("s3cret"));
      assert.equal((await get("https://ev2.contoso.test/env")).body, "hello /env");
      // HTTP_PROXY is unset: plain http goes direct.
      assert.equal((await get(`http://127.0.0.1:${originPort}/env-direct`)).body, "hello /env-direct");
      assert.deepEqual(
        proxy.requests.map((r) => [r.kind, r.url, r.proxyAuthorization]),
        [["connect", "ev2.contoso.test:443", "right"]],
      );
    });
  });

  it("without the proxy the names do not resolve (the test proves the proxy carried the call)", async () => {
    await assert.rejects(get("https://ev2.contoso.test/"), /host not found/);
  });

  it("without Agent.CAInfo the test CA's certificate is refused; Agent.SkipCertValidation accepts it", async () => {
    await withProxy({}, async (proxy) => {
      useNetwork(readAgentNetwork(agentWith({ "Agent.ProxyUrl": proxy.url }), {}));
      await assert.rejects(get("https://ev2.contoso.test/"), /certificate|UNABLE_TO_VERIFY/i);
      useNetwork(
        readAgentNetwork(agentWith({ "Agent.ProxyUrl": proxy.url, "Agent.SkipCertValidation": "true" }), {}),
      );
      assert.equal((await get("https://ev2.contoso.test/skip")).status, 200);
    });
  });

  it("reads NO_PROXY as hosts and their subdomains, ports when given", () => {
    const network = {
      proxies: {
        https: {
          url: "http://p:1",
          bypass: noProxyPatterns("contoso.com, .corp.test:8443, [::1]"),
          source: "HTTPS_PROXY",
        },
      },
    };
    const proxied = (u: string) => proxyFor(new URL(u), network) !== undefined;
    assert.deepEqual(
      [
        "https://contoso.com/",
        "https://ev2.contoso.com/x",
        "https://notcontoso.com/",
        "https://a.corp.test:8443/",
        "https://a.corp.test/",
        "https://[::1]:9/",
        "https://evil.test/?contoso.com",
      ].map(proxied),
      [false, false, true, false, true, false, true],
    );
    assert.deepEqual(noProxyPatterns("*"), [".*"]);
    // The managed identity endpoint is on the machine's own link: never through a proxy.
    assert.equal(
      proxyFor(new URL("http://169.254.169.254/metadata/identity/oauth2/token"), network),
      undefined,
    );
  });

  it("names the variable and the valid form when a setting is wrong", () => {
    const read = (v: Record<string, string>) => () => readAgentNetwork(agentWith(v), {});
    assert.throws(
      read({ "Agent.ProxyUrl": "socks5://p:1080" }),
      /Agent\.ProxyUrl 'socks5:\/\/p:1080' is not a supported proxy: expected http:\/\/host:port/,
    );
    assert.throws(
      read({ "Agent.ProxyUrl": "http://p:1", "Agent.ProxyBypassList": "contoso" }),
      /Agent\.ProxyBypassList is not a JSON array of regular expressions/,
    );
    assert.throws(
      read({ "Agent.ProxyUrl": "http://p:1", "Agent.ProxyBypassList": '["("]' }),
      /Agent\.ProxyBypassList: '\(' is not a regular expression/,
    );
    assert.throws(
      read({ "Agent.CAInfo": "/nonexistent/ca.pem" }),
      /Agent\.CAInfo names '\/nonexistent\/ca\.pem', which cannot be read \(ENOENT\)/,
    );
    assert.throws(
      read({ "Agent.ClientCert": ca.caFile }),
      /Agent\.ClientCert is set but neither Agent\.ClientCertKey/,
    );
  });
});
