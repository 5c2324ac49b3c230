/**
 * Which connection each outbound call takes: direct, or through the proxy the agent (or the
 * environment) names, with the agent's certificate settings. Every task configures it once at
 * start (`useNetwork`, from runTask); calls then ask for the route of their URL.
 *
 * Built on Node's own http and https modules (no HTTP library to load: a task's start-up is
 * mostly the code it loads). Through a proxy, http requests go in absolute form and https ones
 * through a CONNECT tunnel, as curl, task-lib and typed-rest-client do.
 */
import { readFileSync } from "node:fs";
import {
  Agent as HttpAgent,
  request as httpRequest,
  type ClientRequest,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  connect as tlsConnect,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type SecureContextOptions,
} from "node:tls";

/** A proxy server and the URLs it must not be used for. */
export interface ProxyConfig {
  /** `http://proxy.contoso.com:8080`, without credentials. */
  url: string;
  username?: string;
  password?: string;
  /** Regular expressions (case-insensitive) tested against the whole request URL, as task-lib does. */
  bypass: string[];
  /** Where it came from, for messages: "Agent.ProxyUrl", "HTTPS_PROXY". */
  source: string;
}

export interface TlsSettings {
  /** The agent's extra CA bundle (PEM), added to Node's own roots, not replacing them. */
  extraCa?: string;
  /** The extra bundle's file (Agent.CAInfo), for clients that take a file. */
  caFile?: string;
  cert?: string;
  key?: string;
  certFile?: string;
  keyFile?: string;
  pfx?: Buffer;
  passphrase?: string;
  /** False only with Agent.SkipCertValidation=true. */
  rejectUnauthorized: boolean;
}

export interface NetworkSettings {
  proxies: { http?: ProxyConfig; https?: ProxyConfig };
  tls?: TlsSettings;
}

export const directNetwork: NetworkSettings = { proxies: {} };

let settings: NetworkSettings = directNetwork;
const bypassCache = new WeakMap<ProxyConfig, RegExp[]>();
const pools = new Map<string, Pooled>();

/** Sets the network every later call uses; connections of the previous one are closed. */
export function useNetwork(next: NetworkSettings): void {
  closeConnections();
  settings = next;
}

export function currentNetwork(): NetworkSettings {
  return settings;
}

/** The proxy a request to `url` goes through, or undefined for a direct connection. */
export function proxyFor(url: URL, network: NetworkSettings = settings): ProxyConfig | undefined {
  // The managed identity endpoint (169.254.169.254) is on the machine's own link: no proxy reaches it.
  if (url.hostname.startsWith("169.254.")) return undefined;
  const proxy = url.protocol === "https:" ? network.proxies.https : network.proxies.http;
  if (!proxy) return undefined;
  let patterns = bypassCache.get(proxy);
  if (!patterns) {
    patterns = proxy.bypass.map((p) => new RegExp(p, "i"));
    bypassCache.set(proxy, patterns);
  }
  return patterns.some((re) => re.test(url.href)) ? undefined : proxy;
}

const secureContexts = new WeakMap<TlsSettings, SecureContext>();

/**
 * The TLS options of a connection, as node:tls takes them. The roots and
 * client certificate go in one secure context made once, on the first https connection: Node's
 * own root store is used as it is and the agent's extra bundle added to it, since passing every
 * root again as `ca` would parse the whole store in JavaScript (tens of milliseconds).
 */
export function tlsOptions(network: NetworkSettings = settings): ConnectionOptions {
  const tls = network.tls;
  if (!tls) return {};
  let context = secureContexts.get(tls);
  if (!context) {
    const options: SecureContextOptions = {};
    if (tls.cert && tls.key) {
      options.cert = tls.cert;
      options.key = tls.key;
    } else if (tls.pfx) options.pfx = tls.pfx;
    if (tls.passphrase !== undefined) options.passphrase = tls.passphrase;
    context = createSecureContext(options);
    if (tls.extraCa !== undefined) {
      // The copy of Node's store that addCACert makes holds the built-in roots only: the
      // NODE_EXTRA_CA_CERTS bundle Node had added is given again.
      for (const pem of [...nodeExtraCertificates(), tls.extraCa]) nativeContext(context).addCACert(pem);
    }
    secureContexts.set(tls, context);
  }
  return { secureContext: context, rejectUnauthorized: tls.rejectUnauthorized };
}

