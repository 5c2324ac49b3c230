import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  LogAnalyticsClient,
  LogAnalyticsError,
  logAnalyticsScope,
  requestRows,
  type QueryTable,
} from "../../shared/telemetry/log-analytics";
import { columnProblem, customRequestQuery, requestQuery, timespanOf } from "../../shared/telemetry/query";
import { closeHttpConnections } from "../../shared/http/request";

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A local HTTP server answering each request with the next planned answer. */
async function serve(
  answers: Array<{ status: number; body: unknown }>,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const a = answers.shift() ?? { status: 500, body: { error: { code: "NoMorePlans", message: "x" } } };
      res.writeHead(a.status, { "content-type": "application/json; charset=utf-8" });
      res.end(typeof a.body === "string" ? a.body : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const table: QueryTable = {
  name: "PrimaryResult",
  columns: [
    { name: "region", type: "string" },
    { name: "version", type: "string" },
    { name: "durationMs", type: "real" },
    { name: "success", type: "bool" },
    { name: "itemCount", type: "long" },
  ],
  rows: [
    ["eastus", "1.4.0", 12.5, true, 1],
    ["eastus", "1.4.0", 230, false, 4],
  ],
};

/** Workspace `ws`, token `t`, one attempt. */
const plainClient = (url: string) =>
  new LogAnalyticsClient({ endpoint: url, workspaceId: "ws", getToken: async () => "t", ...noRetry });

const noRetry = { retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxTotalWaitMs: 0 } };

describe("Log Analytics query client", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await closeHttpConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it("POSTs {query, timespan} to /v1/workspaces/{id}/query with the bearer token and reads the first table", async () => {
    const s = await serve([
      { status: 200, body: { tables: [table, { name: "Other", columns: [], rows: [] }] } },
    ]);
    server = s.server;
    const client = new LogAnalyticsClient({
      endpoint: `${s.url}/`,
      workspaceId: "0b7c2c5e-1111-4222-8333-444455556666",
      getToken: async () => "la-token",
      ...noRetry,
    });
    const got = await client.query(
      "AppRequests | take 1",
      "2026-12-05T10:00:00.000Z/2026-12-05T10:30:00.000Z",
    );
    assert.deepEqual(got, table);
    assert.equal(s.seen[0].method, "POST");
    assert.equal(s.seen[0].url, "/v1/workspaces/0b7c2c5e-1111-4222-8333-444455556666/query");
    assert.equal(s.seen[0].headers.authorization, "Bearer la-token");
    assert.equal(s.seen[0].headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(s.seen[0].body), {
      query: "AppRequests | take 1",
      timespan: "2026-12-05T10:00:00.000Z/2026-12-05T10:30:00.000Z",
    });
    assert.deepEqual(
      [...requestRows(got)],
      [
        { region: "eastus", version: "1.4.0", durationMs: 12.5, success: true, itemCount: 1 },
        { region: "eastus", version: "1.4.0", durationMs: 230, success: false, itemCount: 4 },
      ],
    );
  });

  it("an error answer becomes one line with the API's code, its inner message and what to do", async () => {
    const s = await serve([
      {
        status: 403,
        body: {
          error: {
            code: "InsufficientAccessError",
            message: "The provided credentials have insufficient access.",
            innererror: { code: "Forbidden", message: "no read on workspace" },
          },
        },
      },
      {
        status: 400,
        body: {
          error: {
            code: "BadArgumentError",
            message: "The request had some invalid properties",
            innererror: { code: "SyntaxError", message: "Query could not be parsed at 'wher'" },
          },
        },
      },
    ]);
    server = s.server;
    const client = plainClient(s.url);
    await assert.rejects(client.query("q", "PT1H"), (err: unknown) => {
      assert.ok(err instanceof LogAnalyticsError);
      assert.equal(
        err.message,
        "Log Analytics query of workspace ws failed: HTTP 403 InsufficientAccessError: The provided credentials have insufficient access.: no read on workspace (the identity may not read this workspace; give it the Log Analytics Reader role on the workspace)",
      );
      return true;
    });
    await assert.rejects(
      client.query("q", "PT1H"),
      /HTTP 400 BadArgumentError: .*Query could not be parsed at 'wher'/,
    );
  });

  it("a partial result (200 with an error beside the tables) is refused: the verdict needs every row", async () => {
    const s = await serve([
      {
        status: 200,
        body: {
          tables: [table],
          error: {
            code: "PartialError",
            message: "There were some errors when processing your query.",
            details: [
              { code: "EngineError", message: "Query result set has exceeded the internal data size limit" },
            ],
          },
        },
      },
    ]);
    server = s.server;
    const client = plainClient(s.url);
    await assert.rejects(
      client.query("q", "PT1H"),
      /partial result \(PartialError: .*exceeded the internal data size limit\); the verdict needs all rows/,
    );
  });

  it("a 503 is retried by the one retry policy, then the answer is read", async () => {
    const s = await serve([
      { status: 503, body: { error: { code: "ServiceUnavailable", message: "busy" } } },
      { status: 200, body: { tables: [table] } },
    ]);
    server = s.server;
    const retries: string[] = [];
    const client = new LogAnalyticsClient({
      endpoint: s.url,
      workspaceId: "ws",
      getToken: async () => "t",
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxTotalWaitMs: 100 },
      onRetry: (n) => retries.push(n.reason),
    });
    assert.equal((await client.query("q", "PT1H")).rows.length, 2);
    assert.deepEqual(retries, ["HTTP 503"]);
  });

  it("an answer without the documented columns is refused, naming what is missing and what came", () => {
    const custom: QueryTable = {
      name: "PrimaryResult",
      columns: [
        { name: "region", type: "string" },
        { name: "DurationMs", type: "real" },
      ],
      rows: [],
    };
    assert.throws(
      () => [...requestRows(custom)],
      /the query's answer lacks the columns version, success, itemCount: it must answer region, version, durationMs, success, itemCount \(it answered region, DurationMs\)/,
    );
    const bad: QueryTable = { ...table, rows: [["eastus", "1", "slow", true, 1]] };
    assert.throws(
      () => [...requestRows(bad)],
      /row 1 of the query's answer is not a request: durationMs "slow"/,
    );
  });

  it("an answer over the 16 MiB cap is not read: a clear error saying to shorten the window", async () => {
    const s = await serve([{ status: 200, body: `{"tables":[{"rows":[${"[1],".repeat(4_500_000)}[1]]}]}` }]);
    server = s.server;
    await assert.rejects(plainClient(s.url).query("q", "PT1H"), (err: unknown) => {
      assert.ok(err instanceof LogAnalyticsError);
      assert.equal(err.code, "ResponseTooLarge");
      assert.match(err.message, /the answer is over 16 MiB; shorten the window or summarize in the query/);
      return true;
    });
  });

  it("queryRequests reads the answer as it arrives: over the 16 MiB cap, every row handed over once, none kept", async () => {
    // 600,000 rows, about 24 MiB: more than query() reads whole.
    const count = 600_000;
    const row = JSON.stringify(["eastus", "1.4.0", 12.5, true, 1]);
    const body = `{"tables":[{"name":"PrimaryResult","columns":${JSON.stringify(table.columns)},"rows":[${`${row},`.repeat(count - 1)}${row}]}]}`;
    assert.ok(body.length > 16 * 1024 * 1024);
    const s = await serve([{ status: 200, body }]);
    server = s.server;
    let requests = 0;
    let milliseconds = 0;
    const got = await plainClient(s.url).queryRequests("q", "PT1H", (r) => {
      requests += r.itemCount;
      milliseconds += r.durationMs;
    });
    assert.equal(got.rows, count);
    assert.equal(requests, count);
    assert.equal(milliseconds, 12.5 * count);
    assert.equal(s.seen.length, 1);
  });

  it("queryRequests: a partial result, a cut-off answer, missing columns and a bad row are errors; a 503 is retried", async () => {
    const rows = (n: number) => Array.from({ length: n }, () => ["eastus", "1.4.0", 1, true, 1]);
    const s = await serve([
      {
        status: 200,
        body: { tables: [{ ...table, rows: rows(3) }], error: { code: "PartialError", message: "limit" } },
      },
      {
        status: 200,
        body: `{"tables":[{"name":"t","columns":${JSON.stringify(table.columns)},"rows":[["eastus"`,
      },
      { status: 200, body: { tables: [{ ...table, columns: table.columns.slice(1) }] } },
      { status: 200, body: { tables: [{ ...table, rows: [["eastus", "1", "slow", true, 1]] }] } },
      { status: 503, body: { error: { code: "ServiceUnavailable", message: "busy" } } },
      { status: 200, body: { tables: [{ ...table, rows: rows(5) }] } },
    ]);
    server = s.server;
    const client = new LogAnalyticsClient({
      endpoint: s.url,
      workspaceId: "ws",
      getToken: async () => "t",
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxTotalWaitMs: 100 },
    });
    const none = () => {};
    await assert.rejects(client.queryRequests("q", "PT1H", none), /partial result \(PartialError: limit\)/);
    await assert.rejects(client.queryRequests("q", "PT1H", none), /the answer ends before its JSON does/);
    assert.equal(s.seen.length, 2, "a cut-off answer whose rows were used is not sent again");
    await assert.rejects(client.queryRequests("q", "PT1H", none), /lacks the column region/);
    await assert.rejects(
      client.queryRequests("q", "PT1H", none),
      /row 1 of the query's answer is not a request/,
    );
    assert.deepEqual(await client.queryRequests("q", "PT1H", none), { rows: 5 });
    assert.equal(s.seen.length, 6);
  });

  it("queryRequests: a connection lost before any of the answer arrived is sent again; lost after part of it, it is not", async () => {
    const answer = JSON.stringify({ tables: [{ ...table, rows: [["eastus", "1.4.0", 1, true, 1]] }] });
    // Each request: "headers" = 200 headers then the connection drops; "part" = half the body
    // then it drops; "whole" = the full answer.
    const plan = ["headers", "whole", "part"];
    let requests = 0;
    const s = createServer((req, res) => {
      requests++;
      req.resume();
      req.on("end", () => {
        const step = plan.shift();
        res.writeHead(200, { "content-type": "application/json", "content-length": String(answer.length) });
        if (step === "whole") return void res.end(answer);
        res.flushHeaders();
        if (step === "part") res.write(answer.slice(0, answer.length / 2));
        setTimeout(() => res.socket?.destroy(), 20);
      });
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    server = s;
    const client = new LogAnalyticsClient({
      endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
      workspaceId: "ws",
      getToken: async () => "t",
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, maxTotalWaitMs: 100 },
    });
    const got: unknown[] = [];
    assert.deepEqual(await client.queryRequests("q", "PT1H", (r) => got.push(r)), { rows: 1 });
    assert.equal(requests, 2, "the query went again after the empty cut");
    assert.equal(got.length, 1, "its row was handed over once");
    await assert.rejects(
      client.queryRequests("q", "PT1H", () => {}),
      /while the answer was being read \(after 1 attempt\)/,
    );
    assert.equal(requests, 3, "an answer cut after its first part was used is not sent again");
  });

  it("the token scope follows the endpoint (sovereign clouds)", () => {
    assert.equal(logAnalyticsScope("https://api.loganalytics.io"), "https://api.loganalytics.io/.default");
    assert.equal(
      logAnalyticsScope("https://api.loganalytics.azure.cn/"),
      "https://api.loganalytics.azure.cn/.default",
    );
  });
});

