import assert from "node:assert/strict";
import {
  StressInputError,
  completeEndpoint,
  parseEndpointLines,
  parseEndpointsFile,
  resolveEndpoints,
  substituteTokens,
} from "../../shared/stress";

async function rejectsWith(promise: Promise<unknown>, message: string, input: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StressInputError, String(err));
    assert.equal(err.message, message);
    assert.equal(err.input, input);
    return true;
  });
}

describe("stress endpoints", () => {
  describe("tokens", () => {
    it("fills {region} and {stage}, leaving other braces alone", () => {
      assert.equal(
        substituteTokens("https://{region}.contoso.com/{stage}/{id}", { region: "eastus", stage: "canary" }),
        "https://eastus.contoso.com/canary/{id}",
      );
    });

    it("names the token that has no value", () => {
      assert.throws(
        () => substituteTokens("https://{region}.contoso.com", { stage: "canary" }),
        /^StressInputError: endpoints: "https:\/\/\{region\}.contoso.com" uses \{region\} but no region was given$/,
      );
    });

    it("does not show a header's value when its token is missing", () => {
      assert.throws(
        () => completeEndpoint({ url: "https://x", headers: { "X-Key": "secret-{stage}" } }),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.equal(err.message, "endpoints: header X-Key uses {stage} but no stage was given");
          return true;
        },
      );
    });
  });

  describe("the endpoints input", () => {
    it("takes one URL a line, an optional method first, skipping blanks and comments", () => {
      assert.deepEqual(
        parseEndpointLines("https://a/x\n\n# comment\r\n  post https://a/y  \nDELETE https://a/z"),
        [
          { url: "https://a/x" },
          { url: "https://a/y", method: "POST" },
          { url: "https://a/z", method: "DELETE" },
        ],
      );
    });

    it("rejects a word that is not a method, and two URLs on a line", () => {
      assert.throws(
        () => parseEndpointLines("FETCH https://a/x"),
        /endpoints: "FETCH https:\/\/a\/x": FETCH is not a method; use one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or the URL alone/,
      );
      assert.throws(() => parseEndpointLines("https://a/x https://a/y"), /expected one URL a line/);
    });
  });

  describe("the endpoints file", () => {
    const yaml = `
endpoints:
  - url: https://{region}.contoso.com/api/orders
    name: create order
    method: post
    headers:
      X-Trace: on
      X-Count: 3
    body: { item: "book", qty: 2 }
    expectedStatus: [201, "2xx"]
  - url: https://{region}.contoso.com/health
    expectedStatus: "200-204"
`;

    it("reads YAML with methods, headers, JSON bodies and status forms", async () => {
      const specs = await parseEndpointsFile(yaml, "endpoints.yaml");
      assert.deepEqual(specs, [
        {
          url: "https://{region}.contoso.com/api/orders",
          name: "create order",
          method: "POST",
          headers: { "X-Trace": "on", "X-Count": "3", "content-type": "application/json" },
          body: '{"item":"book","qty":2}',
          expectedStatus: [
            { min: 201, max: 201 },
            { min: 200, max: 299 },
          ],
        },
        { url: "https://{region}.contoso.com/health", expectedStatus: [{ min: 200, max: 204 }] },
      ]);
    });

    it("reads YAML flow style that is not JSON", async () => {
      const specs = await parseEndpointsFile("[{url: 'https://a/x', method: post}]", "e.yml");
      assert.deepEqual(specs, [{ url: "https://a/x", method: "POST" }]);
    });

    it("reads a JSON list", async () => {
      const specs = await parseEndpointsFile('[{"url":"https://a/x","expectedStatus":404}]', "e.json");
      assert.deepEqual(specs, [{ url: "https://a/x", expectedStatus: [{ min: 404, max: 404 }] }]);
    });

    const bad: [string, string, string][] = [
      [
        "e.yaml",
        "endpoints:\n  - url: https://a\n    method: FETCH\n",
        "endpointsFile e.yaml: endpoints[0].method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
      ],
      [
        "e.yaml",
        "endpoints:\n  - url: https://a\n  - name: x\n",
        "endpointsFile e.yaml: endpoints[1].url: is required: the URL to load",
      ],
      [
        "e.json",
        '[{"url":"https://a","expectedStatus":"3xxx"}]',
        'endpointsFile e.json: [0].expectedStatus: "3xxx" is not a status (200), a class ("2xx"), a range ("200-299") or a list of those within 100-599',
      ],
      [
        "e.json",
        '[{"url":"https://a","expectedStatus":700}]',
        'endpointsFile e.json: [0].expectedStatus: 700 is not a status (200), a class ("2xx"), a range ("200-299") or a list of those within 100-599',
      ],
      [
        "e.json",
        '[{"url":"https://a","timeout":5}]',
        'endpointsFile e.json: [0]: unknown field "timeout"; an endpoint has url and optionally name, method, headers, body, expectedStatus',
      ],
      ["e.json", '{"url": "https://a"', "endpointsFile e.json: not valid JSON or YAML: "],
      ["e.yaml", "just text", "endpointsFile e.yaml: expected a list of endpoints"],
    ];
    for (const [name, content, message] of bad) {
      it(`explains ${JSON.stringify(content).slice(0, 50)}`, async () => {
        await assert.rejects(parseEndpointsFile(content, name), (err: unknown) => {
          assert.ok(err instanceof StressInputError);
          assert.equal(err.input, "endpointsFile");
          assert.ok(err.message.startsWith(message) || err.message.includes(message), err.message);
          return true;
        });
      });
    }
  });

  describe("resolveEndpoints", () => {
    it("combines lines and file, fills tokens, applies defaults and the bearer token", async () => {
      const endpoints = await resolveEndpoints({
        lines: "https://{region}.contoso.com/health",
        file: {
          name: "e.json",
          content: JSON.stringify([
            { url: "https://{region}.contoso.com/api", method: "POST", body: "{}" },
            { url: "https://{region}.contoso.com/own", headers: { Authorization: "Basic abc" } },
          ]),
        },
        tokens: { region: "westus" },
        bearerToken: "t0ken",
      });
      assert.deepEqual(endpoints, [
        {
          name: "https://westus.contoso.com/health",
          url: "https://westus.contoso.com/health",
          template: "https://{region}.contoso.com/health",
          method: "GET",
          headers: { authorization: "Bearer t0ken" },
          expectedStatus: [{ min: 200, max: 399 }],
        },
        {
          name: "POST https://westus.contoso.com/api",
          url: "https://westus.contoso.com/api",
          template: "https://{region}.contoso.com/api",
          method: "POST",
          headers: { authorization: "Bearer t0ken" },
          body: "{}",
          expectedStatus: [{ min: 200, max: 399 }],
        },
        {
          name: "https://westus.contoso.com/own",
          url: "https://westus.contoso.com/own",
          template: "https://{region}.contoso.com/own",
          method: "GET",
          headers: { authorization: "Basic abc" },
          expectedStatus: [{ min: 200, max: 399 }],
        },
      ]);
    });

    it("keeps the URL as written only when a token was filled in", async () => {
      const [plain, templated] = await resolveEndpoints({
        lines: "https://contoso.com/health\nhttps://{region}.contoso.com/health",
        tokens: { region: "uksouth" },
      });
      assert.equal("template" in plain, false);
      assert.equal(templated.template, "https://{region}.contoso.com/health");
    });

    it("rejects non-http URLs, credentials in URLs, too many or no endpoints, and duplicates", async () => {
      await rejectsWith(
        resolveEndpoints({ lines: "ftp://a/x" }),
        'endpoints: "ftp://a/x" uses ftp; only http and https URLs can be loaded',
        "endpoints",
      );
      await rejectsWith(
        resolveEndpoints({ lines: "not a url" }),
        'endpoints: "not a url": expected one URL a line, optionally after a method (POST https://...)',
        "endpoints",
      );
      await rejectsWith(
        resolveEndpoints({ lines: "contoso.com/x" }),
        'endpoints: "contoso.com/x" is not a URL; expected e.g. https://contoso.com/api/health',
        "endpoints",
      );
      await rejectsWith(
        resolveEndpoints({ lines: "https://user:pw@a/x" }),
        'endpoints: "a/x" carries credentials in the URL; pass a bearer token or an Authorization header instead',
        "endpoints",
      );
      const tooMany = Array.from({ length: 51 }, (_, i) => `https://a/${i}`).join("\n");
      await rejectsWith(
        resolveEndpoints({ lines: tooMany }),
        "endpoints: 51 endpoints given; at most 50 are allowed",
        "endpoints",
      );
      await rejectsWith(
        resolveEndpoints({ lines: "# none" }),
        "endpoints: no endpoint given; give 1 to 50 URLs",
        "endpoints",
      );
      await rejectsWith(
        resolveEndpoints({ lines: "https://a/x\nhttps://a/x" }),
        'endpoints: "https://a/x" is listed twice; each endpoint needs its own name (set name: in the endpoints file)',
        "endpoints",
      );
    });
  });
});
