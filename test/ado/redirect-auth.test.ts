import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connectToAdo } from "../../shared/ado/connection";

async function listen(handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("Azure DevOps client: the job's token never follows a redirect to another origin", () => {
  const token = "eyJ0eXAiOiJKV1QifQ.redirect-test-token.signature";
  let collection: { server: Server; url: string };
  let elsewhere: { server: Server; url: string };
  const elsewhereSaw: Array<string | undefined> = [];
  const collectionSaw: Array<[string, string | undefined]> = [];

  before(async () => {
    elsewhere = await listen((req, res) => {
      elsewhereSaw.push(req.headers.authorization);
      res.writeHead(200, { "content-type": "application/json" }).end('{"where":"elsewhere"}');
    });
    collection = await listen((req, res) => {
      collectionSaw.push([req.url ?? "", req.headers.authorization]);
      if (req.url === "/fabrikam/_apis/moved") res.writeHead(302, { location: "/fabrikam/_apis/here" }).end();
      else if (req.url === "/fabrikam/_apis/away")
        res.writeHead(302, { location: `${elsewhere.url}/steal` }).end();
      else res.writeHead(200, { "content-type": "application/json" }).end('{"where":"collection"}');
    });
  });
  after(async () => {
    await new Promise((r) => collection.server.close(r));
    await new Promise((r) => elsewhere.server.close(r));
  });
  beforeEach(() => {
    elsewhereSaw.length = 0;
    collectionSaw.length = 0;
  });

  it("follows a same-origin redirect with the token", async () => {
    const api = await connectToAdo({ collectionUrl: `${collection.url}/fabrikam/`, token });
    const res = await api.rest.get<{ where: string }>(`${collection.url}/fabrikam/_apis/moved`);
    assert.deepEqual(res.result, { where: "collection" });
    assert.deepEqual(collectionSaw, [
      ["/fabrikam/_apis/moved", `Bearer ${token}`],
      ["/fabrikam/_apis/here", `Bearer ${token}`],
    ]);
  });

  it("sends no Authorization to another origin (another port of the same host too)", async () => {
    const api = await connectToAdo({ collectionUrl: `${collection.url}/fabrikam/`, token });
    const res = await api.rest.get<{ where: string }>(`${collection.url}/fabrikam/_apis/away`);
    assert.deepEqual(res.result, { where: "elsewhere" });
    assert.deepEqual(elsewhereSaw, [undefined]);
  });

  it("(control) the library's own handler would have sent it", async () => {
    const { WebApi, getHandlerFromToken } = await import("azure-devops-node-api");
    const api = new WebApi(`${collection.url}/fabrikam/`, getHandlerFromToken(token));
    await api.rest.get(`${collection.url}/fabrikam/_apis/away`);
    assert.deepEqual(elsewhereSaw, [`Bearer ${token}`]);
  });
});
