/**
 * A copy of the agent's environment taken before azure-pipelines-task-lib loads: the library
 * moves inputs, secret variables and endpoint credentials into its vault on load, and its own
 * getters write every value they return to the debug log. Reading from this copy keeps secret
 * inputs out of the log even with system.debug=true. Imported before task-lib, on purpose.
 */
export const agentEnvironment: Readonly<Record<string, string | undefined>> = { ...process.env };

export const envKey = (name: string): string => name.replace(/[. ]/g, "_").toUpperCase();

// azure-pipelines-task-lib writes the proxy password and the client key's passphrase to the debug
// log when it loads, before anything could mask them. The task reads them from the copy above.
for (const key of ["AGENT_PROXYPASSWORD", "AGENT_CLIENTCERTPASSWORD"]) {
  delete process.env[key];
  delete process.env[`SECRET_${key}`];
}