/** The bundle NODE_EXTRA_CA_CERTS names, which Node adds to its roots at start. */
export function nodeExtraCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  try {
    return file ? [readFileSync(file, "utf8")] : [];
  } catch {
    return []; // Node warned about it already.
  }
}

/** The native context behind a SecureContext; `addCACert` adds to its roots (Node copies its shared store first). */
function nativeContext(context: SecureContext): { addCACert(pem: string): void } {
  return (context as unknown as { context: { addCACert(pem: string): void } }).context;
}

/** The value of Proxy-Authorization for a proxy with credentials. */
export function proxyAuthorization(proxy: ProxyConfig): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  return `Basic ${Buffer.from(`${proxy.username ?? ""}:${proxy.password ?? ""}`).toString("base64")}`;
}

/** Idle keep-alive sockets close after this (sooner when the server's Keep-Alive hint says so). */
const agentOptions = { keepAlive: true, maxSockets: 16, timeout: 10_000 };

/** A proxy answered something else than 200 to CONNECT, or 407 to a request in absolute form. */
export class ProxyRefusedError extends Error {
  override name = "ProxyRefusedError";
  constructor(
    readonly status: number,
    readonly form: "connect" | "absolute",
  ) {
    super(`the proxy answered HTTP ${status} to ${form === "connect" ? "CONNECT" : "the request"}`);
  }
}

export interface RequestInit {
  method: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** How a request to one URL goes out: `send` starts it; the caller writes the body and ends it. */
export interface Route {
  send(init: RequestInit): ClientRequest;
  /** The proxy it goes through, if any (its own 407 in absolute form is the proxy's, not the server's). */
  proxy?: ProxyConfig;
}

interface Pooled {
  agent: HttpAgent;
  send(url: URL, init: RequestInit): ClientRequest;
}

/**
 * The route for a request to `url`. `direct` skips the proxy (the stress load, which would
 * otherwise measure the proxy); certificates apply either way. Connections are pooled and kept
 * alive per route and scheme: plain http never builds the TLS settings.
 */
export function routeFor(url: URL, options: { direct?: boolean } = {}): Route {
  const proxy = options.direct ? undefined : proxyFor(url);
  const key = `${proxy ? `proxy ${proxy.url}` : "direct"} ${url.protocol}`;
  let pooled = pools.get(key);
  if (!pooled) {
    pooled = proxy ? proxiedPool(proxy, url.protocol === "https:") : directPool(url.protocol === "https:");
    pools.set(key, pooled);
  }
  const chosen = pooled;
  return { send: (init) => chosen.send(url, init), ...(proxy ? { proxy } : {}) };
}

function directPool(https: boolean): Pooled {
  if (!https) {
    const agent = new HttpAgent(agentOptions);
    return { agent, send: (url, init) => httpRequest(url, { ...init, agent }) };
  }
  const agent = new HttpsAgent({ ...agentOptions, ...tlsOptions() } as AgentOptions);
  return { agent, send: (url, init) => httpsRequest(url, { ...init, agent }) };
}

function proxiedPool(proxy: ProxyConfig, https: boolean): Pooled {
  const proxyUrl = new URL(proxy.url);
  const proxyIsHttps = proxyUrl.protocol === "https:";
  const authorization = proxyAuthorization(proxy);
  const proxyAddress: RequestOptions = {
    host: proxyUrl.hostname.replace(/^\[|\]$/g, ""),
    port: Number(proxyUrl.port) || (proxyIsHttps ? 443 : 80),
  };
  if (!https) {
    // Absolute form: the whole URL as the request target, sent to the proxy.
    const agent = proxyIsHttps
      ? new HttpsAgent({ ...agentOptions, ...tlsOptions() } as AgentOptions)
      : new HttpAgent(agentOptions);
    const send = proxyIsHttps ? httpsRequest : httpRequest;
    return {
      agent,
      send: (url, init) =>
        send({
          ...proxyAddress,
          path: url.href,
          method: init.method,
          signal: init.signal,
          agent,
          headers: {
            host: url.host,
            ...init.headers,
            ...(authorization ? { "proxy-authorization": authorization } : {}),
          },
        }),
    };
  }
  const agent = newTunnelAgent(proxyAddress, proxyIsHttps, authorization);
  return { agent, send: (url, init) => httpsRequest(url, { ...init, agent }) };
}

/**
 * An https agent whose connections are TLS inside a CONNECT tunnel through the proxy. The class is
 * made on first use: extending https.Agent loads node:tls (and most of node:crypto), which only
 * https calls need, and the build defers node:https and node:tls to their first use.
 */
let tunnelAgentClass: ReturnType<typeof defineTunnelAgent> | undefined;
function newTunnelAgent(
  proxyAddress: RequestOptions,
  proxyIsHttps: boolean,
  authorization: string | undefined,
): HttpsAgent {
  tunnelAgentClass ??= defineTunnelAgent();
  return new tunnelAgentClass(proxyAddress, proxyIsHttps, authorization);
}

function defineTunnelAgent() {
  return class TunnelAgent extends HttpsAgent {
    constructor(
      private readonly proxyAddress: RequestOptions,
      private readonly proxyIsHttps: boolean,
      private readonly authorization: string | undefined,
    ) {
      super({ ...agentOptions, ...tlsOptions() } as AgentOptions);
    }

    override createConnection(
      requested: RequestOptions,
      callback?: (err: Error | null, stream: Duplex) => void,
    ): undefined {
      // Node's agent passes the TLS options (servername, secureContext...) with the request's.
      const options = requested as RequestOptions & ConnectionOptions;
      const done = callback!;
      const target = `${options.host?.includes(":") ? `[${options.host}]` : options.host}:${options.port ?? 443}`;
      const open = this.proxyIsHttps ? httpsRequest : httpRequest;
      const tunnel = open({
        ...this.proxyAddress,
        ...(this.proxyIsHttps ? tlsOptions() : {}),
        method: "CONNECT",
        path: target,
        agent: false,
        headers: {
          host: target,
          ...(this.authorization ? { "proxy-authorization": this.authorization } : {}),
        },
      });
      pendingTunnels.add(tunnel);
      let settled = false;
      const finish = (err: Error | null, socket?: Duplex) => {
        pendingTunnels.delete(tunnel);
        if (settled) return;
        settled = true;
        done(err, socket!);
      };
      tunnel.once("connect", (res, socket: Socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          finish(new ProxyRefusedError(res.statusCode ?? 0, "connect"));
          return;
        }
        finish(null, tlsConnect({ ...options, host: options.host ?? undefined, socket }));
      });
      // A proxy that answers CONNECT with a body and closes (no 'connect' event).
      tunnel.once("response", (res) => {
        res.resume();
        finish(new ProxyRefusedError(res.statusCode ?? 0, "connect"));
      });
      tunnel.once("error", (err) => finish(err));
      tunnel.end();
      return undefined;
    }
  };
}

