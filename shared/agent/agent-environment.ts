/**
 * A copy of the environment the agent gives the step, taken when the task starts. Inputs, secret
 * variables and endpoint credentials are then removed from the process environment, as
 * azure-pipelines-task-lib does on load (into its vault): nothing the task might start or print
 * inherits them. The task reads them from this copy only.
 */
export const agentEnvironment: Readonly<Record<string, string | undefined>> = { ...process.env };

export const envKey = (name: string): string => name.replace(/[. ]/g, "_").toUpperCase();

const hidden = ["INPUT_", "ENDPOINT_AUTH_", "SECUREFILE_TICKET_", "SECRET_", "VSTS_TASKVARIABLE_"];
for (const key of Object.keys(process.env)) {
  if (hidden.some((prefix) => key.startsWith(prefix))) delete process.env[key];
}
// The proxy password and the client key's passphrase are secrets whichever way they came.
for (const key of ["AGENT_PROXYPASSWORD", "AGENT_CLIENTCERTPASSWORD"]) delete process.env[key];
