import { azureHttpClient } from "../http/azure-http-client";
import type { TokenProvider } from "./client";

/** The EV2 connection's static token (scheme Token, parameter `apitoken`). */
export function staticToken(token: string): TokenProvider {
  return async () => token;
}

/** What an Azure Resource Manager service connection gives the task, already read and registered as secret. */
export type AzureRmIdentity =
  | {
      kind: "workloadIdentityFederation";
      tenantId: string;
      clientId: string;
      getOidcToken: (signal?: AbortSignal) => Promise<string>;
      authorityHost?: string;
    }
  | {
      kind: "servicePrincipalSecret";
      tenantId: string;
      clientId: string;
      clientSecret: string;
      authorityHost?: string;
    }
  | {
      kind: "servicePrincipalCertificate";
      tenantId: string;
      clientId: string;
      certificatePem: string;
      authorityHost?: string;
    }
  | { kind: "managedIdentity"; clientId?: string };

interface CachedToken {
  token: string;
  expiresOnTimestamp: number;
}

/**
 * An Entra ID token for `scope` through `@azure/identity`. The library is loaded on first use
 * only, so runs with a static EV2 token never pay for it at start-up.
 */
export function entraIdToken(identity: AzureRmIdentity, scope: string): TokenProvider {
  let cached: CachedToken | undefined;
  // MSAL asks for the client assertion twice per token (for its client configuration and for
  // the request): one OIDC token from the pipeline serves both.
  let assertion: Promise<string> | undefined;
  let credential:
    | {
        getToken(
          scopes: string | string[],
          options?: { abortSignal?: AbortSignal },
        ): Promise<CachedToken | null>;
      }
    | undefined;
  return async (signal) => {
    // Refresh five minutes early so a long follow never sends an expired token.
    if (cached && cached.expiresOnTimestamp - Date.now() > 5 * 60_000) return cached.token;
    if (!credential) {
      const id = await import("@azure/identity");
      // Entra ID calls go through shared/http: the agent's proxy and certificates apply.
      const http = { httpClient: azureHttpClient };
      switch (identity.kind) {
        case "workloadIdentityFederation":
          credential = new id.ClientAssertionCredential(
            identity.tenantId,
            identity.clientId,
            () => (assertion ??= identity.getOidcToken(signal)),
            { ...http, ...authorityOptions(identity.authorityHost) },
          );
          break;
        case "servicePrincipalSecret":
          credential = new id.ClientSecretCredential(
            identity.tenantId,
            identity.clientId,
            identity.clientSecret,
            { ...http, ...authorityOptions(identity.authorityHost) },
          );
          break;
        case "servicePrincipalCertificate":
          credential = new id.ClientCertificateCredential(
            identity.tenantId,
            identity.clientId,
            { certificate: identity.certificatePem },
            { ...http, ...authorityOptions(identity.authorityHost) },
          );
          break;
        case "managedIdentity":
          credential = identity.clientId
            ? new id.ManagedIdentityCredential({ clientId: identity.clientId, ...http })
            : new id.ManagedIdentityCredential(http);
          break;
      }
    }
    assertion = undefined;
    const token = await credential.getToken(scope, { abortSignal: signal });
    if (!token) throw new Error(`Entra ID returned no token for scope ${scope}`);
    cached = token;
    return token.token;
  };
}

/** The public cloud's Entra hosts (what connections to AzureCloud name), which MSAL knows without asking. */
const publicCloudAuthorityHosts = new Set([
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
]);

/**
 * Outside the public cloud, instance discovery (MSAL asking login.microsoftonline.com whether a
 * host is an Entra authority) is either not needed (MSAL knows the sovereign clouds) or fails:
 * a private cloud cannot reach that host, which refuses hosts it does not know anyway, and the
 * token request then fails before it is sent. The host comes from the service connection an
 * administrator set up, so it is trusted as given.
 */
function authorityOptions(authorityHost: string | undefined): {
  authorityHost?: string;
  disableInstanceDiscovery?: boolean;
} {
  if (!authorityHost) return {};
  const host = URL.canParse(authorityHost) ? new URL(authorityHost).hostname.toLowerCase() : "";
  return { authorityHost, disableInstanceDiscovery: !publicCloudAuthorityHosts.has(host) };
}

/**
 * Entra ID wants a scope: a bare resource (`https://ev2.example.com` or an app id URI) becomes
 * `<resource>/.default`; a full scope (`.../.default`, `.../user_impersonation`) is kept.
 */
export function normaliseScope(scopeOrResource: string): string {
  const s = scopeOrResource.trim().replace(/\/+$/, "");
  if (s.endsWith("/.default")) return s;
  const url = /^[a-z]+:\/\/[^/]+(\/.*)?$/i.exec(s);
  if (url && url[1]) return s;
  return `${s}/.default`;
}
