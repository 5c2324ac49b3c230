/**
 * Which connection each outbound call takes: direct, or through the proxy the agent (or the
 * environment) names, with the agent's certificate settings. Every task configures it once at
 * start (`useNetwork`, from runTask); calls then ask for the dispatcher of their URL.
 *
 * undici's ProxyAgent sends http requests in absolute form and tunnels https ones with CONNECT.
 * It is loaded only when a proxy is configured, so a run without one pays nothing at start-up.
 */
import {
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type SecureContextOptions,
} from "node:tls";
import { readFileSync } from "node:fs";
import Agent from "undici/lib/dispatcher/agent";
import type { Dispatcher, ProxyAgent as UndiciProxyAgent } from "undici";

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
const dispatchers = new Map<string, Dispatcher>();

/** Sets the network every later call uses; connections of the previous one are closed. */
export function useNetwork(next: NetworkSettings): void {
  const previous = [...dispatchers.values()];
  dispatchers.clear();
  for (const d of previous) void d.close().catch(() => undefined);
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
 * The TLS options of a connection, as node:tls (and undici's `connect`) take them. The roots and
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

const agentOptions = { keepAliveTimeout: 10_000, connections: 16 };

/**
 * The dispatcher for a request to `url`. `direct` skips the proxy (the stress load, which would
 * otherwise measure the proxy); certificates apply either way.
 */
export function dispatcherFor(url: URL, options: { direct?: boolean } = {}): Dispatcher {
  const proxy = options.direct ? undefined : proxyFor(url);
  // One dispatcher per route and scheme: plain http never needs the TLS settings, so a run
  // that calls only http servers never builds them.
  const https = url.protocol === "https:";
  const key = `${proxy ? `proxy ${proxy.url}` : "direct"} ${url.protocol}`;
  let dispatcher = dispatchers.get(key);
  if (!dispatcher) {
    if (proxy) {
      const ProxyAgent = loadProxyAgent();
      const token = proxyAuthorization(proxy);
      const proxyIsHttps = proxy.url.startsWith("https:");
      dispatcher = new ProxyAgent({
        ...agentOptions,
        uri: proxy.url,
        ...(token ? { token } : {}),
        // Plain http goes in absolute form (what every proxy takes); https through CONNECT.
        proxyTunnel: false,
        ...(https ? { requestTls: tlsOptions() } : {}),
        ...(proxyIsHttps ? { proxyTls: tlsOptions() } : {}),
      });
    } else {
      dispatcher = new Agent({ ...agentOptions, ...(https ? { connect: tlsOptions() } : {}) });
    }
    dispatchers.set(key, dispatcher);
  }
  return dispatcher;
}

type ProxyAgentConstructor = typeof UndiciProxyAgent;
let proxyAgentConstructor: ProxyAgentConstructor | undefined;
function loadProxyAgent(): ProxyAgentConstructor {
  // A require in place, not an import at the top: esbuild then evaluates the module (and what it
  // pulls in) only on the first proxied call.
  if (!proxyAgentConstructor) {
    // The tunnel is opened with Dispatcher#connect, which undici's index (not loaded, see
    // request.ts) would have put on the prototype.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const dispatcher = require("undici/lib/dispatcher/dispatcher") as { prototype: Record<string, unknown> };
    dispatcher.prototype.connect ??= require("undici/lib/api/api-connect");
    proxyAgentConstructor = require("undici/lib/dispatcher/proxy-agent") as ProxyAgentConstructor;
    /* eslint-enable @typescript-eslint/no-require-imports */
  }
  return proxyAgentConstructor;
}

/** How the stress engine's own sockets reach a URL: through an http proxy or not, with which TLS options. */
export interface SocketRoute {
  proxy?: { host: string; port: number; authorization?: string };
  tls: ConnectionOptions;
}

/**
 * The route of the load generator's raw sockets to `url`: the agent's proxy only when asked
 * (`throughProxy`), the agent's certificates always.
 */
export function socketRouteFor(url: URL, throughProxy: boolean): SocketRoute {
  const tls = tlsOptions();
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

/** Closes the keep-alive sockets so the process can exit promptly. */
export async function closeDispatchers(): Promise<void> {
  const current = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(current.map((d) => d.close().catch(() => undefined)));
}
