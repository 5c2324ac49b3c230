/** A fake Azure DevOps (collection, release management host, location discovery) for tests and the local demo. */
export { startAdoServer, type AdoServer, type AdoServerOptions, type RecordedAdoRequest } from "./server";
export * from "./state";
