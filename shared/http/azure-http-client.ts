/**
 * The HTTP client `@azure/identity` (and MSAL under it) sends Entra ID requests with: this
 * project's one HTTP module, so token requests, instance discovery, the managed identity
 * endpoint and certificate flows take the agent's proxy and certificates like every other call.
 * One attempt per call: the Azure pipeline around it retries by its own policy. No redirect is
 * followed here; the pipeline's redirect policy follows same-origin ones only.
 */
import type { HttpClient, HttpHeaders, PipelineRequest, PipelineResponse } from "@azure/core-rest-pipeline";
import { sendWithRetry, type HttpRequest } from "./request";

class ResponseHeaders implements HttpHeaders {
  private readonly entries = new Map<string, { name: string; value: string }>();
  constructor(raw: Record<string, string>) {
    for (const [name, value] of Object.entries(raw)) this.set(name, value);
  }
  get(name: string): string | undefined {
    return this.entries.get(name.toLowerCase())?.value;
  }
  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }
  set(name: string, value: string | number | boolean): void {
    this.entries.set(name.toLowerCase(), { name, value: String(value) });
  }
  delete(name: string): void {
    this.entries.delete(name.toLowerCase());
  }
  toJSON(options: { preserveCase?: boolean } = {}): Record<string, string> {
    const json: Record<string, string> = {};
    for (const [key, { name, value }] of this.entries) json[options.preserveCase ? name : key] = value;
    return json;
  }
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (const [key, { value }] of this.entries) yield [key, value];
  }
}

const methods = new Set<string>(["GET", "POST", "PUT", "PATCH", "DELETE"]);
const oneAttempt = { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0, maxTotalWaitMs: 0 };

export const azureHttpClient: HttpClient = {
  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const host = URL.canParse(request.url) ? new URL(request.url).host : request.url;
    if (!methods.has(request.method))
      throw new Error(`Entra ID: ${request.method} requests are not supported`);
    if (request.body != null && typeof request.body !== "string")
      throw new Error(
        `Entra ID: a ${request.method} to ${host} with a body that is not text is not supported`,
      );
    const headers = request.headers.toJSON({ preserveCase: true });
    // The HTTP module does not decompress; ask for the body as it is.
    for (const name of Object.keys(headers))
      if (name.toLowerCase() === "accept-encoding") delete headers[name];
    const signal = request.abortSignal instanceof AbortSignal ? request.abortSignal : undefined;
    const res = await sendWithRetry(
      {
        method: request.method as HttpRequest["method"],
        url: request.url,
        headers,
        body: request.body ?? undefined,
        operation: `Entra ID request to ${host}`,
        retryNetworkErrors: false,
      },
      { retry: oneAttempt, timeoutMs: request.timeout > 0 ? request.timeout : 30_000, signal },
    );
    return { request, status: res.status, headers: new ResponseHeaders(res.headers), bodyAsText: res.body };
  },
};
