import { mkdtempSync, writeFileSync } from "node:fs";
import type { RequestOptions } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import type { WebApi } from "azure-devops-node-api";
import type {
  ICertConfiguration,
  IHttpClientResponse,
  IRequestHandler,
  IRequestOptions,
} from "azure-devops-node-api/interfaces/common/VsoBaseInterfaces";
import { maxResponseBytes } from "../http/request";
import { currentNetwork, nodeExtraCertificates } from "../http/transport";
import {
  AbortedError,
  Transient,
  isAbortError,
  parseRetryAfterMs,
  retryableStatuses,
  withRetries,
  type AttemptRetry,
  type RetryPolicy,
} from "../http/retry";

/** Where and as whom to call Azure DevOps; the task layer fills it from the job's variables. */
export interface AdoConnectionOptions {
  /** `System.CollectionUri`, e.g. `https://dev.azure.com/fabrikam/`. */
  collectionUrl: string;
  /** The job's token (SystemVssConnection's, sent as Bearer), or a personal access token (sent as Basic). */
  token: string;
  /** Per-request socket timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * Retries of a call answered 408, 429 or 5xx, dropped or timed out, through the retry loop of
   * every other call (shared/http/retry.ts), `Retry-After` first. Default 2.
   */
  maxRetries?: number;
}

export const defaultAdoRequestTimeoutMs = 30_000;
export const defaultAdoMaxRetries = 2;

