import {
  startAdoServer,
  type AdoServer,
  type AdoServerOptions,
  type RecordedAdoRequest,
} from "../../sim/ado/server";
import {
  adoIdentity,
  commitIdFrom,
  createAdoState,
  projectBuildServiceIdentity,
  type AdoServerState,
} from "../../sim/ado/state";

/** The job's System.AccessToken as the fake knows it (a JWT-like value, so it goes out as Bearer). */
export const jobToken = "eyJ0eXAiOiJKV1QifQ.job-access-token.signature";
export const projectName = "Contoso";
export const builtCommit = commitIdFrom("built commit");
export const otherCommit = commitIdFrom("another commit");

/** A fresh fake Azure DevOps with the project's build service identity able to sign in. */
export async function startSeededAdo(
  seed: (state: AdoServerState) => void = () => {},
  opts: Omit<AdoServerOptions, "state"> = {},
): Promise<AdoServer> {
  const state = createAdoState({
    tokens: { [jobToken]: projectBuildServiceIdentity(projectName, "DefaultCollection") },
  });
  seed(state);
  return startAdoServer({ ...opts, state });
}

/** The calls that reached a resource (not the location discovery the client does first). */
export function apiCalls(ado: AdoServer): RecordedAdoRequest[] {
  return ado.requests.filter((r) => r.method !== "OPTIONS" && !/\/_apis\/ResourceAreas/i.test(r.path));
}

export const alice = adoIdentity("Alice Approver", "alice@contoso.com");
export const bob = adoIdentity("Bob Reviewer", "bob@contoso.com");
export const requester = { displayName: "Riley Requester", uniqueName: "riley@contoso.com" };