/** CONNECT requests not answered yet, ended with the pools. */
const pendingTunnels = new Set<ClientRequest>();

/** How the stress engine's own sockets reach a URL: through an http proxy or not, with which TLS options. */
export interface SocketRoute {
  proxy?: { host: string; port: number; authorization?: string };
  tls: ConnectionOptions;
}

/**
 * The route of the load generator's raw sockets to `url`: the agent's proxy only when asked
 * (`throughProxy`), the agent's certificates for an https URL (an http one never builds them:
 * that would load node:tls for nothing).
 */
export function socketRouteFor(url: URL, throughProxy: boolean): SocketRoute {
  const tls = url.protocol === "https:" ? tlsOptions() : {};
  const proxy = throughProxy ? proxyFor(url) : undefined;
  if (!proxy) return { tls };
  const proxyUrl = new URL(proxy.url);
  if (proxyUrl.protocol !== "http:")
    throw new Error(
      `${proxy.source} ${proxy.url}: the load generator reaches endpoints through http:// proxies only`,
    );
  const authorization = proxyAuthorization(proxy);
  return {
    proxy: {
      host: proxyUrl.hostname,
      port: Number(proxyUrl.port) || 80,
      ...(authorization ? { authorization } : {}),
    },
    tls,
  };
}

/** Closes the keep-alive sockets (and tunnels being opened) so the process can exit promptly. */
export function closeConnections(): void {
  const current = [...pools.values()];
  pools.clear();
  for (const pool of current) pool.agent.destroy();
  for (const tunnel of pendingTunnels) tunnel.destroy();
  pendingTunnels.clear();
}