describe("the documented request query", () => {
  const start = new Date("2026-12-05T10:00:00Z");
  const end = new Date("2026-12-05T10:30:00Z");

  it("filters AppRequests by window, region and version and projects the documented columns", () => {
    assert.equal(
      requestQuery({
        start,
        end,
        regions: ["eastus", "westus"],
        versions: { in: ["1.4.0"] },
        regionColumn: "Properties['region']",
        versionColumn: "AppVersion",
      }),
      [
        "AppRequests",
        "| where TimeGenerated >= datetime(2026-12-05T10:00:00.000Z) and TimeGenerated < datetime(2026-12-05T10:30:00.000Z)",
        "| extend region = tostring(Properties['region']), version = tostring(AppVersion)",
        '| where region in~ ("eastus", "westus")',
        '| where version in ("1.4.0")',
        "| project region, version, durationMs = todouble(DurationMs), success = tobool(Success), itemCount = tolong(ItemCount)",
      ].join("\n"),
    );
    assert.match(
      requestQuery({
        start,
        end,
        regions: [],
        versions: { notIn: ['1.4.0"; drop'] },
        regionColumn: "AppRoleName",
        versionColumn: "AppVersion",
      }),
      /\| where version !in \("1\.4\.0\\"; drop"\)\n/,
    );
    assert.equal(timespanOf(start, end), "2026-12-05T10:00:00.000Z/2026-12-05T10:30:00.000Z");
  });

  it("columns are names or custom dimensions, nothing else", () => {
    for (const ok of [
      "AppRoleName",
      "AppVersion",
      "Properties['region']",
      'Properties["deployment.region"]',
      "Properties.region",
    ])
      assert.equal(columnProblem(ok), undefined, ok);
    for (const bad of ["AppRoleName | take 1", "Properties['x'] or 1==1", "", "tostring(x)"])
      assert.match(columnProblem(bad)!, /must be a column name such as AppRoleName/, bad);
    assert.throws(
      () =>
        requestQuery({
          start,
          end,
          regions: [],
          versions: { in: [] },
          regionColumn: "x; y",
          versionColumn: "AppVersion",
        }),
      /regionColumn "x; y" must be a column name/,
    );
  });

  it("a user's query gets the window, regions and versions where its placeholders say", () => {
    assert.equal(
      customRequestQuery("T | where t between ({start} .. {end}) and r in~ {regions} and v in {versions}", {
        start,
        end,
        regions: ["eastus"],
        versions: { in: ["2.0"] },
      }),
      'T | where t between (datetime(2026-12-05T10:00:00.000Z) .. datetime(2026-12-05T10:30:00.000Z)) and r in~ ("eastus") and v in ("2.0")',
    );
  });
});
