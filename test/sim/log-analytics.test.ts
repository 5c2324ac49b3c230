import assert from "node:assert/strict";
import { LogAnalyticsClient, requestRows } from "../../shared/telemetry/log-analytics";
import { requestQuery, timespanOf } from "../../shared/telemetry/query";
import { closeHttpConnections } from "../../shared/http/request";
import { directNetwork, useNetwork } from "../../shared/http/transport";
import { startRecordingProxy } from "../helpers/recording-proxy";
import {
  loadTelemetryScenario,
  parseTemplate,
  startLogAnalytics,
  type LogAnalyticsSim,
} from "../../sim/log-analytics";

const workspaceId = "0b7c2c5e-1111-4222-8333-444455556666";
const start = new Date("2026-12-05T10:00:00Z");
const end = new Date("2026-12-05T10:10:00Z");
const noRetry = { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxTotalWaitMs: 0 } };

describe("Log Analytics stand-in", () => {
  let sim: LogAnalyticsSim;
  beforeEach(async () => {
    sim = await startLogAnalytics({ scenario: "regression", workspaceIds: [workspaceId], tokens: ["good"] });
  });
  afterEach(async () => {
    await closeHttpConnections();
    await sim.close();
  });
  const client = (token = "good", workspace = workspaceId) =>
    new LogAnalyticsClient({
      endpoint: sim.url,
      workspaceId: workspace,
      getToken: async () => token,
      ...noRetry,
    });
  const template = (versions: { in: string[] } | { notIn: string[] }, regions = ["eastus2euap", "uksouth"]) =>
    requestQuery({
      start,
      end,
      regions,
      versions,
      regionColumn: "Properties['region']",
      versionColumn: "AppVersion",
    });

  it("reads the template's parameters back out of its text", () => {
    assert.deepEqual(parseTemplate(template({ notIn: ["1.3.2"] })), {
      start,
      end,
      regionColumn: "Properties['region']",
      versionColumn: "AppVersion",
      regions: ["eastus2euap", "uksouth"],
      versions: { notIn: ["1.3.2"] },
    });
    assert.equal(parseTemplate(`${template({ in: ["1"] })}\n| take 5`), undefined);
    assert.equal(parseTemplate("AppRequests | take 5"), undefined);
  });

  it("serves the scenario's requests per region and version, the same rows for the same query", async () => {
    const table = await client().query(template({ in: ["1.3.2"] }), timespanOf(start, end));
    const rows = [...requestRows(table)];
    assert.equal(rows.length, 2 * 400, "40 a minute for 10 minutes in each of two regions");
    assert.deepEqual(
      [...new Set(rows.map((r) => `${r.region} ${r.version}`))],
      ["eastus2euap 1.3.2", "uksouth 1.3.2"],
    );
    const median = (region: string) => {
      const d = rows
        .filter((r) => r.region === region)
        .map((r) => r.durationMs)
        .sort((a, b) => a - b);
      return d[d.length / 2];
    };
    // The scenario makes the canary 30% slower (104 ms against 80 ms).
    assert.ok(
      median("eastus2euap") > 95 && median("uksouth") < 90,
      `${median("eastus2euap")} ${median("uksouth")}`,
    );
    const again = await client().query(template({ in: ["1.3.2"] }), timespanOf(start, end));
    assert.deepEqual(again, table);
    const previous = [...requestRows(await client().query(template({ notIn: ["1.3.2"] }, []), "PT10M"))];
    assert.deepEqual(
      [...new Set(previous.map((r) => r.version))],
      [loadTelemetryScenario("regression").previousVersion],
    );
    assert.equal(
      new Set(previous.map((r) => r.region)).size,
      6,
      "no region named: every region of the scenario",
    );
  });

  it("refuses a custom query, a wrong token and an unknown workspace as the service words them", async () => {
    await assert.rejects(
      client().query("AppRequests | summarize count() by AppRoleName", "PT1H"),
      /HTTP 400 BadArgumentError: The request had some invalid properties: The Log Analytics simulator runs no KQL: it serves only the documented request query/,
    );
    await assert.rejects(
      client("bad").query(template({ in: ["1"] }), "PT1H"),
      /HTTP 403 InsufficientAccessError/,
    );
    await assert.rejects(
      client("good", "11111111-1111-4111-8111-111111111111").query(template({ in: ["1"] }), "PT1H"),
      /HTTP 404 WorkspaceNotFoundError: .*\(no such workspace; telemetryWorkspaceId is the workspace's Workspace ID/,
    );
    await assert.rejects(
      client().query(template({ in: ["1"] }), "yesterday"),
      /timespan "yesterday" is not an ISO 8601/,
    );
    assert.deepEqual(
      sim.queries.map((q) => q.status),
      [400, 403, 404, 400],
    );
  });
});

describe("Log Analytics queries through the agent's proxy", () => {
  it("the query goes to a name only the proxy resolves, through the one HTTP module's proxy support", async () => {
    const sim = await startLogAnalytics({
      scenario: "healthy",
      workspaceIds: [workspaceId],
      tokens: ["good"],
    });
    const proxy = await startRecordingProxy({
      hosts: { "api.loganalytics.contoso.test": `127.0.0.1:${new URL(sim.url).port}` },
    });
    useNetwork({ proxies: { http: { url: proxy.url, bypass: [], source: "test" } } });
    try {
      const client = new LogAnalyticsClient({
        endpoint: "http://api.loganalytics.contoso.test",
        workspaceId,
        getToken: async () => "good",
        ...noRetry,
      });
      const table = await client.query(
        requestQuery({
          start,
          end,
          regions: ["uksouth"],
          versions: { in: ["2.0"] },
          regionColumn: "AppRoleName",
          versionColumn: "AppVersion",
        }),
        timespanOf(start, end),
      );
      assert.equal(table.rows.length, 400);
      assert.deepEqual(
        proxy.requests.map((r) => [r.kind, r.method, r.url]),
        [["absolute", "POST", `http://api.loganalytics.contoso.test/v1/workspaces/${workspaceId}/query`]],
      );
    } finally {
      useNetwork(directNetwork);
      await proxy.close();
      await sim.close();
    }
  });
});