/** A call to Azure DevOps failed; the message says what was being done and what to check. */
export class AdoRequestError extends Error {
  override name = "AdoRequestError";
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A `WebApi` for the collection, over the agent's proxy and certificates, whose token goes only
 * to Azure DevOps. The client is loaded on first use: requiring it costs over 100 ms of
 * start-up, which only the runs that talk to Azure DevOps should pay.
 */
export async function connectToAdo(opts: AdoConnectionOptions): Promise<WebApi> {
  const url = new URL(opts.collectionUrl);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new AdoRequestError(`The collection URL '${opts.collectionUrl}' is not an http(s) URL.`, undefined);
  if (!opts.token)
    throw new AdoRequestError(
      "No Azure DevOps access token was given (the job's SystemVssConnection token or System.AccessToken).",
      undefined,
    );
  const { WebApi, getHandlerFromToken } = await import("azure-devops-node-api");
  await capResponseBodies();
  const auth = new AzureDevOpsOnly(getHandlerFromToken(opts.token, true), opts.collectionUrl);
  const webApi = new WebApi(opts.collectionUrl, auth, {
    socketTimeout: opts.requestTimeoutMs ?? defaultAdoRequestTimeoutMs,
    // Retries are withAdoRetries': the client's own retry only GETs and only on 502-504.
    allowRetries: false,
    ...adoNetworkOptions(url),
  });
  // An area's API may live on another host (releases on vsrm.dev.azure.com): the location
  // service names it, and the token may go there too.
  for (const name of ["getBuildApi", "getGitApi", "getReleaseApi"] as const) {
    const original = webApi[name].bind(webApi) as (...args: unknown[]) => Promise<{ baseUrl?: string }>;
    Object.assign(webApi, {
      [name]: async (...args: unknown[]) => {
        const api = await original(...args);
        if (api.baseUrl) auth.allow(api.baseUrl);
        return api;
      },
    });
  }
  return webApi;
}

let bodiesCapped = false;
/**
 * Azure DevOps answers are capped like every other (shared/http's `maxResponseBytes`): the
 * client reads a body whole, so its reader is wrapped to count the bytes and stop at the cap, and
 * its response processing (which would swallow the reader's error and return no result) rethrows.
 * Counted as they arrive (compressed, when the server compresses).
 */
async function capResponseBodies(): Promise<void> {
  if (bodiesCapped) return;
  bodiesCapped = true;
  const { HttpClientResponse } = await import("typed-rest-client/HttpClient");
  const { RestClient } = await import("typed-rest-client/RestClient");
  const cut = new WeakMap<object, Error>();
  const tooLarge = (declared?: number) =>
    new Error(
      `the Azure DevOps answer is over the ${maxResponseBytes / 1048576} MiB limit${declared === undefined ? "" : ` (Content-Length ${declared} bytes)`}, so it was not read`,
    );
  const readBody = HttpClientResponse.prototype.readBody;
  HttpClientResponse.prototype.readBody = function (this: InstanceType<typeof HttpClientResponse>) {
    const message = this.message;
    const declared = Number(message.headers["content-length"]);
    if (declared > maxResponseBytes) {
      cut.set(this, tooLarge(declared));
      message.destroy();
      return Promise.reject(cut.get(this));
    }
    const reading = readBody.call(this);
    let size = 0;
    message.on("data", (chunk: Buffer | string) => {
      size += chunk.length;
      if (size > maxResponseBytes && !cut.has(this)) {
        cut.set(this, tooLarge());
        message.destroy(cut.get(this));
      }
    });
    return reading;
  };
  type Processor = { processResponse(res: object, options: unknown): Promise<unknown> };
  const restClient = RestClient.prototype as unknown as Processor;
  const processResponse = restClient.processResponse;
  restClient.processResponse = async function (this: Processor, res: object, options: unknown) {
    const result = await processResponse.call(this, res, options).catch((err: unknown) => {
      throw cut.get(res) ?? err;
    });
    const error = cut.get(res);
    if (error) throw error;
    return result;
  };
}

/**
 * The job's token, sent only to Azure DevOps: the collection's origin and the origins the
 * location service gives its areas. typed-rest-client follows redirects and asks the handler
 * again for each hop; its own cross-origin check compares host names only, once, against the
 * first host the handler ever saw, which the release area's host already fails. A redirect to
 * any other origin (scheme, host and port) goes without Authorization, so it gets nothing.
 */
class AzureDevOpsOnly implements IRequestHandler {
  private readonly origins = new Set<string>();
  constructor(
    private readonly inner: IRequestHandler,
    collectionUrl: string,
  ) {
    this.allow(collectionUrl);
  }
  allow(url: string): void {
    const u = new URL(url);
    this.origins.add(`${u.hostname.toLowerCase()}:${u.port || (u.protocol === "https:" ? "443" : "80")}`);
  }
  prepareRequest(options: RequestOptions): void {
    this.inner.prepareRequest(options);
    const origin = `${String(options.host ?? options.hostname).toLowerCase()}:${options.port}`;
    if (!this.origins.has(origin) && options.headers) {
      const headers = options.headers as Record<string, unknown>;
      for (const name of Object.keys(headers))
        if (name.toLowerCase() === "authorization") delete headers[name];
    }
  }
  canHandleAuthentication(): boolean {
    return false;
  }
  handleAuthentication(): Promise<IHttpClientResponse> {
    return Promise.reject(new Error("not supported"));
  }
}

/**
 * The agent's proxy and certificates in typed-rest-client's terms. Its CA file replaces Node's
 * roots, so it is given a bundle of both. A client certificate only as PEM files: the client
 * takes no PKCS#12 archive.
 */
function adoNetworkOptions(collection: URL): Pick<IRequestOptions, "proxy" | "cert" | "ignoreSslError"> {
  const network = currentNetwork();
  const options: Pick<IRequestOptions, "proxy" | "cert" | "ignoreSslError"> = {};
  const proxy = collection.protocol === "https:" ? network.proxies.https : network.proxies.http;
  if (proxy) {
    options.proxy = {
      proxyUrl: proxy.url,
      proxyUsername: proxy.username,
      proxyPassword: proxy.password,
      proxyBypassHosts: proxy.bypass,
    };
  }
  const tls = network.tls;
  if (tls) {
    options.ignoreSslError = !tls.rejectUnauthorized;
    const cert: ICertConfiguration = {};
    if (tls.extraCa !== undefined) cert.caFile = caBundleFile(tls.extraCa);
    if (tls.certFile && tls.keyFile) {
      cert.certFile = tls.certFile;
      cert.keyFile = tls.keyFile;
      cert.passphrase = tls.passphrase;
    }
    if (Object.keys(cert).length) options.cert = cert;
  }
  return options;
}

let caBundle: { extra: string; file: string } | undefined;
/** typed-rest-client's CA file replaces Node's roots: a bundle of Node's roots, NODE_EXTRA_CA_CERTS and the agent's. */
function caBundleFile(extra: string): string {
  if (caBundle?.extra !== extra) {
    const file = join(mkdtempSync(join(tmpdir(), "ev2-ado-ca-")), "ca.pem");
    writeFileSync(file, [...rootCertificates, ...nodeExtraCertificates(), extra].join("\n"));
    caBundle = { extra, file };
  }
  return caBundle.file;
}

/**
 * The organization (Azure DevOps Services) or collection (Server) name in a collection URL:
 * `https://dev.azure.com/fabrikam/` and `https://fabrikam.visualstudio.com/` give `fabrikam`,
 * `https://tfs.contoso.com/tfs/DefaultCollection/` gives `DefaultCollection`.
 */
export function organizationOf(collectionUrl: string): string {
  const url = new URL(collectionUrl);
  const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (url.hostname.toLowerCase() === "dev.azure.com" && segments[0]) return segments[0];
  const visualStudio = /^([^.]+)\.visualstudio\.com$/i.exec(url.hostname);
  if (visualStudio?.[1]) return visualStudio[1];
  return segments.at(-1) ?? url.hostname;
}

/** The identities a pipeline's token stands for, by job authorization scope. */
export function buildServiceIdentities(
  project: string,
  collectionUrl: string,
): { project: string; collection: string } {
  const org = organizationOf(collectionUrl);
  return {
    project: `${project} Build Service (${org})`,
    collection: `Project Collection Build Service (${org})`,
  };
}

/** The HTTP status the client attached to a failed call, if any. */
export function httpStatusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** One readable line for a failed call: what was being done, what happened, what to check. */
export function describeAdoFailure(
  err: unknown,
  action: string,
  opts: Pick<AdoConnectionOptions, "collectionUrl" | "requestTimeoutMs">,
): string {
  const status = httpStatusOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (status === 401) {
    return `Azure DevOps refused the access token (HTTP 401) while ${action}: ${detail} Check that the job's OAuth token (the SystemVssConnection endpoint's, or System.AccessToken) has not expired.`;
  }
  if (status === 403) return `Azure DevOps denied ${action} (HTTP 403): ${detail}`;
  if (status !== undefined) return `Azure DevOps answered HTTP ${status} while ${action}: ${detail}`;
  if (/^Request timeout/.test(detail)) {
    return `Azure DevOps did not answer within ${(opts.requestTimeoutMs ?? defaultAdoRequestTimeoutMs) / 1000} s while ${action}.`;
  }
  if (typeof code === "string")
    return `Could not reach Azure DevOps at ${opts.collectionUrl} (${code}) while ${action}.`;
  return `${capitalize(action)} failed: ${detail}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const adoBackoff: Omit<RetryPolicy, "maxAttempts"> = {
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxTotalWaitMs: 30_000,
};

/**
 * One Azure DevOps call through the one retry loop (shared/http/retry.ts), tried again when the
 * failure may pass (408, 429, 5xx, a dropped or timed out connection): after the answer's
 * `Retry-After` when it has one (the client keeps an error answer's headers), else with
 * full-jitter backoff, never more than 30 s of waiting in all. Safe for the writes made here too:
 * a ref update names the old object id, so a repeated create answers "stale" and is read back,
 * not doubled.
 */
export async function withAdoRetries<T>(
  opts: Pick<AdoConnectionOptions, "maxRetries"> & {
    signal?: AbortSignal;
    onRetry?: (retry: AttemptRetry) => void;
  },
  work: () => Promise<T>,
): Promise<T> {
  const policy = { ...adoBackoff, maxAttempts: 1 + Math.max(0, opts.maxRetries ?? defaultAdoMaxRetries) };
  return withRetries(
    async () => {
      try {
        return await abortable(work(), opts.signal);
      } catch (err) {
        if (isAbortError(err) || !mayPass(err)) throw err;
        const failed = () => {
          throw err;
        };
        return new Transient<T>(failureReason(err), failed, retryAfterMsOf(err));
      }
    },
    { policy, signal: opts.signal, onRetry: opts.onRetry },
  );
}

/** The `Retry-After` of a failed call's answer: typed-rest-client keeps the headers on the error. */
function retryAfterMsOf(err: unknown): number | undefined {
  const headers = (err as { responseHeaders?: Record<string, string | string[] | undefined> } | null)
    ?.responseHeaders;
  const value = headers?.["retry-after"];
  return parseRetryAfterMs(Array.isArray(value) ? value[0] : value);
}

function failureReason(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) return `HTTP ${status}`;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
}

function mayPass(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status !== undefined) return retryableStatuses.has(status);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string")
    return /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|UND_ERR_SOCKET)$/.test(code);
  return /^Request timeout/.test(err instanceof Error ? err.message : "");
}

/**
 * Settles with `work`, or rejects with AbortedError as soon as `signal` aborts. The client
 * cannot cancel a request in flight; its socket timeout bounds what is left behind.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
