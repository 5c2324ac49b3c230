import assert from "node:assert/strict";
import { once } from "node:events";
import * as http from "node:http";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import * as tls from "node:tls";
import fc from "fast-check";
import { StressInputError, classifyRequestError, completeEndpoint } from "../../shared/stress";
import { RequestTimeoutError } from "../../shared/stress/errors";
import { Http1Connection, requestTarget } from "../../shared/stress/http1-connection";

/** What each request heard back, in the order the requests were sent: a status or an error kind. */
function sendAll(connection: Http1Connection, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    const heard: string[] = [];
    let left = count;
    const done = (k: number, outcome: string) => {
      heard[k] = outcome;
      if (--left === 0) resolve(heard);
    };
    for (let k = 0; k < count; k++) {
      connection.send(
        {
          onResponse: (status) => done(k, String(status)),
          onFailure: (err) => done(k, classifyRequestError(err)),
        },
        performance.now(),
      );
    }
  });
}

function connectionTo(url: string, method: "GET" | "HEAD" = "GET"): Http1Connection {
  return new Http1Connection(requestTarget(completeEndpoint({ url, method })));
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A TCP server answering by script: `answer` runs once per request (a head ending in an empty
 * line; the tests send no bodies), with the socket and the request's index on its connection.
 */
class RawServer {
  private readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  connections = 0;
  requests = 0;

  constructor(answer: (socket: net.Socket, index: number, connection: number) => void) {
    this.server = net.createServer((socket) => {
      const connection = this.connections++;
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.setNoDelay(true);
      let received = "";
      let index = 0;
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        let end: number;
        while ((end = received.indexOf("\r\n\r\n")) >= 0) {
          received = received.slice(end + 4);
          this.requests++;
          answer(socket, index++, connection);
        }
      });
    });
  }

  async start(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Writes `bytes` in pieces of the given sizes (cycled), each in its own turn of the event loop. */
async function writeInPieces(socket: net.Socket, bytes: Buffer, sizes: number[]): Promise<void> {
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = sizes.length === 0 ? bytes.length : sizes[k % sizes.length];
    socket.write(bytes.subarray(at, at + size));
    at += size;
    await nextTurn();
  }
}

