/**
 * The proxy and certificates the agent gives tasks, read as azure-pipelines-task-lib reads them
 * (`getHttpProxyConfiguration`, `getHttpCertConfiguration`, `Agent.SkipCertValidation`), so the
 * tasks reach what in-box tasks reach. Without an agent proxy, HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY (lower case first) name one, as for curl and undici.
 */
import { readFileSync } from "node:fs";
import type { NetworkSettings, ProxyConfig, TlsSettings } from "../http/transport";
import type { TaskAgent } from "./agent";
import { InputError } from "./inputs";

type Environment = Readonly<Record<string, string | undefined>>;

/** The agent's network settings; secrets among them (proxy password, key passphrase) are registered. */
export function readAgentNetwork(agent: TaskAgent, env: Environment = process.env): NetworkSettings {
  return { proxies: readProxies(agent, env), tls: readTls(agent) };
}

function readProxies(agent: TaskAgent, env: Environment): NetworkSettings["proxies"] {
  const agentProxy = agent.getVariable("Agent.ProxyUrl");
  if (agentProxy) {
    const username = agent.getVariable("Agent.ProxyUsername");
    const password = agent.getVariable("Agent.ProxyPassword");
    if (password) agent.setSecret(password);
    const proxy: ProxyConfig = {
      ...parseProxyUrl(agentProxy, "Agent.ProxyUrl", agent),
      bypass: bypassList(agent.getVariable("Agent.ProxyBypassList")),
      source: "Agent.ProxyUrl",
    };
    if (username) proxy.username = username;
    if (password) proxy.password = password;
    return { http: proxy, https: proxy };
  }
  const value = (name: string) => env[name.toLowerCase()] || env[name] || undefined;
  const noProxy = noProxyPatterns(value("NO_PROXY") ?? "");
  const fromEnv = (name: string): ProxyConfig | undefined => {
    const url = value(name);
    return url ? { ...parseProxyUrl(url, name, agent), bypass: noProxy, source: name } : undefined;
  };
  const http = fromEnv("HTTP_PROXY");
  // As curl and typed-rest-client: https falls back to HTTP_PROXY.
  const https = fromEnv("HTTPS_PROXY") ?? http;
  return { ...(http ? { http } : {}), ...(https ? { https } : {}) };
}

/** The proxy URL without credentials, and the credentials it carried (user:password@). */
function parseProxyUrl(
  text: string,
  name: string,
  agent: TaskAgent,
): Pick<ProxyConfig, "url" | "username" | "password"> {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InputError(
      `${name} '${text}' is not a proxy URL: expected http://host:port or https://host:port.`,
    );
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname)
    throw new InputError(
      `${name} '${url.protocol}//${url.host}' is not a supported proxy: expected http://host:port or https://host:port (SOCKS and PAC files are not supported).`,
    );
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  if (password) agent.setSecret(password);
  return {
    url: `${url.protocol}//${url.host}`,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/** Agent.ProxyBypassList: a JSON array of regular expressions. */
function bypassList(json: string | undefined): string[] {
  if (!json) return [];
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || !list.every((p) => typeof p === "string"))
    throw new InputError(
      `Agent.ProxyBypassList is not a JSON array of regular expressions (e.g. ["\\\\.contoso\\\\.com"]).`,
    );
  for (const pattern of list) {
    try {
      new RegExp(pattern, "i");
    } catch {
      throw new InputError(`Agent.ProxyBypassList: '${pattern}' is not a regular expression.`);
    }
  }
  return list;
}

/**
 * NO_PROXY entries (`contoso.com`, `.contoso.com`, `*.contoso.com`, `host:8080`, `*`) as the
 * regular expressions the bypass list uses: the host or any subdomain, on any port unless one
 * is given.
 */
export function noProxyPatterns(noProxy: string): string[] {
  return noProxy
    .split(/[,\s]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)
    .map((entry) => {
      if (entry === "*") return ".*";
      const m = /^(?:\*?\.)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
      if (!m) return "(?!)";
      const host = m[1]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const port = m[2] ? `:${m[2]}` : "(?::\\d+)?";
      return `^[a-z][a-z0-9+.-]*://(?:[^/@]*@)?(?:[^/@]*\\.)?${host}${port}(?:[/?#]|$)`;
    });
}

function readTls(agent: TaskAgent): TlsSettings | undefined {
  const caFile = agent.getVariable("Agent.CAInfo");
  const certFile = agent.getVariable("Agent.ClientCert");
  const skip = (agent.getVariable("Agent.SkipCertValidation") ?? "").toLowerCase() === "true";
  if (!caFile && !certFile && !skip) return undefined;
  const tls: TlsSettings = { rejectUnauthorized: !skip };
  if (caFile) {
    const extra = readAgentFile(caFile, "Agent.CAInfo");
    if (!/-----BEGIN CERTIFICATE-----/.test(extra))
      throw new InputError(
        `Agent.CAInfo '${caFile}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).`,
      );
    // Added to Node's roots, not instead of them: public services stay trusted.
    tls.extraCa = extra;
    tls.caFile = caFile;
  }
  if (certFile) {
    const keyFile = agent.getVariable("Agent.ClientCertKey");
    const archive = agent.getVariable("Agent.ClientCertArchive");
    const passphrase = agent.getVariable("Agent.ClientCertPassword");
    if (passphrase) {
      agent.setSecret(passphrase);
      tls.passphrase = passphrase;
    }
    if (keyFile) {
      tls.cert = readAgentFile(certFile, "Agent.ClientCert");
      tls.key = readAgentFile(keyFile, "Agent.ClientCertKey");
      tls.certFile = certFile;
      tls.keyFile = keyFile;
    } else if (archive) {
      tls.pfx = readAgentBytes(archive, "Agent.ClientCertArchive");
    } else {
      throw new InputError(
        "Agent.ClientCert is set but neither Agent.ClientCertKey (its private key) nor Agent.ClientCertArchive (a PKCS#12 archive) is.",
      );
    }
  }
  return tls;
}

function readAgentBytes(path: string, name: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InputError(
      `${name} names '${path}', which cannot be read (${(err as NodeJS.ErrnoException).code}).`,
    );
  }
}

function readAgentFile(path: string, name: string): string {
  return readAgentBytes(path, name).toString("utf8");
}
