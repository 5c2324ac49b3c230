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
      switch (identity.kind) {
        case "workloadIdentityFederation":
          credential = new id.ClientAssertionCredential(
            identity.tenantId,
            identity.clientId,
            () => identity.getOidcToken(signal),
            {
              authorityHost: identity.authorityHost,
            },
          );
          break;
        case "servicePrincipalSecret":
          credential = new id.ClientSecretCredential(
            identity.tenantId,
            identity.clientId,
            identity.clientSecret,
            {
              authorityHost: identity.authorityHost,
            },
          );
          break;
        case "servicePrincipalCertificate":
          credential = new id.ClientCertificateCredential(
            identity.tenantId,
            identity.clientId,
            { certificate: identity.certificatePem },
            { authorityHost: identity.authorityHost },
          );
          break;
        case "managedIdentity":
          credential = identity.clientId
            ? new id.ManagedIdentityCredential(identity.clientId)
            : new id.ManagedIdentityCredential();
          break;
      }
    }
    const token = await credential.getToken(scope, { abortSignal: signal });
    if (!token) throw new Error(`Entra ID returned no token for scope ${scope}`);
    cached = token;
    return token.token;
  };
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
