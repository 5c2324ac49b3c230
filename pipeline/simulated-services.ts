/**
 * `--sim`: the services a pipeline talks to, simulated on 127.0.0.1 — the EV2 simulator (fast
 * clock) behind every EV2 service connection, and the Azure DevOps REST slice behind
 * System.AccessToken (a project, the repository with the commit being deployed, the build).
 */
import { randomBytes } from "node:crypto";
import { startAdoServer, type AdoServer } from "../sim/ado/server";
import {
  addBuild,
  addPipelineApproval,
  addProject,
  adoIdentity,
  addRepository,
  commitIdFrom,
  createAdoState,
  guidFrom,
  projectBuildServiceIdentity,
  type AdoProjectState,
  type AdoRepositoryState,
  stageTimelineRecords,
  type StageTimelineSeed,
} from "../sim/ado/state";
import { startSimulator, type Simulator } from "../sim/ev2";
import { teamsSinkCaFile } from "../sim/teams-sink";
import type {
  ConnectionResolver,
  PipelineRunOptions,
  RunIdentity,
  StageApprovals,
  StageAwaitingApproval,
} from "./runner";

/** The type of the extension's EV2 service connection (task.json `connectedService:ev2rollout`). */
export const ev2ConnectionType = "ev2rollout";

export interface SimulatedServicesOptions {
  /** A bundled EV2 scenario name (sim/scenarios/<name>.json), a path, or a scenario object. */
  scenario: Parameters<typeof startSimulator>[0]["scenario"];
  /** Simulated seconds per real second; default 600 (a 20-minute rollout in 2 seconds). */
  clockSpeed?: number;
  organization?: string;
  project?: string;
  repository?: string;
  buildId?: number;
  /** Stages of the build's timeline, e.g. with approvals for GateApproval to find. */
  stages?: StageTimelineSeed[];
  /** How the simulated release manager answers the environment approvals the run asks for. */
  approvals?: SimulatedApprovalOptions;
}

export interface SimulatedApprovalOptions {
  /** Who approves: `Name` or `Name <e-mail>`; default the simulated release manager. */
  approver?: string;
  /**
   * Reject the approval of this stage or environment (`first`: the first approval asked), or
   * each approval the function picks.
   */
  reject?: string | ((stage: StageAwaitingApproval) => boolean);
  comment?: string;
}

export const simulatedReleaseManager = "Riley Release-Manager <riley.release-manager@contoso.com>";

export interface SimulatedServices {
  ev2: Simulator;
  ado: AdoServer;
  project: AdoProjectState;
  repository: AdoRepositoryState;
  /** The commit the run deploys (Build.SourceVersion). */
  commit: string;
  /** What to give `runPipeline` so the run uses these services. */
  runOptions: Pick<
    PipelineRunOptions,
    "connections" | "accessToken" | "run" | "secrets" | "variables" | "approvals" | "inputOverrides"
  >;
  close(): Promise<void>;
}

/** Every EV2 service connection, whatever its name, points at `url` with `token`. */
export function everyEv2Connection(url: string, token: string): ConnectionResolver {
  return (_name, type) =>
    type.toLowerCase() === ev2ConnectionType
      ? { url, scheme: "Token", parameters: { apitoken: token } }
      : undefined;
}

