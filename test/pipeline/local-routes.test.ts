import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalPlay } from "../../pipeline/local-play";
import { localRouteRewriter, regionOf, serviceUrlFor } from "../../pipeline/local-routes";
import { readPipeline } from "../../pipeline/pipeline-file";
import { loadScenario } from "../../sim/ev2";

const regions = ["eastus", "westus", "westus2", "uksouth", "eastus2euap", "eu-west-1"];
const serviceUrl = "http://127.0.0.1:4000";
const webhookUrl = "https://127.0.0.1:4001/workflows/abc/triggers/manual/paths/invoke?sig=SINKSECRET";

describe("local play of literal hosts", () => {
  describe("the region a URL encodes", () => {
    const cases: Array<[string, ReturnType<typeof regionOf>]> = [
      ["https://orders-{region}.fabrikam.net/api/orders", { region: "{region}", inPath: "no" }],
      ["https://{region}.orders.fabrikam.net/", { region: "{region}", inPath: "no" }],
      ["https://fabrikam.net/{region}/health", { region: "{region}", inPath: "first" }],
      ["https://orders-eastus.fabrikam.net/api/orders", { region: "eastus", inPath: "no" }],
      ["https://uksouth.orders.fabrikam.net:8443/api", { region: "uksouth", inPath: "no" }],
      // The longest region that is a whole part of the host: westus2, not westus.
      ["https://orders-westus2.fabrikam.net/", { region: "westus2", inPath: "no" }],
      ["https://orders.eu-west-1.fabrikam.net/", { region: "eu-west-1", inPath: "no" }],
      ["https://fabrikam.net/westus/health", { region: "westus", inPath: "first" }],
      ["https://fabrikam.net/api/uksouth/orders", { region: "uksouth", inPath: "later" }],
      ["https://api.fabrikam.net/v2/payments", undefined],
      // A region name inside a longer word is not that region.
      ["https://northeastus.fabrikam.net/", undefined],
      ["https://eastusers.fabrikam.net/", undefined],
    ];
    for (const [url, expected] of cases)
      it(`${url} -> ${expected ? `${expected.region} (${expected.inPath})` : "none"}`, () =>
        assert.deepEqual(regionOf(url, regions), expected));
  });

  describe("the sample service's URL for a literal one", () => {
    const cases: Array<[string, string]> = [
      ["https://orders-{region}.fabrikam.net/api/orders", `${serviceUrl}/{region}/api/orders`],
      ["https://fabrikam.net/{region}/health", `${serviceUrl}/{region}/health`],
      ["https://orders-eastus.fabrikam.net/api/orders?page=2", `${serviceUrl}/eastus/api/orders?page=2`],
      ["https://orders-uksouth.fabrikam.net", `${serviceUrl}/uksouth`],
      ["https://orders-uksouth.fabrikam.net/", `${serviceUrl}/uksouth`],
      ["https://fabrikam.net/api/{region}/orders", `${serviceUrl}/{region}/api/{region}/orders`],
      ["https://api.fabrikam.net/v2/payments", `${serviceUrl}/v2/payments`],
      ["https://api.fabrikam.net", `${serviceUrl}/`],
    ];
    for (const [url, local] of cases)
      it(`${url} -> ${local}`, () => assert.equal(serviceUrlFor(url, { serviceUrl, regions }), local));
  });

  describe("which inputs are rewritten", () => {
    const rewrite = localRouteRewriter({ serviceUrl, webhookUrl, regions });

    it("StressTestStage endpoints: each literal URL, methods and comments kept, with a note each", () => {
      const endpoints = [
        "https://orders-{region}.fabrikam.net/api/orders",
        "POST https://fabrikam.net/{region}/api/orders",
        "# https://orders-westus.fabrikam.net/api/orders is not loaded",
        "$(baseUrl)/{region}/health",
        "http://127.0.0.1:9999/{region}/health",
      ].join("\n");
      const result = rewrite("StressTestStage", "endpoints", endpoints);
      assert.ok(result);
      assert.deepEqual(result.value.split("\n"), [
        `${serviceUrl}/{region}/api/orders`,
        `POST ${serviceUrl}/{region}/api/orders`,
        "# https://orders-westus.fabrikam.net/api/orders is not loaded",
        "$(baseUrl)/{region}/health",
        "http://127.0.0.1:9999/{region}/health",
      ]);
      assert.deepEqual(result.notes, [
        `local play: https://orders-{region}.fabrikam.net/api/orders -> ${serviceUrl}/{region}/api/orders`,
        `local play: https://fabrikam.net/{region}/api/orders -> ${serviceUrl}/{region}/api/orders`,
      ]);
    });

    it("GateApproval healthProbes: the URL, its latency limit kept", () => {
      const result = rewrite(
        "GateApproval",
        "healthProbes",
        "https://orders-westus.fabrikam.net/health < 800ms",
      );
      assert.equal(result?.value, `${serviceUrl}/westus/health < 800ms`);
      // The task fills no {region} in a probe: played as written, it fails as in Azure DevOps.
      assert.equal(
        rewrite("GateApproval", "healthProbes", "https://orders-{region}.fabrikam.net/health"),
        undefined,
      );
    });

    it("TeamsNotify webhookUrl: the sink, and the notes show origins only (a webhook URL holds its secret)", () => {
      const literal =
        "https://prod-12.westus.logic.azure.com:443/workflows/1/triggers/manual/paths/invoke?sig=USERSECRET";
      const result = rewrite("TeamsNotify", "webhookUrl", literal);
      assert.equal(result?.value, webhookUrl);
      assert.deepEqual(result?.notes, [
        "local play: https://prod-12.westus.logic.azure.com:443/… -> the Teams sink https://127.0.0.1:4001/…",
      ]);
    });

    it("TeamsNotify webhookUrl the task would refuse stays as written; what it would warn about is in the note", () => {
      assert.equal(
        rewrite("TeamsNotify", "webhookUrl", "http://prod-1.westus.logic.azure.com/workflows/1"),
        undefined,
      );
      const connector = rewrite(
        "TeamsNotify",
        "webhookUrl",
        "https://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b",
      );
      assert.equal(connector?.value, webhookUrl);
      assert.match(
        connector?.notes[0] ?? "",
        /-> the Teams sink https:\/\/127\.0\.0\.1:4001\/… \(webhookUrl is an Office 365 connector/,
      );
    });

    it("StressTestStage endpointsFile: a copy with its hosts rewritten in the job's temp folder; the file stays as written", () => {
      const work = mkdtempSync(join(tmpdir(), "local-routes-"));
      const temp = mkdtempSync(join(tmpdir(), "local-routes-temp-"));
      const text = [
        "endpoints:",
        "  - url: https://orders-{region}.fabrikam.net/api/orders",
        "    method: POST",
        '  - { name: "health-{region}", url: "https://fabrikam.net/{region}/health", expectedStatus: 200 }',
        "  - url: http://127.0.0.1:9/{region}/x",
        "",
      ].join("\n");
      mkdirSync(join(work, "load"));
      writeFileSync(join(work, "load", "endpoints.yml"), text);
      const step = {
        expand: (t: string) => t.replace("$(loadDir)", "load"),
        workingDirectory: work,
        tempDirectory: temp,
      };
      const result = rewrite("StressTestStage", "endpointsFile", "$(loadDir)/endpoints.yml", step);
      assert.equal(result?.value, join(temp, "local-play", "endpoints.yml"));
      assert.equal(
        readFileSync(result.value, "utf8"),
        text
          .replace("https://orders-{region}.fabrikam.net/api/orders", `${serviceUrl}/{region}/api/orders`)
          .replace("https://fabrikam.net/{region}/health", `${serviceUrl}/{region}/health`),
      );
      assert.equal(readFileSync(join(work, "load", "endpoints.yml"), "utf8"), text);
      assert.equal(result.notes.length, 3);
      assert.match(
        result.notes[0],
        /^local play: endpointsFile load\/endpoints\.yml -> a copy with its hosts rewritten, /,
      );
      // A missing file is the task's to report.
      assert.equal(rewrite("StressTestStage", "endpointsFile", "nope.yml", step), undefined);
    });

    it("leaves variables, runtime expressions, local hosts and other inputs as written", () => {
      assert.equal(rewrite("TeamsNotify", "webhookUrl", "$(teamsWebhook)"), undefined);
      assert.equal(rewrite("StressTestStage", "endpoints", "https://$(host)/{region}/api"), undefined);
      assert.equal(rewrite("StressTestStage", "endpoints", "http://localhost:8080/{region}/api"), undefined);
      assert.equal(
        rewrite("StressTestStage", "endpointsFile", "https://orders.fabrikam.net/x.json"),
        undefined,
      );
      assert.equal(rewrite("TriggerEv2Rollout", "serviceGroupName", "https://x.fabrikam.net"), undefined);
    });
  });

  describe("base URL variables the file sets (startLocalPlay)", () => {
    it("a literal URL naming its region keeps region and path; one naming none is the sample service's root", async () => {
      const definition = readPipeline(`
variables:
  ordersUrl: https://orders.{region}.fabrikam.net/v1/items
  baseUrl: https://fabrikam.net/api
  fromElsewhere: $(somethingElse)
steps:
  - task: StressTestStage@1
    inputs:
      endpoints: |
        $(ordersUrl)
        $(baseUrl)/{region}/health
        $(fromElsewhere)/{region}/health
      region: eastus
`);
      const local = await startLocalPlay(definition, loadScenario("gated"));
      try {
        assert.deepEqual(local.variables, {
          ordersUrl: `${local.target.url}/{region}/v1/items`,
          baseUrl: local.target.url,
          fromElsewhere: local.target.url,
        });
        assert.match(local.description, /\$\(ordersUrl\) = http:\/\/127\.0\.0\.1:\d+\/\{region\}\/v1\/items/);
      } finally {
        await local.close();
      }
    });
  });
});
