import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Simulator } from "../../sim/ev2";
import { TOKEN, simulator } from "../tasks/ev2-fixture";

const root = join(__dirname, "..", "..");
const read = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));

interface DataSource {
  name: string;
  endpointUrl: string;
  resultSelector: string;
}

const endpointType = read("vss-extension.json").contributions.find(
  (c: { type: string }) => c.type === "ms.vss-endpoint.service-endpoint-type",
);
const dataSources: DataSource[] = endpointType.properties.dataSources;

/** The two JSONPath shapes the data sources use: `$.list[*]` and `$.list[*].field`. */
function select(selector: string, body: unknown): unknown[] {
  const m = /^jsonpath:\$\.(\w+)\[\*\](?:\.(\w+))?$/.exec(selector);
  assert.ok(m, `a selector this test understands: ${selector}`);
  const list = (body as Record<string, unknown[]>)[m[1]];
  assert.ok(Array.isArray(list), `${m[1]} is a list in ${JSON.stringify(body)}`);
  return m[2] ? list.map((item) => (item as Record<string, unknown>)[m[2]]) : list;
}

/** Renders `{{endpoint.url}}` and `{{name}}` the way the server fills a data source's URL. */
function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([\w.]+)\}\}/g, (_m, key: string) => {
    assert.ok(key in values, `a value for {{${key}}}`);
    return key === "endpoint.url" ? values[key] : encodeURIComponent(values[key]);
  });
}

describe("the EV2 connection's data sources (Verify and the pick lists) against the simulator", () => {
  let sim: Simulator;
  before(async () => (sim = await simulator("small")));
  after(() => sim.close());

  const values = () => ({
    "endpoint.url": sim.url,
    serviceGroupName: "Microsoft.Contoso.Orders",
    serviceId: "orders-api",
    stageMapName: "OrdersStageMap",
  });
  const get = (url: string, token = TOKEN) => fetch(url, { headers: { authorization: `Bearer ${token}` } });

  it("has a TestConnection data source asking for one service group", () => {
    const test = dataSources.find((d) => d.name === "TestConnection");
    assert.ok(test);
    assert.match(test.endpointUrl, /\/serviceGroups\?top=1$/);
  });

  for (const ds of dataSources) {
    it(`${ds.name}: the simulator answers and the selector picks names`, async () => {
      const res = await get(render(ds.endpointUrl, values()));
      assert.equal(res.status, 200);
      const picked = select(ds.resultSelector, await res.json());
      assert.ok(picked.length > 0);
      for (const value of picked) assert.equal(typeof value, "string");
      if (ds.name === "TestConnection") assert.equal(picked.length, 1);
      if (ds.name === "Ev2ServiceGroups") assert.ok(picked.includes("Microsoft.Contoso.Orders"));
      if (ds.name === "Ev2Environments") assert.ok(picked.includes("PPE"));
    });
  }

  it("Verify fails on a wrong token: the listing calls are authenticated", async () => {
    const test = dataSources.find((d) => d.name === "TestConnection")!;
    const res = await get(render(test.endpointUrl, values()), "not-the-token");
    assert.equal(res.status, 401);
  });

  it("an unknown service group or service is a 404 naming it", async () => {
    const groups = await get(`${sim.url}/serviceGroups/No.Such.Group/services`);
    assert.equal(groups.status, 404);
    assert.match(JSON.stringify(await groups.json()), /ServiceGroupNotFound/);
    const maps = await get(`${sim.url}/serviceGroups/Microsoft.Contoso.Orders/services/nope/stageMaps`);
    assert.equal(maps.status, 404);
    assert.match(JSON.stringify(await maps.json()), /ServiceNotFound/);
  });

  it("top must be 1 to 1000", async () => {
    assert.equal((await get(`${sim.url}/serviceGroups?top=0`)).status, 400);
    assert.equal((await get(`${sim.url}/serviceGroups?top=2`)).status, 200);
  });

  it("every pick list of TriggerEv2Rollout is bound to one of these data sources, with the parameters its URL needs", () => {
    const task = read("tasks/TriggerEv2Rollout/task.json");
    for (const binding of task.dataSourceBindings) {
      const ds = dataSources.find((d) => d.name === binding.dataSourceName);
      assert.ok(ds, binding.dataSourceName);
      assert.equal(binding.endpointId, "$(ev2Connection)");
      for (const [, key] of ds.endpointUrl.matchAll(/\{\{(\w+)\}\}/g))
        assert.equal(binding.parameters?.[key], `$(${key})`, `${binding.target} gives ${key}`);
    }
  });
});
