import type { TaskAgent } from "../agent/agent";
import { field, InputError } from "../agent/inputs";
import { jobAccessToken, jobTokenSources } from "../agent/job-token";
import { sendWithRetry, type HttpClientOptions, type HttpResponse } from "../http/request";
import { entraIdToken, normaliseScope, staticToken, type AzureRmIdentity } from "./auth";
import { Ev2Client, type TokenProvider } from "./client";
import { EV2_ID } from "./schemas";

/** The connection inputs every task that talks to EV2 has (tasks-interface.md). */
export const connectionInputs = {
  connectionType: field.choice(["ev2", "azureRM"] as const, "ev2"),
  ev2Connection: field.text(),
  azureSubscription: field.text(),
  ev2Url: field.text({
    pattern: /^https?:\/\/\S+$/i,
    expected: "an http(s) URL such as https://ev2.contoso.com",
  }),
  ev2Scope: field.text(),
};

/** An input holding an EV2 id, of a rollout or a wait action (letters, digits, `._:-`, at most 128): safe in a URL path. */
export const ev2IdInput = (expected: string) => field.text({ pattern: EV2_ID, expected });

/** `rolloutId` where empty means the newest rollout this release or run started (rollout/find-rollout.ts). */
export const thisRunsRolloutIdInput = () =>
  ev2IdInput("an EV2 rollout id such as $(trigger.rolloutId), or empty for the newest this run started");

type ConnectionSettings = {
  connectionType: "ev2" | "azureRM";
  ev2Connection?: string;
  azureSubscription?: string;
  ev2Url?: string;
  ev2Scope?: string;
};

/** Cross-input rules of the connection inputs, for `readInputs`' `check`. */
export function checkConnection(s: ConnectionSettings): Array<[string, string]> {
  if (s.connectionType === "ev2" && !s.ev2Connection)
    return [
      [
        "ev2Connection",
        "is required when connectionType is ev2: the name or id of an EV2 service connection",
      ],
    ];
  if (s.connectionType === "azureRM") {
    const problems: Array<[string, string]> = [];
    if (!s.azureSubscription)
      problems.push([
        "azureSubscription",
        "is required when connectionType is azureRM: an Azure Resource Manager service connection",
      ]);
    if (!s.ev2Url)
      problems.push([
        "ev2Url",
        "is required when connectionType is azureRM: the EV2 base URL, e.g. https://ev2.contoso.com",
      ]);
    if (!s.ev2Scope)
      problems.push([
        "ev2Scope",
        "is required when connectionType is azureRM: the token scope or resource, e.g. https://ev2.contoso.com/.default",
      ]);
    return problems;
  }
  return [];
}

/**
 * Builds the EV2 client from the service connection. Secrets (token, key, certificate) are
 * registered with the agent the moment they are read.
 */
export function connectEv2(agent: TaskAgent, s: ConnectionSettings, http: HttpClientOptions = {}): Ev2Client {
  if (s.connectionType === "ev2") {
    const id = s.ev2Connection!;
    const url = agent.getEndpointUrl(id);
    const auth = agent.getEndpointAuthorization(id);
    const token = auth?.parameters.apitoken ?? auth?.parameters.apiToken;
    if (token) agent.setSecret(token);
    if (!url)
      throw new InputError(`Input 'ev2Connection': the service connection '${id}' has no server URL.`);
    if (!token)
      throw new InputError(
        `Input 'ev2Connection': the service connection '${id}' has no token (parameter apitoken).`,
      );
    return new Ev2Client({ ...http, baseUrl: url, getToken: staticToken(token) });
  }
  const getToken = azureRmTokenProvider(agent, s.azureSubscription!, normaliseScope(s.ev2Scope!), http);
  return new Ev2Client({ ...http, baseUrl: s.ev2Url!, getToken });
}

/**
 * Entra ID tokens for `scope` from an Azure Resource Manager service connection (workload
 * identity federation, service principal secret or certificate, managed identity). `input` names
 * the input the connection came from, for messages.
 */
