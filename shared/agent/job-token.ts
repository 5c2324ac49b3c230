import type { TaskAgent } from "./agent";

/** Where the job's token comes from, for messages. */
export const jobTokenSources = "the SystemVssConnection endpoint's token (or System.AccessToken)";

/**
 * The job's own OAuth token, as in-box tasks get it: the SystemVssConnection endpoint's, which
 * the agent gives every task (task-lib's getEndpointAuthorizationParameter('SystemVssConnection',
 * 'AccessToken', true)). `System.AccessToken` is only a fallback, so a YAML pipeline need not map
 * it and a classic release need not tick "Allow scripts to access the OAuth token". Registered as
 * a secret the moment it is read.
 */
export function jobAccessToken(agent: TaskAgent): string | undefined {
  const token =
    agent.getEndpointAuthorizationParameter("SystemVssConnection", "AccessToken") ??
    agent.getVariable("System.AccessToken");
  if (token) agent.setSecret(token);
  return token;
}
