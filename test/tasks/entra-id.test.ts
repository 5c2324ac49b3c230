import assert from "node:assert/strict";
import { X509Certificate, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CLIENT_ASSERTION_TYPE, startEntraId, type EntraId, type TokenRequest } from "../../sim/entra-id";
import { startSimulator, type Simulator } from "../../sim/ev2";
import { startRecordingProxy } from "../helpers/recording-proxy";
import { createTestCa, startTestHttpsServer } from "../helpers/test-ca";
import { runBuiltTask, type EndpointSetup, type TaskRun } from "../support/run-built-task";
import { runVariables } from "./ev2-fixture";

/**
 * The Entra ID path as the bundle runs it: an Azure Resource Manager connection with a managed
 * identity, whose token endpoint (App Service style, IDENTITY_ENDPOINT) is a local fake. Proves
 * @azure/identity loads from the file beside the bundle and that EV2 receives its token.
 */
describe("connectionType azureRM (managed identity through @azure/identity)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let identity: Server;
  const entraToken = "entra-access-token-canary";
  const identityRequests: Array<{ url: string; header?: string }> = [];

  before(async () => {
    identity = createServer((req, res) => {
      identityRequests.push({
        url: req.url ?? "",
        header: req.headers["x-identity-header"] as string | undefined,
      });
      res.setHeader("content-type", "application/json");
      const expires = Math.floor(Date.now() / 1000) + 3600;
      res.end(
        JSON.stringify({
          access_token: entraToken,
          expires_on: String(expires),
          resource: "https://ev2.contoso.com",
          token_type: "Bearer",
        }),
      );
    });
    await new Promise<void>((r) => identity.listen(0, "127.0.0.1", r));
    sim = await startSimulator({ scenario: "small", clockSpeed: 600, tokens: [entraToken] });
  });
  after(async () => {
    await sim.close();
    await new Promise((r) => identity.close(r));
  });

  it("gets a token for the scope and sends it to EV2 as Bearer", async () => {
    const port = (identity.address() as AddressInfo).port;
    const run = await runBuiltTask("FollowRollout", {
      inputs: {
        connectionType: "azureRM",
        azureSubscription: "arm",
        ev2Url: sim.url,
        ev2Scope: "https://ev2.contoso.com",
        rolloutId: "11111111-1111-4111-8111-111111111111",
      },
      endpoints: {
        arm: {
          url: "https://management.azure.com/",
          scheme: "ManagedServiceIdentity",
          parameters: { tenantid: "00000000-0000-0000-0000-0000000000aa" },
        },
      },
      variables: runVariables(),
      env: {
        IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
        IDENTITY_HEADER: "identity-header-secret",
      },
    });
    assert.equal(run.result?.result, "Succeeded", run.stdout + run.stderr);
    assert.ok(identityRequests.length >= 1);
    assert.match(identityRequests[0].url, /resource=https%3A%2F%2Fev2\.contoso\.com/);
    assert.equal(sim.requests[0].headers.authorization, `Bearer ${entraToken}`);
    assert.ok(!run.visibleText.includes(entraToken));
    assert.ok(run.secrets.includes(entraToken), "the access token is registered as a secret");
  });
});

const fixtures = join(__dirname, "..", "fixtures", "entra");
const tenantId = "00000000-0000-0000-0000-0000000000aa";
const ev2Scope = "https://ev2.contoso.com";
const jobAccessToken = "job-access-token-canary";
const oidcToken = "eyJ0eXAiOiJKV1QifQ.pipeline-oidc-token-canary.signature";
const clientSecret = "client-secret-canary";
const certificatePem = readFileSync(join(fixtures, "service-principal.pem"), "utf8");
const oidcPath =
  "/contoso/c0ffee00-0000-4000-8000-000000000002/_apis/distributedtask/hubs/build/plans/p1/jobs/j1/oidctoken";

/** The three ways a connection proves its service principal, each with its own app registration. */
const principals = {
  workloadIdentityFederation: {
    clientId: "11111111-0000-4000-8000-00000000f1f1",
    accessToken: "wif-access-token",
  },
  secret: { clientId: "11111111-0000-4000-8000-00000000bbbb", accessToken: "secret-access-token" },
  certificate: { clientId: "11111111-0000-4000-8000-00000000cccc", accessToken: "certificate-access-token" },
};