export async function startSimulatedServices(options: SimulatedServicesOptions): Promise<SimulatedServices> {
  const ev2Token = `sim-${randomBytes(12).toString("hex")}`;
  const accessToken = `ado-${randomBytes(16).toString("hex")}`;
  const organization = options.organization ?? "contoso";
  const projectName = options.project ?? "Orders";
  const buildId = options.buildId ?? Math.floor(Date.now() / 1000) % 100_000_000;
  const commit = commitIdFrom(`${projectName} build ${buildId}`);

  const ev2 = await startSimulator({
    scenario: options.scenario,
    clockSpeed: options.clockSpeed ?? 600,
    tokens: [ev2Token],
  });
  const state = createAdoState({
    organization,
    tokens: { [accessToken]: projectBuildServiceIdentity(projectName, organization) },
  });
  const project = addProject(state, projectName);
  const repository = addRepository(project, options.repository ?? "orders-api", {
    refs: [{ name: "refs/heads/main", objectId: commit }],
    commits: [commit, commitIdFrom(`${projectName} previous commit`)],
  });
  const build = addBuild(project, buildId, options.stages ?? []);
  let ado: AdoServer;
  try {
    ado = await startAdoServer({ state });
  } catch (err) {
    await ev2.close();
    throw err;
  }

  const run: Partial<RunIdentity> = {
    collectionUri: ado.url,
    collectionId: guidFrom(`collection:${organization}`),
    project: project.name,
    projectId: project.id,
    buildId: String(buildId),
    repositoryId: repository.id,
    repositoryName: repository.name,
    sourceVersion: commit,
    sourceBranch: "refs/heads/main",
  };
  return {
    ev2,
    ado,
    project,
    repository,
    commit,
    runOptions: {
      connections: everyEv2Connection(ev2.url, ev2Token),
      accessToken,
      run,
      secrets: [ev2Token, accessToken],
      approvals: simulatedApprovals(options.approvals ?? {}, project, build),
      // The local Teams sink serves https with a certificate of a CA made for the run: the tasks
      // trust it as they trust an agent's CA bundle.
      variables: { "Agent.CAInfo": teamsSinkCaFile() },
      // The simulator runs a rollout in seconds: poll it at the shortest interval the tasks accept.
      inputOverrides: {
        FollowRollout: { pollingIntervalSeconds: "1" },
        GateApproval: { pollingIntervalSeconds: "1" },
      },
    },
    close: async () => {
      await Promise.all([ev2.close(), ado.close()]);
    },
  };
}

/** `Name <e-mail>` or `Name` (as `--approver` takes it) as an Azure DevOps identity. */
export function approverIdentity(text: string): ReturnType<typeof adoIdentity> {
  const named = /^(.*?)\s*<([^>]+)>\s*$/.exec(text);
  return named ? adoIdentity(named[1].trim(), named[2].trim()) : adoIdentity(text.trim());
}

/**
 * Environment approvals as a real run exposes them: the stage's `Checkpoint` and
 * `Checkpoint.Approval` records in the build's timeline, and the approval (with its step, the
 * approver and their comment) in the approvals API, approved or rejected by the release manager.
 */
function simulatedApprovals(
  options: SimulatedApprovalOptions,
  project: AdoProjectState,
  build: ReturnType<typeof addBuild>,
): StageApprovals {
  const approver = approverIdentity(options.approver ?? simulatedReleaseManager);
  let asked = 0;
  return ({ stage, displayName, environments }) => {
    asked++;
    const reject = options.reject;
    const target = typeof reject === "string" ? reject.toLowerCase() : undefined;
    const rejected =
      typeof reject === "function"
        ? reject({ stage, displayName, environments })
        : target !== undefined &&
          ((target === "first" && asked === 1) ||
            target === stage.toLowerCase() ||
            environments.some((e) => e.toLowerCase() === target));
    const verdict = rejected ? "rejected" : "approved";
    const comment =
      options.comment ??
      (rejected
        ? `Not now: rejected before ${displayName} (simulated release manager).`
        : `Approved for ${environments.join(", ")} (simulated release manager).`);
    const at = new Date().toISOString();
    const approvalId = guidFrom(`approval:${build.id}:${stage}:${asked}`);
    build.records.push(
      ...stageTimelineRecords(build.id, {
        identifier: stage,
        name: displayName,
        approvalIds: [approvalId],
        approvedAt: at,
        ...(rejected ? { state: "completed" as const, result: "failed" as const } : {}),
      }),
    );
    addPipelineApproval(project, approvalId, [{ by: approver, comment, at, status: verdict }]);
    return { verdict, by: approver.displayName, comment };
  };
}
