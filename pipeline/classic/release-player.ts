/**
 * Plays a classic release definition (JSON as Azure DevOps exports it) with the local runner:
 * environments by rank as their trigger conditions allow, each one's pre-deployment approvals
 * and gates, its agent phases (the built tasks, as in YAML), then its post-deployment gates and
 * approvals. Approvals are answered through `approvals` (with `--sim`: recorded in the Azure
 * DevOps slice's release approvals API, where GateApproval's approver look-up reads them).
 */
import { readFileSync } from "node:fs";
import {
  runPipeline,
  type ApprovalDecision,
  type PipelineRunOptions,
  type StageCheckContext,
} from "../runner";
import type { PipelineRunResult } from "../run-events";
import { TaskCatalog } from "../task-catalog";
import { builtTasksDirectory } from "../task-process";
import {
  readReleaseDefinition,
  type ApprovalStep,
  type GateStep,
  type ReleaseApprover,
  type ReleaseDefinition,
  type ReleaseEnvironment,
} from "./release-definition";
import { realGateClock, runGates, type GateClock } from "./release-gates";
import {
  environmentRun,
  releasePipeline,
  type ReleaseIdentity,
  type ReleasePipeline,
} from "./release-pipeline";

export type ReleaseApprovalType = "preDeploy" | "postDeploy";

/** An approval the release asks for. */
export interface ReleaseApprovalRequest {
  release: ReleaseIdentity;
  environment: ReleaseEnvironment;
  environmentId: number;
  type: ReleaseApprovalType;
  /** Empty when the approval is automatic (the environment has no approvers). */
  approvers: ReleaseApprover[];
}

export type ReleaseApprovals = (
  request: ReleaseApprovalRequest,
) => Promise<ApprovalDecision> | ApprovalDecision;

export interface ReleaseRunOptions extends Omit<PipelineRunOptions, "definition" | "stageChecks" | "text"> {
  /** The definition's JSON; read from `file` when not given. */
  text?: string;
  /** Release id, name, requester (defaults: a new id each run, `Release-<id>`, the run's requester). */
  release?: Partial<ReleaseIdentity>;
  /** How approvals are answered; without it they are not simulated and pass (the run says so). */
  releaseApprovals?: ReleaseApprovals;
  /** The clock gates are sampled on (default real time; with --sim the simulator's clock). */
  gateClock?: GateClock;
  /** Environments without a trigger to deploy anyway (`--deploy`), as clicking *Deploy* does. */
  deploy?: string[];
}

export interface PreparedRelease {
  release: ReleaseDefinition;
  identity: ReleaseIdentity;
  pipeline: ReleasePipeline;
  catalog: TaskCatalog;
}

/** Reads the definition and lays it out as the runner's stages, without running anything. */
export function prepareRelease(
  text: string,
  options: Pick<ReleaseRunOptions, "release" | "tasksDirectory" | "run" | "deploy">,
): PreparedRelease {
  const release = readReleaseDefinition(text);
  const catalog = TaskCatalog.load(options.tasksDirectory ?? builtTasksDirectory);
  const runId = Number(options.run?.buildId);
  const releaseId =
    options.release?.releaseId ??
    (Number.isInteger(runId) && runId > 0 ? runId : Math.floor(Date.now() / 1000) % 10_000_000);
  const requestedFor = options.release?.requestedFor ?? options.run?.requestedFor ?? "Local Runner";
  const identity: ReleaseIdentity = {
    releaseId,
    releaseName: `Release-${releaseId}`,
    definitionId: release.id,
    definitionName: release.name,
    requestedFor,
    requestedForId: `local:${requestedFor}`,
    attempt: 1,
    ...options.release,
  };
  return {
    release,
    identity,
    catalog,
    pipeline: releasePipeline(release, identity, catalog, options.deploy),
  };
}

export async function runRelease(options: ReleaseRunOptions): Promise<PipelineRunResult> {
  const text = options.text ?? readFileSync(options.file, "utf8");
  const prepared = prepareRelease(text, options);
  const { identity, pipeline } = prepared;
  const clock = options.gateClock ?? realGateClock;
  const mask = (t: string) =>
    [...(options.secrets ?? []), ...Object.values(options.secretVariables ?? {})]
      .filter((s) => s.length > 0)
      .reduce((out, s) => out.split(s).join("***"), t);

  const approve = async (
    ctx: StageCheckContext,
    environment: ReleaseEnvironment,
    step: ApprovalStep,
    type: ReleaseApprovalType,
  ): Promise<string | undefined> => {
    const what = `${type === "preDeploy" ? "pre" : "post"}-deployment approval of ${environment.name}`;
    if (!options.releaseApprovals) {
      if (!step.automated)
        ctx.notice("info", `The ${what} is not simulated; the release goes on as if it was approved.`);
      return undefined;
    }
    const decision = await options.releaseApprovals({
      release: identity,
      environment,
      environmentId: environmentRun(identity, environment).environmentId,
      type,
      approvers: step.approvers,
    });
    const said = `${decision.by}${decision.comment ? `: "${decision.comment}"` : ""}`;
    if (decision.verdict === "rejected") return `the ${what} was rejected by ${said}`;
    if (!step.automated) ctx.notice("info", `The ${what} was approved by ${said}`);
    return undefined;
  };
  const gates = (
    ctx: StageCheckContext,
    environment: ReleaseEnvironment,
    step: GateStep,
    when: "pre" | "post",
  ) =>
    runGates(step, `The ${when}-deployment gates of ${environment.name}`, {
      catalog: prepared.catalog,
      connections: options.connections,
      variables: ctx.variables,
      clock,
      notice: ctx.notice,
      signal: ctx.signal,
      mask,
    });
  /** Approvals and gates in the order the definition says (approvalOptions.executionOrder). */
  const check = async (ctx: StageCheckContext, when: "pre" | "post"): Promise<string | undefined> => {
    const environment = pipeline.stageOf.get(ctx.stage.name)!;
    const approvals = when === "pre" ? environment.preApprovals : environment.postApprovals;
    const gateStep = when === "pre" ? environment.preGates : environment.postGates;
    const type = when === "pre" ? "preDeploy" : "postDeploy";
    if (approvals.order === "beforeGates")
      return (
        (await approve(ctx, environment, approvals, type)) ?? (await gates(ctx, environment, gateStep, when))
      );
    const gateFailure = await gates(ctx, environment, gateStep, when);
    if (gateFailure && approvals.order === "afterSuccessfulGates") return gateFailure;
    return (await approve(ctx, environment, approvals, type)) ?? gateFailure;
  };

  const { release: _r, releaseApprovals: _a, gateClock: _c, text: _t, deploy: _d, ...runOptions } = options;
  return runPipeline({
    ...runOptions,
    runName: `release ${identity.releaseName}`,
    definition: pipeline.definition,
    secretVariables: { ...pipeline.secrets, ...options.secretVariables },
    stageChecks: { before: (ctx) => check(ctx, "pre"), after: (ctx) => check(ctx, "post") },
  });
}