/**
 * The other Azure Resource Manager connection kinds, against a local Entra ID over HTTPS (trusted
 * through NODE_EXTRA_CA_CERTS as a private CA would be) and the pipeline's OIDC endpoint: real
 * MSAL requests, real credential checks, and EV2 must receive exactly the token Entra issued.
 */
describe("connectionType azureRM (service principals through a local Entra ID)", function () {
  this.timeout(60_000);
  let sim: Simulator;
  let entra: EntraId;
  let oidc: Server;
  let oidcReply: { status: number; body: string };
  const oidcRequests: Array<{ method: string; url: string; authorization?: string }> = [];

  before(async () => {
    entra = await startEntraId({
      tenantId,
      tls: {
        cert: readFileSync(join(fixtures, "localhost-cert.pem")),
        key: readFileSync(join(fixtures, "localhost-key.pem")),
      },
      applications: [
        {
          ...principals.workloadIdentityFederation,
          credential: { kind: "federated", token: oidcToken },
        },
        { ...principals.secret, credential: { kind: "secret", secret: clientSecret } },
        { ...principals.certificate, credential: { kind: "certificate", certificatePem } },
      ],
    });
    // The pipeline's OIDC endpoint, as Azure DevOps serves it at System.OidcRequestUri.
    oidc = createServer((req, res) => {
      oidcRequests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
      });
      res.writeHead(oidcReply.status, { "content-type": "application/json; charset=utf-8" });
      res.end(oidcReply.body);
    });
    await new Promise<void>((r) => oidc.listen(0, "127.0.0.1", r));
    sim = await startSimulator({
      scenario: "small",
      clockSpeed: 600,
      tokens: Object.values(principals).map((p) => p.accessToken),
    });
  });
  beforeEach(() => {
    oidcReply = { status: 200, body: JSON.stringify({ oidcToken }) };
    oidcRequests.length = 0;
  });
  after(async () => {
    await sim.close();
    await entra.close();
    await new Promise((r) => oidc.close(r));
  });

  /** Runs FollowRollout with connection `id`; returns the run with the EV2 and Entra requests it made. */
  async function follow(
    id: string,
    endpoint: EndpointSetup,
    jobToken: { variable?: string; systemVssConnection?: string } = { variable: jobAccessToken },
    more: { variables?: Record<string, string>; authorityUrl?: string } = {},
  ) {
    const ev2From = sim.requests.length;
    const entraFrom = entra.tokenRequests.length;
    const run = await runBuiltTask("FollowRollout", {
      inputs: {
        connectionType: "azureRM",
        azureSubscription: id,
        ev2Url: sim.url,
        ev2Scope,
        rolloutId: "11111111-1111-4111-8111-111111111111",
      },
      endpoints: {
        [id]: {
          ...endpoint,
          data: {
            environment: "AzureCloud",
            environmentAuthorityUrl: more.authorityUrl ?? `${entra.url}/`,
            ...endpoint.data,
          },
        },
        ...(jobToken.systemVssConnection
          ? {
              SYSTEMVSSCONNECTION: {
                url: "https://dev.azure.com/contoso/",
                scheme: "OAuth",
                parameters: { AccessToken: jobToken.systemVssConnection },
              },
            }
          : {}),
      },
      variables: runVariables("4711", {
        "System.OidcRequestUri": `http://127.0.0.1:${(oidc.address() as AddressInfo).port}${oidcPath}`,
        ...more.variables,
      }),
      secretVariables: jobToken.variable ? { "System.AccessToken": jobToken.variable } : {},
      env: { NODE_EXTRA_CA_CERTS: join(fixtures, "localhost-cert.pem") },
    });
    return { run, ev2: sim.requests.slice(ev2From), tokenRequests: entra.tokenRequests.slice(entraFrom) };
  }

  const endpoints = {
    workloadIdentityFederation: {
      url: "https://management.azure.com/",
      scheme: "WorkloadIdentityFederation",
      parameters: {
        tenantid: tenantId,
        serviceprincipalid: principals.workloadIdentityFederation.clientId,
        workloadIdentityFederationIssuer:
          "https://vstoken.dev.azure.com/c0ffee00-0000-4000-8000-000000000001",
        workloadIdentityFederationSubject: "sc://contoso/Orders/arm-wif",
      },
    },
    secret: {
      url: "https://management.azure.com/",
      scheme: "ServicePrincipal",
      parameters: {
        tenantid: tenantId,
        serviceprincipalid: principals.secret.clientId,
        authenticationType: "spnKey",
        serviceprincipalkey: clientSecret,
      },
    },
    certificate: {
      url: "https://management.azure.com/",
      scheme: "ServicePrincipal",
      parameters: {
        tenantid: tenantId,
        serviceprincipalid: principals.certificate.clientId,
        authenticationType: "spnCertificate",
        servicePrincipalCertificate: certificatePem,
      },
    },
  } satisfies Record<keyof typeof principals, EndpointSetup>;

  /** What every kind must do: one client credentials request for the scope, its token to EV2, nothing shown. */
  function assertTokenUsed(
    kind: keyof typeof principals,
    got: { run: TaskRun; ev2: Simulator["requests"]; tokenRequests: TokenRequest[] },
    secrets: string[],
  ): TokenRequest {
    const { run, ev2, tokenRequests } = got;
    const { clientId, accessToken } = principals[kind];
    assert.equal(run.result?.result, "Succeeded", run.stdout + run.stderr);
    assert.equal(tokenRequests.length, 1, "one token request: the token is cached for the run");
    const request = tokenRequests[0];
    assert.deepEqual(
      [request.status, request.tenant, request.grantType, request.clientId, request.scope],
      [200, tenantId, "client_credentials", clientId, `${ev2Scope}/.default`],
    );
    assert.ok(ev2.length > 0, "the task called EV2");
    assert.deepEqual([...new Set(ev2.map((r) => r.headers.authorization))], [`Bearer ${accessToken}`]);
    assert.ok(run.secrets.includes(accessToken), "the access token is registered as a secret");
    for (const secret of [accessToken, ...secrets])
      assert.ok(!run.visibleText.includes(secret), `${secret} must not be shown in the log`);
    return request;
  }

  it("workload identity federation: exchanges the pipeline's OIDC token for the EV2 token", async () => {
    const got = await follow("arm-wif", endpoints.workloadIdentityFederation);
    const request = assertTokenUsed("workloadIdentityFederation", got, [oidcToken, jobAccessToken]);
    assert.equal(request.clientAssertion, oidcToken);
    assert.equal(request.clientAssertionType, CLIENT_ASSERTION_TYPE);
    assert.equal(request.clientSecret, undefined);
    assert.equal(oidcRequests.length, 1);
    const asked = new URL(oidcRequests[0].url, "http://oidc");
    assert.deepEqual(
      [oidcRequests[0].method, asked.pathname, asked.searchParams.get("api-version")],
      ["POST", oidcPath, "7.1-preview.1"],
    );
    assert.equal(asked.searchParams.get("serviceConnectionId"), "arm-wif");
    assert.equal(oidcRequests[0].authorization, `Bearer ${jobAccessToken}`);
    assert.ok(got.run.secrets.includes(oidcToken), "the OIDC token is registered as a secret");
  });

  it("workload identity federation: asks for the OIDC token with the SystemVssConnection token, without System.AccessToken mapped", async () => {
    const endpointToken = "system-vss-connection-token-canary";
    const got = await follow("arm-wif", endpoints.workloadIdentityFederation, {
      systemVssConnection: endpointToken,
    });
    assertTokenUsed("workloadIdentityFederation", got, [oidcToken, endpointToken]);
    assert.equal(oidcRequests[0].authorization, `Bearer ${endpointToken}`);
    assert.ok(got.run.secrets.includes(endpointToken));
  });

  it("workload identity federation: the SystemVssConnection token comes before System.AccessToken", async () => {
    const endpointToken = "system-vss-connection-token-canary";
    const got = await follow("arm-wif", endpoints.workloadIdentityFederation, {
      systemVssConnection: endpointToken,
      variable: jobAccessToken,
    });
    assertTokenUsed("workloadIdentityFederation", got, [oidcToken, endpointToken, jobAccessToken]);
    assert.deepEqual(
      oidcRequests.map((r) => r.authorization),
      [`Bearer ${endpointToken}`],
    );
  });

  it("workload identity federation through the agent's proxy: the OIDC request, Entra ID and EV2 all go through it", async () => {
    const proxy = await startRecordingProxy({
      credentials: { username: "agent", password: "proxy-pass-canary" },
    });
    try {
      const got = await follow("arm-wif", endpoints.workloadIdentityFederation, undefined, {
        variables: {
          "Agent.ProxyUrl": proxy.url,
          "Agent.ProxyUsername": "agent",
          "Agent.ProxyPassword": "proxy-pass-canary",
        },
      });
      assertTokenUsed("workloadIdentityFederation", got, [oidcToken, jobAccessToken, "proxy-pass-canary"]);
      const entraHost = new URL(entra.url).host;
      const seen = proxy.requests.map(
        (r) => `${r.kind} ${r.kind === "connect" ? r.target : new URL(r.url).pathname}`,
      );
      assert.ok(seen.includes(`connect ${entraHost}`), seen.join("\n"));
      assert.ok(seen.includes(`absolute ${oidcPath}`), seen.join("\n"));
      assert.ok(
        seen.some((r) => r.startsWith("absolute /rollouts/")),
        seen.join("\n"),
      );
      assert.ok(proxy.requests.every((r) => r.proxyAuthorization === "right"));
    } finally {
      await proxy.close();
    }
  });

  it("service principal: a redirect from the authority to another origin is not followed; the secret goes nowhere", async () => {
    const ca = createTestCa();
    const redirects: string[] = [];
    const redirector = await startTestHttpsServer(ca, (req, res) => {
      redirects.push(`${req.method} ${req.url}`);
      res.writeHead(307, { location: `${entra.url}${req.url}` }).end();
    });
    try {
      const entraBefore = entra.requests.length;
      const { run, tokenRequests } = await follow("arm-secret", endpoints.secret, undefined, {
        variables: { "Agent.CAInfo": ca.caFile },
        authorityUrl: `${redirector.url}/`,
      });
      assert.equal(run.result?.result, "Failed", run.stdout);
      assert.ok(redirects.length > 0, "the task asked the authority");
      assert.equal(entra.requests.length, entraBefore, "nothing followed the redirect to Entra ID's origin");
      assert.equal(tokenRequests.length, 0);
      assert.ok(!run.visibleText.includes(clientSecret));
    } finally {
      await redirector.close();
      ca.dispose();
    }
  });

  it("service principal with a client secret: sends the secret and uses the token", async () => {
    const got = await follow("arm-secret", endpoints.secret);
    const request = assertTokenUsed("secret", got, [clientSecret]);
    assert.equal(request.clientSecret, clientSecret);
    assert.equal(request.clientAssertion, undefined);
    assert.equal(oidcRequests.length, 0, "no OIDC token is asked for");
  });

  it("service principal with a certificate: signs a client assertion with the certificate's key", async () => {
    const got = await follow("arm-cert", endpoints.certificate);
    const keyLine = certificatePem.split("\n")[1];
    const request = assertTokenUsed("certificate", got, [keyLine]);
    assert.ok(got.run.secrets.includes(keyLine), "the private key is registered as a secret, line by line");
    assert.equal(request.clientSecret, undefined);
    assert.equal(request.clientAssertionType, CLIENT_ASSERTION_TYPE);
    // Entra (the stand-in) verified the signature, or the request would not be a 200.
    const [header, claims] = (request.clientAssertion ?? "")
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>);
    const der = new X509Certificate(certificatePem).raw;
    assert.equal(header["x5t#S256"], createHash("sha256").update(der).digest("base64url"));
    assert.deepEqual(
      [claims.iss, claims.sub, claims.aud],
      [
        principals.certificate.clientId,
        principals.certificate.clientId,
        `${entra.url}/${tenantId}/oauth2/v2.0/token`,
      ],
    );
  });

  const badOidcReplies = [
    {
      reply: "a body that is not JSON",
      body: "<html><body>Sign in to Azure DevOps</body></html>",
      problem: "HTTP 200 with a body that is not JSON",
    },
    {
      reply: "JSON without oidcToken",
      body: '{"value":null}',
      problem: "HTTP 200 with JSON that has no oidcToken",
    },
  ];
  for (const { reply, body, problem } of badOidcReplies) {
    it(`workload identity federation: an OIDC reply with ${reply} fails with one line naming the connection`, async () => {
      oidcReply = { status: 200, body };
      const { run, ev2, tokenRequests } = await follow("arm-wif", endpoints.workloadIdentityFederation);
      assert.equal(run.result?.result, "Failed", run.stdout + run.stderr);
      assert.equal(
        run.result?.message,
        `Service connection 'arm-wif' (workload identity federation): the pipeline's OIDC endpoint answered ${problem} instead of a federated token.`,
      );
      assert.deepEqual([tokenRequests.length, ev2.length], [0, 0], "neither Entra nor EV2 was called");
    });
  }
});