export function azureRmTokenProvider(
  agent: TaskAgent,
  connectionId: string,
  scope: string,
  http: HttpClientOptions,
  input = "azureSubscription",
): TokenProvider {
  const entra = entraIdToken(azureRmIdentity(agent, connectionId, http, input), scope);
  // An access token is as secret as the credential that got it.
  return async (signal?: AbortSignal) => {
    const token = await entra(signal);
    agent.setSecret(token);
    return token;
  };
}

function azureRmIdentity(
  agent: TaskAgent,
  id: string,
  http: HttpClientOptions,
  input: string,
): AzureRmIdentity {
  const auth = agent.getEndpointAuthorization(id);
  if (!auth)
    throw new InputError(
      `Input '${input}': no Azure Resource Manager service connection '${id}' is available to this job.`,
    );
  const p = auth.parameters;
  if (p.serviceprincipalkey) agent.setSecret(p.serviceprincipalkey);
  // The agent refuses a secret of several lines, so a PEM is masked line by line.
  for (const line of pemSecretLines(p.servicePrincipalCertificate ?? "")) agent.setSecret(line);
  const tenantId = p.tenantid ?? "";
  const clientId = p.serviceprincipalid ?? "";
  const authorityHost = agent.getEndpointData(id, "environmentAuthorityUrl");
  switch (auth.scheme.toLowerCase()) {
    case "workloadidentityfederation":
      return {
        kind: "workloadIdentityFederation",
        tenantId,
        clientId,
        authorityHost,
        getOidcToken: (signal) => requestOidcToken(agent, id, { ...http, signal }),
      };
    case "serviceprincipal":
      if (p.authenticationType === "spnCertificate") {
        return {
          kind: "servicePrincipalCertificate",
          tenantId,
          clientId,
          certificatePem: p.servicePrincipalCertificate ?? "",
          authorityHost,
        };
      }
      return {
        kind: "servicePrincipalSecret",
        tenantId,
        clientId,
        clientSecret: p.serviceprincipalkey ?? "",
        authorityHost,
      };
    case "managedserviceidentity":
      return { kind: "managedIdentity", clientId: clientId || undefined };
    default:
      throw new InputError(
        `Input '${input}': the connection's scheme ${auth.scheme} is not supported; use workload identity federation, a service principal or a managed identity.`,
      );
  }
}

/** The lines of a PEM worth masking: all but the BEGIN/END markers, which every PEM has. */
function pemSecretLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("-----"));
}

/** The pipeline's OIDC endpoint gives a federated token for the connection (workload identity federation). */
async function requestOidcToken(
  agent: TaskAgent,
  connectionId: string,
  http: HttpClientOptions,
): Promise<string> {
  const uri = agent.getVariable("System.OidcRequestUri");
  const accessToken = jobAccessToken(agent);
  if (!uri || !accessToken) {
    throw new Error(
      `Workload identity federation needs System.OidcRequestUri and ${jobTokenSources}; run the task in a pipeline job.`,
    );
  }
  const res = await sendWithRetry(
    {
      method: "POST",
      url: `${uri}?api-version=7.1-preview.1&serviceConnectionId=${encodeURIComponent(connectionId)}`,
      headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
      body: "{}",
      operation: "request an OIDC token",
      retryNetworkErrors: true,
    },
    http,
  );
  const reply = oidcTokenIn(res);
  if ("problem" in reply)
    throw new Error(
      `Service connection '${connectionId}' (workload identity federation): the pipeline's OIDC endpoint answered ${reply.problem} instead of a federated token.`,
    );
  agent.setSecret(reply.token);
  return reply.token;
}

/** The token in the OIDC endpoint's `{ "oidcToken": "..." }`, or what the reply was instead. */
function oidcTokenIn(res: HttpResponse): { token: string } | { problem: string } {
  if (res.status !== 200) return { problem: `HTTP ${res.status}` };
  let reply: unknown;
  try {
    reply = JSON.parse(res.body);
  } catch {
    return { problem: "HTTP 200 with a body that is not JSON" };
  }
  const token = (reply as { oidcToken?: unknown } | null)?.oidcToken;
  if (typeof token !== "string" || token === "")
    return { problem: "HTTP 200 with JSON that has no oidcToken" };
  return { token };
}
