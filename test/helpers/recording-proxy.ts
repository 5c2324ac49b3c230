/**
 * A forward proxy on 127.0.0.1 that records what went through it: http requests in absolute form
 * and https tunnels (CONNECT), optionally behind Basic credentials (407 without them). Host
 * names resolve only here (`hosts`), as a corporate proxy resolves names the agent cannot, so a
 * task that skips the proxy fails with "host not found". Never shipped.
 *
 * `startTlsFront` gives an http test server an https face with a test CA's certificate, so a
 * CONNECT to `ev2.contoso.test:443` can end at the (plain http) EV2 simulator.
 */
import { connect as netConnect, type Socket } from "node:net";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { TestCa } from "./test-ca";

export interface ProxiedRequest {
  kind: "absolute" | "connect";
  /** `host:port` the client asked for. */
  target: string;
  /** The absolute URL (absolute form) or `host:port` (CONNECT). */
  url: string;
  method: string;
  /** Whether the client sent Proxy-Authorization, and whether it was right. */
  proxyAuthorization: "none" | "right" | "wrong";
  /** The answer: 407, 502 (unknown host), or what the target said (200 for a tunnel). */
  status: number;
  /** Request headers (absolute form only: a tunnel is opaque). */
  headers: Record<string, string | string[] | undefined>;
}

export interface RecordingProxyOptions {
  /** `name` or `name:port` → `127.0.0.1:port`. Only these names (and 127.0.0.1) resolve. */
  hosts?: Record<string, string>;
  /** Require these Basic credentials; without them every request gets 407. */
  credentials?: { username: string; password: string };
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  /** Adds or changes a name the proxy resolves. */
  map(name: string, target: string): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(options: RecordingProxyOptions = {}): Promise<RecordingProxy> {
  const hosts = new Map(Object.entries(options.hosts ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials
    ? `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString("base64")}`
    : undefined;

  const authorization = (req: IncomingMessage): ProxiedRequest["proxyAuthorization"] => {
    const given = req.headers["proxy-authorization"];
    if (!given) return "none";
    return given === expected ? "right" : "wrong";
  };
  /** Where `host:port` goes, or undefined when the name does not resolve here. */
  const resolveTarget = (host: string, port: string): { host: string; port: number } | undefined => {
    const name = host.toLowerCase().replace(/^\[|\]$/g, "");
    const mapped = hosts.get(`${name}:${port}`) ?? hosts.get(name);
    if (mapped) {
      const [h, p] = mapped.split(":");
      return { host: h!, port: Number(p ?? port) };
    }
    if (name === "127.0.0.1" || name === "localhost") return { host: "127.0.0.1", port: Number(port) };
    return undefined;
  };

  const server: Server = createServer((req, res) => {
    const entry: ProxiedRequest = {
      kind: "absolute",
      target: "",
      url: req.url ?? "",
      method: req.method ?? "",
      proxyAuthorization: authorization(req),
      status: 0,
      headers: { ...req.headers },
    };
    requests.push(entry);
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      entry.status = 400;
      res.writeHead(400).end("absolute-form request expected");
      return;
    }
    entry.target = url.host;
    if (expected && entry.proxyAuthorization !== "right") {
      entry.status = 407;
      res.writeHead(407, { "proxy-authenticate": 'Basic realm="test proxy"' }).end();
      return;
    }
    const to = resolveTarget(url.hostname, url.port || "80");
    if (!to) {
      entry.status = 502;
      res.writeHead(502).end(`proxy: host not found: ${url.hostname}`);
      return;
    }
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const upstream = httpRequest(
      { host: to.host, port: to.port, method: req.method, path: url.pathname + url.search, headers },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });

  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    const target = req.url ?? "";
    const entry: ProxiedRequest = {
      kind: "connect",
      target,
      url: target,
      method: "CONNECT",
      proxyAuthorization: authorization(req),
      status: 0,
      headers: { ...req.headers },
    };
    requests.push(entry);
    if (expected && entry.proxyAuthorization !== "right") {
      entry.status = 407;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    const to = m ? resolveTarget(m[1]!, m[2]!) : undefined;
    if (!to) {
      entry.status = 502;
      client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const upstream = netConnect(to.port, to.host, () => {
      entry.status = 200;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => {
      if (entry.status === 0) {
        entry.status = 502;
        client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      } else client.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    map: (name, target) => void hosts.set(name.toLowerCase(), target),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TlsFront {
  /** `127.0.0.1:<port>`: what the proxy maps a name to. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Terminates TLS with a certificate `ca` issues for `names` and passes the bytes to `targetPort` on 127.0.0.1. */
export async function startTlsFront(ca: TestCa, names: string[], targetPort: number): Promise<TlsFront> {
  const cert = ca.issueServer([...names, "127.0.0.1"]);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  };
  const server: TlsServer = createTlsServer({ cert: cert.certPem, key: cert.keyPem }, (clear) => {
    track(clear);
    const upstream = netConnect(targetPort, "127.0.0.1");
    track(upstream);
    clear.pipe(upstream);
    upstream.pipe(clear);
    upstream.on("close", () => clear.destroy());
    clear.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
