/**
 * A local Entra ID (Microsoft identity platform) for the tests: a real HTTPS server on 127.0.0.1,
 * because MSAL, under @azure/identity, only accepts https authorities. It serves what MSAL's
 * confidential client calls for the client credentials grant:
 *
 * - `GET /<tenant>/v2.0/.well-known/openid-configuration` — the tenant's endpoints
 * - `POST /<tenant>/oauth2/v2.0/token` — `grant_type=client_credentials` with a client secret or a
 *   client assertion (a certificate-signed JWT, or a federated token for workload identity
 *   federation); answers `{ token_type: "Bearer", expires_in, access_token }`
 *
 * It checks credentials as Entra does (the secret, the assertion's signature, thumbprint,
 * audience and lifetime) and answers failures in Entra's error shape with its AADSTS codes, so
 * a test that passes has sent what the real service would accept. Every request is recorded.
 * Never shipped in the extension.
 */
import { createHash, randomUUID, verify, X509Certificate, constants as cryptoConstants } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "./http-body";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** An app registration of the tenant, with the one credential it accepts. */
export interface EntraApplication {
  clientId: string;
  /** The access token issued to this application, for any scope. */
  accessToken: string;
  credential:
    | { kind: "secret"; secret: string }
    /** The public certificate (PEM) registered with the app; the assertion must be signed by its key. */
    | { kind: "certificate"; certificatePem: string }
    /**
     * A federated credential: the client assertion must be exactly this token (the one the
     * pipeline's OIDC endpoint issued). Entra would check the issuer's signature and the
     * subject; the tests control both ends, so an exact match stands for that.
     */
    | { kind: "federated"; token: string };
}

export interface EntraIdOptions {
  tenantId: string;
  applications: EntraApplication[];
  /** The server's certificate and key (PEM); the task must trust the certificate (NODE_EXTRA_CA_CERTS). */
  tls: { cert: string | Buffer; key: string | Buffer };
  /** Default 0 (a free port). */
  port?: number;
  /** Lifetime of issued tokens; default 3599 as Entra gives. */
  expiresInSeconds?: number;
}

export interface EntraRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  status: number;
}

/** A token request as Entra received it, with the form fields a test asserts. */
export interface TokenRequest {
  tenant: string;
  form: Record<string, string>;
  grantType?: string;
  clientId?: string;
  scope?: string;
  clientSecret?: string;
  clientAssertion?: string;
  clientAssertionType?: string;
  status: number;
  /** The AADSTS error code when the request was refused. */
  errorCode?: number;
}

export interface EntraId {
  /** The authority host, "https://127.0.0.1:<port>": what a connection's environmentAuthorityUrl holds. */
  url: string;
  tenantId: string;
  /** Every request received, in order (to see exactly what a client calls). */
  requests: EntraRequest[];
  tokenRequests: TokenRequest[];
  close(): Promise<void>;
}

interface EntraAnswer {
  status: number;
  body: unknown;
  errorCode?: number;
}

/** Entra allows this much clock skew on an assertion's nbf and exp. */
const CLOCK_SKEW_SECONDS = 300;