describe("HTTP/1.1 load connection", function () {
  this.timeout(20_000);
  const servers: { close(): Promise<void> }[] = [];
  const connections: Http1Connection[] = [];
  const raw = async (answer: ConstructorParameters<typeof RawServer>[0]) => {
    const server = new RawServer(answer);
    servers.push(server);
    const url = await server.start();
    const connection = connectionTo(url);
    connections.push(connection);
    return { server, url, connection };
  };

  afterEach(async () => {
    for (const c of connections.splice(0)) c.close(new Error("test over"));
    for (const s of servers.splice(0)) await s.close();
  });

  describe("the request it sends", () => {
    it("is the endpoint's method, path, host, headers and body, with its length", () => {
      const target = requestTarget(
        completeEndpoint({
          url: "http://example.test:8080/api/orders?region=eastus",
          method: "POST",
          headers: { Authorization: "Bearer t", "Content-Length": "999", Connection: "close" },
          body: '{"a":1}',
        }),
      );
      assert.equal(
        target.request.toString("latin1"),
        "POST /api/orders?region=eastus HTTP/1.1\r\nhost: example.test:8080\r\n" +
          "authorization: Bearer t\r\n" +
          'content-length: 7\r\n\r\n{"a":1}',
      );
      assert.deepEqual(
        { host: target.host, port: target.port, tls: target.tls, servername: target.servername },
        { host: "example.test", port: 8080, tls: false, servername: undefined },
      );
    });

    it("keeps an endpoint's own Host, sends no length for a GET and names the server for TLS", () => {
      const target = requestTarget(
        completeEndpoint({ url: "https://contoso.test/health", headers: { host: "other.test" } }),
      );
      assert.equal(target.request.toString("latin1"), "GET /health HTTP/1.1\r\nhost: other.test\r\n\r\n");
      assert.deepEqual([target.port, target.tls, target.servername], [443, true, "contoso.test"]);
      assert.equal(requestTarget(completeEndpoint({ url: "https://127.0.0.1/" })).servername, undefined);
      assert.equal(requestTarget(completeEndpoint({ url: "http://[::1]:81/" })).host, "::1");
    });

    it("refuses a header that would split the request, without showing its value", () => {
      assert.throws(
        () =>
          requestTarget(
            completeEndpoint({ url: "http://a.test/", headers: { "x-token": "secret\r\nx: y" } }),
          ),
        (err: unknown) =>
          err instanceof StressInputError &&
          err.input === "endpoints" &&
          err.message.includes('header "x-token"') &&
          !err.message.includes("secret"),
      );
    });
  });

  describe("against node:http", () => {
    let server: http.Server;
    let url: string;
    const seen: string[] = [];
    let sockets = 0;

    before(async () => {
      server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          seen.push(`${req.method} ${req.url} ${req.headers["content-length"] ?? "-"} ${body}`);
          const status = req.url === "/missing" ? 404 : 200;
          // HEAD gets the same length header as GET, and no body.
          res.writeHead(status, { "content-type": "text/plain", "content-length": 5 });
          res.end(req.method === "HEAD" ? undefined : "hello");
        });
      });
      server.on("connection", () => sockets++);
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    });
    after(() => new Promise((resolve) => server.close(resolve)));
    beforeEach(() => {
      seen.length = 0;
      sockets = 0;
    });

    it("answers one request after another on one kept-alive connection", async () => {
      const connection = connectionTo(`${url}/orders`);
      connections.push(connection);
      for (let k = 0; k < 5; k++) assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.equal(sockets, 1);
      assert.equal(seen.length, 5);
    });

    it("pipelines: answers come back in order to the requests that asked", async () => {
      const connection = connectionTo(`${url}/missing`);
      connections.push(connection);
      assert.deepEqual(await sendAll(connection, 8), Array(8).fill("404"));
      assert.equal(sockets, 1);
    });

    it("sends a body with its length", async () => {
      const connection = new Http1Connection(
        requestTarget(completeEndpoint({ url: `${url}/orders`, method: "POST", body: "payload" })),
      );
      connections.push(connection);
      assert.deepEqual(await sendAll(connection, 2), ["200", "200"]);
      assert.deepEqual(seen, ["POST /orders 7 payload", "POST /orders 7 payload"]);
    });

    it("reads no body after an answer to HEAD, whatever its content-length says", async () => {
      const connection = connectionTo(`${url}/orders`, "HEAD");
      connections.push(connection);
      assert.deepEqual(await sendAll(connection, 3), ["200", "200", "200"]);
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
    });
  });

  describe("answers framed every way, in any pieces", () => {
    const cases: [string, string, string[]][] = [
      ["content-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", ["200"]],
      [
        "chunked, with an extension and trailers",
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n" +
          "3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nx-trailer: 1\r\n\r\n",
        ["201"],
      ],
      [
        "interim 100 and 103 before the answer",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
          "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok",
        ["202"],
      ],
      [
        "204 and 304 without a body, a 304 even with a length",
        "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" +
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ["204", "304", "200"],
      ],
      [
        "bare LF line ends and a status line without a reason",
        "HTTP/1.1 503\nContent-Length: 1\n\nx",
        ["503"],
      ],
    ];
    for (const [what, stream, statuses] of cases) {
      it(`${what}: whole, then a byte at a time`, async () => {
        for (const sizes of [[], [1]]) {
          const { connection } = await raw((socket, index) => {
            if (index === statuses.length - 1) void writeInPieces(socket, Buffer.from(stream), sizes);
          });
          assert.deepEqual(await sendAll(connection, statuses.length), statuses);
        }
      });
    }

    it("reads an answer without length or chunking until the close, then connects again", async () => {
      const { server, connection } = await raw((socket) => socket.end("HTTP/1.1 200 OK\r\n\r\nall of it"));
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.equal(server.connections, 2);
    });

    it("sends the requests behind an answer saying connection: close again on a new connection", async () => {
      const { server, connection } = await raw((socket, index, conn) => {
        if (conn === 0 && index === 0)
          socket.end("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        else if (conn > 0) socket.write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
      });
      assert.deepEqual(await sendAll(connection, 3), ["200", "201", "201"]);
      assert.equal(server.connections, 2);
    });

    it("treats an HTTP/1.0 answer without keep-alive as the last on its connection", async () => {
      const { server, connection } = await raw((socket) =>
        socket.write("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
      );
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.equal(server.connections, 2);
    });

    it("replaces a connection idle longer than the server's keep-alive hint allows", async () => {
      const { server, connection } = await raw((socket) =>
        socket.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 0\r\n\r\n"),
      );
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      // A 2 s hint less the 2 s margin: any idle time is too long.
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.equal(server.connections, 2);
    });

    it("takes a head repeated byte for byte as it was read, and reads a changed one afresh", async () => {
      // Heads of one length: the status or the body's length changes in a single byte.
      const heads = [
        "200 OK\r\nContent-Length: 3",
        "200 OK\r\nContent-Length: 3",
        "200 OK\r\nContent-Length: 5",
      ];
      heads.push("500 OK\r\nContent-Length: 5", "500 OK\r\nContent-Length: 5", "200 OK\r\nContent-Length: 3");
      const { server, connection } = await raw((socket, index) => {
        const head = heads[index % heads.length];
        socket.write(`HTTP/1.1 ${head}\r\n\r\n${head.endsWith("3") ? "abc" : "abcde"}`);
      });
      for (let round = 0; round < 3; round++) {
        const heard: string[] = [];
        for (let k = 0; k < heads.length; k++) heard.push(...(await sendAll(connection, 1)));
        assert.deepEqual(heard, ["200", "200", "200", "500", "500", "200"]);
      }
      assert.equal(server.connections, 1);
    });

    it("keeps a repeated head's keep-alive hint, also on a new connection", async () => {
      const { server, connection } = await raw((socket) =>
        socket.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 0\r\n\r\n"),
      );
      // A 2 s hint less the 2 s margin: any idle time is too long, each send needs a new connection.
      for (let k = 0; k < 4; k++) assert.deepEqual(await sendAll(connection, 1), ["200"]);
      assert.equal(server.connections, 4);
    });

    it("any valid stream of pipelined answers, cut anywhere, completes each request with its status", async () => {
      const answer = fc.record({
        status: fc.constantFrom(200, 201, 204, 304, 404, 500),
        interim: fc.boolean(),
        chunked: fc.boolean(),
        lengthName: fc.constantFrom("Content-Length", "content-length", "CONTENT-LENGTH"),
        body: fc.string({ maxLength: 120 }),
        chunkSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
      });
      type Answer = typeof answer extends fc.Arbitrary<infer A> ? A : never;
      const render = (a: Answer): string => {
        let text = a.interim ? "HTTP/1.1 100 Continue\r\n\r\n" : "";
        text += `HTTP/1.1 ${a.status} Whatever\r\nX-Filler: ${"f".repeat(a.body.length % 17)}\r\n`;
        if (a.status === 204) return `${text}\r\n`;
        if (a.status === 304) return `${text}${a.lengthName}: ${a.body.length}\r\n\r\n`;
        if (!a.chunked) return `${text}${a.lengthName}: ${a.body.length}\r\n\r\n${a.body}`;
        text += "Transfer-Encoding: chunked\r\n\r\n";
        for (let at = 0, k = 0; at < a.body.length; k++) {
          const piece = a.body.slice(at, at + a.chunkSizes[k % a.chunkSizes.length]);
          text += `${piece.length.toString(16)}\r\n${piece}\r\n`;
          at += piece.length;
        }
        return `${text}0\r\n\r\n`;
      };
      let stream = Buffer.alloc(0);
      let pieces: number[] = [];
      let expected = 0;
      const { url } = await raw((socket, index) => {
        if (index === expected - 1) void writeInPieces(socket, stream, pieces);
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(answer, { minLength: 1, maxLength: 6 }),
          fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
          async (answers, sizes) => {
            stream = Buffer.from(answers.map(render).join(""), "latin1");
            pieces = sizes;
            expected = answers.length;
            const connection = connectionTo(url);
            try {
              assert.deepEqual(
                await sendAll(connection, answers.length),
                answers.map((a) => String(a.status)),
              );
            } finally {
              connection.close(new Error("run over"));
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe("failures", () => {
    const malformed: [string, string][] = [
      ["no HTTP at all", "SSH-2.0-OpenSSH\r\n\r\n"],
      ["a bad status code", "HTTP/1.1 2x0 OK\r\n\r\n"],
      ["a bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n"],
      ["two different content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"],
      ["a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"],
      [
        "chunk data longer than its size",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n",
      ],
      ["a header line without a colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n"],
      ["an upgrade nobody asked for", "HTTP/1.1 101 Switching Protocols\r\n\r\n"],
      ["an endless head", `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70_000)}`],
    ];
    for (const [what, answer] of malformed) {
      it(`fails on ${what} as "other", then works on a new connection`, async () => {
        const { server, connection } = await raw((socket, index, conn) =>
          socket.write(conn === 0 ? answer : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        );
        assert.deepEqual(await sendAll(connection, 1), ["other"]);
        assert.deepEqual(await sendAll(connection, 1), ["200"]);
        assert.equal(server.connections, 2);
      });
    }

    it("fails on an answer to no request", async () => {
      const { connection } = await raw((socket) =>
        socket.write(
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ),
      );
      const outcomes: string[] = [];
      connection.send(
        {
          onResponse: (s) => outcomes.push(String(s)),
          onFailure: (e) => outcomes.push(classifyRequestError(e)),
        },
        performance.now(),
      );
      while (outcomes.length === 0) await nextTurn();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The extra answer ends the connection; the next request goes out on a new one.
      assert.deepEqual(outcomes, ["200"]);
      assert.deepEqual(await sendAll(connection, 1), ["200"]);
    });

    it("counts a connection reset as reset; the requests behind it go out again", async () => {
      const { connection } = await raw((socket, index, conn) => {
        if (conn === 0) {
          if (index === 0) socket.resetAndDestroy();
        } else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      });
      assert.deepEqual(await sendAll(connection, 3), ["reset", "200", "200"]);
    });

    it("counts a close before the answer (or in the middle of it) as reset", async () => {
      const { connection } = await raw((socket, index, conn) =>
        socket.end(conn === 0 ? "" : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
      );
      assert.deepEqual(await sendAll(connection, 1), ["reset"]);
      assert.deepEqual(await sendAll(connection, 1), ["reset"]);
    });

    it("counts a refused connection as refused", async () => {
      const probe = net.createServer().listen(0, "127.0.0.1");
      await once(probe, "listening");
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      const connection = connectionTo(`http://127.0.0.1:${port}/`);
      connections.push(connection);
      assert.deepEqual(await sendAll(connection, 2), ["refused", "refused"]);
    });

    it("a timeout fails the oldest request on a stalled connection; the one behind it goes out again", async () => {
      const { server, connection } = await raw((socket, index, conn) => {
        if (conn > 0) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      });
      const heard = sendAll(connection, 2);
      while (server.requests < 2) await nextTurn();
      connection.failOldest(new RequestTimeoutError(100));
      assert.deepEqual(await heard, ["timeout", "200"]);
      assert.equal(server.connections, 2);
    });

    it("checks the service's certificate against the default CAs, naming the host (SNI)", async function () {
      const dir = mkdtempSync(join(tmpdir(), "stress-tls-"));
      let key: Buffer;
      let cert: Buffer;
      try {
        execFileSync(
          "openssl",
          [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            join(dir, "key.pem"),
            "-out",
            join(dir, "cert.pem"),
          ],
          { stdio: "ignore" },
        );
        key = readFileSync(join(dir, "key.pem"));
        cert = readFileSync(join(dir, "cert.pem"));
      } catch {
        this.skip();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const names: string[] = [];
      const server = tls.createServer({
        key,
        cert,
        SNICallback: (name, done) => {
          names.push(name);
          done(null, tls.createSecureContext({ key, cert }));
        },
      });
      server.on("tlsClientError", () => undefined);
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      servers.push({ close: () => new Promise((resolve) => server.close(() => resolve())) });
      const port = (server.address() as net.AddressInfo).port;
      const connection = new Http1Connection({
        ...requestTarget(completeEndpoint({ url: `https://localhost:${port}/` })),
        host: "127.0.0.1",
      });
      connections.push(connection);
      assert.deepEqual(await sendAll(connection, 1), ["tls"]);
      assert.deepEqual(names, ["localhost"]);
    });

    it("a close fails every request in flight with its error, and any later send", async () => {
      const { server, connection } = await raw(() => undefined);
      const heard = sendAll(connection, 3);
      while (server.requests < 3) await nextTurn();
      connection.close(new RequestTimeoutError(1));
      assert.deepEqual(await heard, ["timeout", "timeout", "timeout"]);
      assert.deepEqual(await sendAll(connection, 1), ["reset"]);
    });
  });
});
