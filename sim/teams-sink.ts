/**
 * A stand-in for a Teams Workflows webhook: real HTTPS on 127.0.0.1 that records what is posted
 * and answers with a status sequence chosen by the test (then 202, as Workflows does). Its
 * certificate comes from a CA made when the first sink starts (openssl): give `caFile` to the
 * task as the agent gives its CA bundle (`Agent.CAInfo`). The tasks take https webhooks only.
 *
 * `url` looks like a Workflows trigger URL, `sig` included, so tests can check that the secret
 * never shows up in messages. Only POSTs to that path are recorded; other paths answer 404.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createTestCa, type IssuedCert, type TestCa } from "./local-ca";
import { readBody } from "./http-body";

let certificates: { ca: TestCa; server: IssuedCert } | undefined;

/** A certificate for 127.0.0.1 from the sinks' CA, for other https stand-ins of a test run. */
export function teamsSinkServerCertificate(): { certPem: string; keyPem: string } {
  const { certPem, keyPem } = sinkCertificates().server;
  return { certPem, keyPem };
}

/** The sinks' CA file (made on first use): what the tests give every task as `Agent.CAInfo`. */
export function teamsSinkCaFile(): string {
  return sinkCertificates().ca.caFile;
}

/** One CA and server certificate per process: every sink of a test run shares them. */
function sinkCertificates(): { ca: TestCa; server: IssuedCert } {
  if (!certificates) {
    const ca = createTestCa("Teams sink test CA");
    certificates = { ca, server: ca.issueServer(["127.0.0.1", "localhost"]) };
    process.once("exit", () => ca.dispose());
  }
  return certificates;
}

export interface TeamsSinkOptions {
  /** Statuses of the next answers, in order; after them every answer is 202. */
  responses?: number[];
  /** Seconds sent as `Retry-After` with 429 and 503 answers. */
  retryAfter?: number;
  /**
   * Host names the certificate names besides 127.0.0.1, for a test that reaches the sink under
   * another name (through a proxy that alone resolves it).
   */
  names?: string[];
}

export interface ReceivedTeamsMessage {
  /** Date.now() when the request arrived. */
  at: number;
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /** The status the sink answered. */
  status: number;
}

export interface TeamsSink {
  /** The webhook URL to post to (https). */
  url: string;
  /** The PEM file of the CA that issued the sink's certificate: the task's `Agent.CAInfo`. */
  caFile: string;
  /** The same CA as PEM text. */
  caPem: string;
  /** Every POST to `url`, in arrival order. */
  received: ReceivedTeamsMessage[];
  /** Replaces the statuses still to be answered. */
  setResponses(statuses: number[]): void;
  close(): Promise<void>;
}

const maxBodyBytes = 1024 * 1024;

const errorCodes: Record<number, string> = {
  400: "InvalidRequestContent",
  401: "Unauthorized",
  403: "AuthorizationFailed",
  404: "WorkflowNotFound",
  413: "RequestEntityTooLarge",
  429: "WorkflowTriggerIsThrottled",
  500: "InternalServerError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

export async function startTeamsSink(options: TeamsSinkOptions = {}): Promise<TeamsSink> {
  let pending = [...(options.responses ?? [])];
  const received: ReceivedTeamsMessage[] = [];
  const workflowId = randomUUID().replace(/-/g, "");
  const path = `/workflows/${workflowId}/triggers/manual/paths/invoke`;
  const sig = randomUUID().replace(/-/g, "");
  let port = 0;

  const { ca, server: shared } = sinkCertificates();
  const cert = options.names?.length ? ca.issueServer(["127.0.0.1", "localhost", ...options.names]) : shared;
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestUrl = new URL(req.url ?? "/", "https://127.0.0.1");
    const target = `https://127.0.0.1:${port}${req.url ?? "/"}`;
    if (requestUrl.pathname !== path) return answer(res, 404, target);
    if (req.method !== "POST") return answer(res, 405, target);
    const at = Date.now();
    const text = await readBody(req, maxBodyBytes);
    if (text === undefined) return answer(res, 413, target);
    const status = pending.shift() ?? 202;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    received.push({ at, headers, body: parseJson(text), status });
    answer(res, status, target);
  }

  /** Error answers quote the request URL, as many servers do: clients must not pass that on. */
  function answer(res: ServerResponse, status: number, target: string): void {
    if (status === 202 || status === 200) {
      res.writeHead(status, { "content-length": "0" });
      res.end();
      return;
    }
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if ((status === 429 || status === 503) && options.retryAfter !== undefined) {
      headers["retry-after"] = String(options.retryAfter);
    }
    const code = errorCodes[status] ?? `Http${status}`;
    res.writeHead(status, headers);
    res.end(
      JSON.stringify({
        error: { code, message: `The sink answered ${status} to POST ${target}.` },
      }),
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}${path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`,
    caFile: ca.caFile,
    caPem: ca.caPem,
    received,
    setResponses(statuses) {
      pending = [...statuses];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
