import { startSimulator, type Simulator } from "../../sim/ev2";
import { teamsSinkCaFile } from "../../sim/teams-sink";
import type { TaskRunSetup } from "../support/run-built-task";

export const TOKEN = "sim-token";

/** Pipeline variables of a YAML run, as the agent gives them. */
export function runVariables(buildId = "4711", extra: Record<string, string> = {}): Record<string, string> {
  return {
    "System.CollectionId": "c0ffee00-0000-4000-8000-000000000001",
    "System.CollectionUri": "https://dev.azure.com/contoso/",
    "System.TeamProjectId": "c0ffee00-0000-4000-8000-000000000002",
    "System.TeamProject": "Orders",
    "Build.BuildId": buildId,
    "System.StageName": "Deploy_PPE",
    "System.JobName": "rollout",
    "System.JobAttempt": "1",
    "Build.RequestedFor": "Alice Example",
    "System.Debug": "true",
    // The agent's CA bundle: the CA of the local Teams sinks, which serve https only.
    "Agent.CAInfo": teamsSinkCaFile(),
    ...extra,
  };
}

/**
 * The shortest interval FollowRollout and GateApproval accept, for every step the tests run
 * (other tasks have no such input; the agent passes it all the same): the simulator runs a
 * rollout in seconds. The shipped tasks have no faster setting.
 */
export const simulatorPolling = { pollingIntervalSeconds: "1" };

export function ev2Setup(
  sim: Simulator,
  inputs: TaskRunSetup["inputs"],
  more: Partial<TaskRunSetup> = {},
): TaskRunSetup {
  return {
    ...more,
    inputs: { connectionType: "ev2", ev2Connection: "ev2conn", ...simulatorPolling, ...inputs },
    endpoints: {
      ev2conn: { url: sim.url, scheme: "Token", parameters: { apitoken: TOKEN } },
      ...more.endpoints,
    },
    variables: { ...runVariables(), ...more.variables },
  };
}

/** The fields of a test rollout that say what is rolled out where (the scenarios' service). */
export const rolloutIdentity = {
  serviceGroupName: "Microsoft.Contoso.Orders",
  serviceId: "orders-api",
  environment: "PPE",
  artifactVersionNumber: "1.3.2",
  stageMapName: "OrdersStageMap",
  stageMapVersion: "v3",
};

export const rolloutInputs = {
  serviceGroupName: "Microsoft.Contoso.Orders",
  serviceId: "orders-api",
  stageMapName: "OrdersStageMap",
  environment: "PPE",
};

export async function simulator(scenario: string, clockSpeed = 600): Promise<Simulator> {
  return startSimulator({ scenario, clockSpeed, tokens: [TOKEN] });
}

/** Starts a rollout of the scenarios' service directly through the client (a test's "given"). */
export async function startTestRollout(
  sim: Simulator,
  key: string,
  stageMapVersion = "v3",
  tags: Record<string, string> = {},
): Promise<string> {
  const { Ev2Client } = await import("../../shared/ev2/client");
  const { staticToken } = await import("../../shared/ev2/auth");
  const client = new Ev2Client({ baseUrl: sim.url, getToken: staticToken(TOKEN) });
  const started = await client.startRollout(
    "Microsoft.Contoso.Orders",
    "orders-api",
    {
      stageMapName: "OrdersStageMap",
      stageMapVersion,
      artifactVersionNumber: "1.3.2",
      environment: "PPE",
      selectionScope: [],
      exclusionScope: [],
      tags,
    },
    key,
  );
  return started.rolloutId;
}