export async function startEntraId(options: EntraIdOptions): Promise<EntraId> {
  const requests: EntraRequest[] = [];
  const tokenRequests: TokenRequest[] = [];
  const apps = new Map(options.applications.map((a) => [a.clientId, a]));
  const expiresIn = options.expiresInSeconds ?? 3599;
  let base = "";

  const server: Server = createServer(options.tls, (req, res) => {
    readBody(req, Number.POSITIVE_INFINITY)
      .then((body) => {
        const url = new URL(req.url ?? "/", base);
        const [tenant, ...rest] = url.pathname.split("/").filter(Boolean);
        const route = rest.join("/");
        let answer: EntraAnswer;
        if (req.method === "GET" && route === "v2.0/.well-known/openid-configuration") {
          answer =
            tenant === options.tenantId
              ? { status: 200, body: openIdConfiguration(base, tenant) }
              : unknownTenant(tenant);
        } else if (req.method === "POST" && route === "oauth2/v2.0/token") {
          const form = Object.fromEntries(new URLSearchParams(body));
          answer =
            tenant === options.tenantId
              ? tokenAnswer(form, `${base}/${tenant}/oauth2/v2.0/token`, apps, expiresIn)
              : unknownTenant(tenant);
          tokenRequests.push({
            tenant,
            form,
            grantType: form.grant_type,
            clientId: form.client_id,
            scope: form.scope,
            clientSecret: form.client_secret,
            clientAssertion: form.client_assertion,
            clientAssertionType: form.client_assertion_type,
            status: answer.status,
            errorCode: answer.errorCode,
          });
        } else {
          answer = entraError(
            404,
            "invalid_request",
            900561,
            `The endpoint ${req.method} ${url.pathname} is not served.`,
          );
        }
        requests.push({ method: req.method ?? "", url: req.url ?? "", status: answer.status });
        send(res, answer);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tenantId: options.tenantId,
    requests,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What `login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration` answers, on this host. */
function openIdConfiguration(base: string, tenant: string): Record<string, unknown> {
  return {
    issuer: `${base}/${tenant}/v2.0`,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
    device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
  };
}

function tokenAnswer(
  form: Record<string, string>,
  tokenEndpoint: string,
  apps: Map<string, EntraApplication>,
  expiresIn: number,
): EntraAnswer {
  if (form.grant_type !== "client_credentials")
    return entraError(
      400,
      "unsupported_grant_type",
      70003,
      `The grant type '${form.grant_type}' is not supported here.`,
    );
  if (!form.scope)
    return entraError(400, "invalid_request", 900144, "The request body must contain the parameter 'scope'.");
  if (!/\/\.default$/.test(form.scope))
    return entraError(
      400,
      "invalid_scope",
      1002012,
      `The provided value for scope ${form.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  const app = apps.get(form.client_id ?? "");
  if (!app)
    return entraError(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${form.client_id}' was not found in the directory.`,
    );
  const refused = checkCredential(app, form, tokenEndpoint);
  if (refused) return refused;
  return {
    status: 200,
    body: {
      token_type: "Bearer",
      expires_in: expiresIn,
      ext_expires_in: expiresIn,
      access_token: app.accessToken,
    },
  };
}

/** The reason Entra refuses the client's proof, or undefined when it is accepted. */
function checkCredential(
  app: EntraApplication,
  form: Record<string, string>,
  tokenEndpoint: string,
): EntraAnswer | undefined {
  const c = app.credential;
  if (c.kind === "secret") {
    if (form.client_secret === c.secret) return undefined;
    return entraError(401, "invalid_client", 7000215, "Invalid client secret provided.");
  }
  if (form.client_assertion_type !== CLIENT_ASSERTION_TYPE || !form.client_assertion)
    return entraError(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  if (c.kind === "federated") {
    if (form.client_assertion === c.token) return undefined;
    return entraError(
      400,
      "invalid_client",
      700213,
      "No matching federated identity record found for presented assertion.",
    );
  }
  return checkCertificateAssertion(form.client_assertion, c.certificatePem, app.clientId, tokenEndpoint);
}

/** A certificate credential's assertion: an RS256/PS256 JWT naming the certificate's thumbprint. */
function checkCertificateAssertion(
  assertion: string,
  certificatePem: string,
  clientId: string,
  tokenEndpoint: string,
): EntraAnswer | undefined {
  const invalid = (code: number, message: string) => entraError(401, "invalid_client", code, message);
  const parts = assertion.split(".");
  if (parts.length !== 3) return invalid(50027, "The client assertion is not a JWT.");
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return invalid(50027, "The client assertion is not a JWT.");
  }
  const cert = new X509Certificate(certificatePem);
  const x5tS256 = createHash("sha256").update(cert.raw).digest("base64url");
  const x5t = createHash("sha1").update(cert.raw).digest("base64url");
  if (header["x5t#S256"] !== x5tS256 && header.x5t !== x5t)
    return invalid(
      700027,
      "The certificate with the assertion's thumbprint is not registered with the application.",
    );
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], "base64url");
  const key =
    header.alg === "PS256"
      ? {
          key: cert.publicKey,
          padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
          saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO,
        }
      : header.alg === "RS256"
        ? cert.publicKey
        : undefined;
  if (!key) return invalid(5002738, `The assertion's algorithm ${String(header.alg)} is not supported.`);
  if (!verify("sha256", signed, key, signature))
    return invalid(700027, "The assertion's signature is invalid.");
  if (claims.iss !== clientId || claims.sub !== clientId)
    return invalid(700021, "The assertion's iss and sub must be the client id.");
  if (claims.aud !== tokenEndpoint)
    return invalid(700212, `The assertion's audience must be ${tokenEndpoint}.`);
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== "number" || claims.exp + CLOCK_SKEW_SECONDS < now)
    return invalid(700024, "The client assertion is expired.");
  if (typeof claims.nbf === "number" && claims.nbf - CLOCK_SKEW_SECONDS > now)
    return invalid(700024, "The client assertion is not yet valid.");
  return undefined;
}

function unknownTenant(tenant: string): EntraAnswer {
  return entraError(400, "invalid_tenant", 90002, `Tenant '${tenant}' not found.`);
}

/** Entra's error shape: `AADSTS<code>: <message>` plus its trace ids. */
function entraError(status: number, error: string, code: number, message: string): EntraAnswer {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    status,
    errorCode: code,
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: traceId,
      correlation_id: correlationId,
    },
  };
}

function send(res: ServerResponse, answer: EntraAnswer): void {
  res.writeHead(answer.status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify(answer.body));
}
