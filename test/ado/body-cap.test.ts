import assert from "node:assert/strict";
import { connectToAdo } from "../../shared/ado/connection";
import { flood, startRawEv2, type RawEv2 } from "../support/raw-ev2";

describe("Azure DevOps client: answers are capped at 16 MiB like every other call", function () {
  this.timeout(60_000);
  let server: RawEv2 | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("an answer that never ends is stopped at the cap, once", async () => {
    server = await startRawEv2((_n, _req, res) => flood(res));
    const api = await connectToAdo({ collectionUrl: `${server.url}/fabrikam/`, token: "t" });
    await assert.rejects(api.rest.get(`${server.url}/fabrikam/_apis/flood`), (err: Error) => {
      assert.match(err.message, /the Azure DevOps answer is over the 16 MiB limit, so it was not read/);
      return true;
    });
    assert.equal(server.requests(), 1);
  });

  it("a Content-Length over the cap is refused before reading; a normal answer still reads", async () => {
    server = await startRawEv2((_n, req, res) => {
      if (req.url?.endsWith("/huge")) {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(2 ** 32) });
        res.write("{");
      } else res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    const api = await connectToAdo({ collectionUrl: `${server.url}/fabrikam/`, token: "t" });
    await assert.rejects(
      api.rest.get(`${server.url}/fabrikam/_apis/huge`),
      /Content-Length 4294967296 bytes/,
    );
    assert.deepEqual((await api.rest.get(`${server.url}/fabrikam/_apis/small`)).result, { ok: true });
  });
});
