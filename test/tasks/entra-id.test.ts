import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startSimulator, type Simulator } from "../../sim/ev2";
import { runBuiltTask } from "../support/run-built-task";
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
