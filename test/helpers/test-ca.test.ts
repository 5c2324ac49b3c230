import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { createTestCa, startTestHttpsServer, type TestCa } from "./test-ca";

function get(url: string, options: Parameters<typeof request>[1]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("test CA helper", function () {
  this.timeout(30_000);
  let ca: TestCa;
  before(() => (ca = createTestCa()));
  after(() => ca.dispose());

  it("issues a server certificate that Node trusts only with the CA", async () => {
    const server = await startTestHttpsServer(ca, (_req, res) => res.end("hello"), ["ev2.contoso.test"]);
    try {
      assert.deepEqual(await get(server.url, { ca: ca.caPem, agent: false }), { status: 200, body: "hello" });
      await assert.rejects(get(server.url, { agent: false }), (err: NodeJS.ErrnoException) =>
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify/i.test(`${err.code} ${err.message}`),
      );
      // The name the proxy resolves is on the certificate too.
      const named = await get(server.url, { ca: ca.caPem, servername: "ev2.contoso.test", agent: false });
      assert.equal(named.status, 200);
      assert.match(readFileSync(ca.caFile, "utf8"), /BEGIN CERTIFICATE/);
    } finally {
      await server.close();
    }
  });

  it("issues client certificates (PEM and PKCS#12) the server can require", async () => {
    const server = await startTestHttpsServer(
      ca,
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(peer?.subject?.CN ?? "none");
      },
      [],
      { requestCert: true, rejectUnauthorized: true, ca: ca.caPem },
    );
    try {
      const client = ca.issueClient("build-agent-01");
      const pem = await get(server.url, {
        ca: ca.caPem,
        cert: client.certPem,
        key: client.keyPem,
        agent: false,
      });
      assert.deepEqual(pem, { status: 200, body: "build-agent-01" });
      const pfx = await get(server.url, {
        ca: ca.caPem,
        pfx: readFileSync(client.pfxFile),
        passphrase: client.pfxPassword,
        agent: false,
      });
      assert.deepEqual(pfx, { status: 200, body: "build-agent-01" });
      await assert.rejects(get(server.url, { ca: ca.caPem, agent: false }));
    } finally {
      await server.close();
    }
  });
});
