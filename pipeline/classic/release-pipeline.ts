/**
 * A release definition as the stages, jobs and steps the runner plays: an environment is a stage
 * (its `environmentState` conditions become `dependsOn` and a condition on those environments'
 * results), an agent phase is a job (phases run one after another), a workflow task is a step
 * (found by `taskId`, release or dev package id; `refName` is the step's name, so its output
 * variables are `$(refName.variable)` in later steps of the phase and nowhere else). The
 * `Release.*` variables are the environment's, as the agent gives them in a release.
 */
import {
  PipelineFileError,
  type JobDefinition,
  PipelineDefinition,
  type PipelineNotice,
  type StageDefinition,
  type StepDefinition,
  type VariableDefinition,
} from "../pipeline-file";
import type { TaskCatalog } from "../task-catalog";
import {
  environmentStatus,
  type EnvironmentCondition,
  type ReleaseDefinition,
  type ReleaseEnvironment,
  type ReleaseTask,
} from "./release-definition";

/** Who and which this release is, as `Release.*` tells the tasks. */
export interface ReleaseIdentity {
  releaseId: number;
  releaseName: string;
  definitionId: number;
  definitionName: string;
  requestedFor: string;
  requestedForId: string;
  /** 1 unless the environment is redeployed. */
  attempt: number;
}

/** The run-time ids of an environment of this release (not the definition's environment id). */
export interface EnvironmentRun {
  environmentId: number;
  deploymentId: number;
}

/**
 * Stable, distinct ids for each environment's run in this release, within Azure DevOps' 32-bit
 * ids (the local release id is large: it comes from the clock).
 */
export function environmentRun(release: ReleaseIdentity, environment: ReleaseEnvironment): EnvironmentRun {
  const environmentId = (release.releaseId % 10_000_000) * 100 + Math.max(1, environment.rank % 100);
  return { environmentId, deploymentId: 1_000_000_000 + environmentId };
}

export interface ReleasePipeline {
  definition: PipelineDefinition;
  /** Secret variables the file gives values for (an export never does: pass them with --secret). */
  secrets: Record<string, string>;
  /** The stage each environment plays as, by environment name. */
  stageOf: Map<string, ReleaseEnvironment>;
}

/** The EnvironmentStatus bit a stage's result stands for. */
const statusOfResult: Record<string, number> = {
  Succeeded: environmentStatus.succeeded,
  SucceededWithIssues: environmentStatus.partiallySucceeded,
  Canceled: environmentStatus.canceled,
  Failed: environmentStatus.rejected,
};

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The runner's condition for an environment's `environmentState` conditions. */
function stageCondition(conditions: EnvironmentCondition[]): string | undefined {
  const states = conditions.flatMap((c) => (c.kind === "environmentState" ? [c] : []));
  if (states.length === 0) return undefined;
  const tests = states.map((c) => {
    const results = Object.entries(statusOfResult)
      .filter(([, bit]) => (c.states & bit) !== 0)
      .map(([result]) => quote(result));
    return results.length === 0
      ? "false"
      : `in(dependencies[${quote(c.environment)}].result, ${results.join(", ")})`;
  });
  return tests.length === 1 ? tests[0] : `and(${tests.join(", ")})`;
}

export function releasePipeline(
  release: ReleaseDefinition,
  identity: ReleaseIdentity,
  catalog: TaskCatalog,
  /** Environments without a trigger to deploy anyway, as clicking *Deploy* does (`--deploy`). */
  deployByHand: string[] = [],
): ReleasePipeline {
  const notices: PipelineNotice[] = [];
  const known = new Set(release.environments.map((e) => e.name.toLowerCase()));
  for (const name of deployByHand)
    if (!known.has(name.toLowerCase()))
      throw new PipelineFileError(
        `--deploy ${name}: the release has no such environment (${release.environments.map((e) => e.name).join(", ")}).`,
      );
  const byHand = new Set(deployByHand.map((n) => n.toLowerCase()));
  const secrets: Record<string, string> = {};
  const userVariables = (list: ReleaseDefinition["variables"], where: string): VariableDefinition[] =>
    list.flatMap((v) => {
      if (!v.secret) return [{ name: v.name, value: v.value }];
      if (v.value) secrets[v.name] = v.value;
      else
        notices.push({
          where,
          message: `secret variable ${v.name} has no value in the file (an export never has one): give it with --secret ${v.name}`,
        });
      return [];
    });
  const names = new Map(release.environments.map((e) => [e.name.toLowerCase(), e.name]));
  const stageOf = new Map<string, ReleaseEnvironment>();
  const stages: StageDefinition[] = release.environments.map((environment) => {
    const where = `environment ${environment.name}`;
    stageOf.set(environment.name, environment);
    const run = environmentRun(identity, environment);
    const releaseVariables: VariableDefinition[] = [
      { name: "Release.EnvironmentName", value: environment.name },
      { name: "Release.EnvironmentId", value: String(run.environmentId) },
      { name: "Release.DefinitionEnvironmentId", value: String(environment.id) },
      { name: "Release.DeploymentId", value: String(run.deploymentId) },
      { name: "Release.AttemptNumber", value: String(identity.attempt) },
      { name: "Release.Deployment.RequestedFor", value: identity.requestedFor },
      { name: "Release.Deployment.RequestedForId", value: identity.requestedForId },
    ];
    for (const c of environment.conditions)
      if (c.kind === "artifact")
        notices.push({ where, message: `the artifact condition on ${c.name} is not checked locally` });
    const hasTrigger =
      environment.conditions.some((c) => c.kind !== "artifact") || byHand.has(environment.name.toLowerCase());
    const dependsOn = [
      ...new Set(
        environment.conditions.flatMap((c) =>
          c.kind === "environmentState" ? [names.get(c.environment.toLowerCase())!] : [],
        ),
      ),
    ];
    const jobNames = new Set<string>();
    const jobs: JobDefinition[] = [];
    for (const phase of environment.phases) {
      let name = phase.name;
      for (let n = 2; jobNames.has(name.toLowerCase()); n++) name = `${phase.name} ${n}`;
      jobNames.add(name.toLowerCase());
      // Phases run in order; one not played here (agentless) does not hold back the next.
      const previous = jobs.filter((j) => !j.unsupported).at(-1);
      jobs.push({
        name,
        displayName: phase.name,
        kind: "job",
        dependsOn: previous ? [previous.name] : [],
        condition: phase.condition,
        variables: [],
        steps: phase.tasks.map((t, i) => releaseStep(t, i + 1, catalog)),
        continueOnError: false,
        timeoutInMinutes: phase.timeoutInMinutes,
        unsupported:
          phase.kind === "agentless"
            ? "an agentless phase runs on the Azure DevOps server, not on an agent"
            : phase.kind === "unknown"
              ? "a phase of a type other than agent, agentless or deployment group"
              : undefined,
      });
      if (phase.kind === "deploymentGroup")
        notices.push({
          where: `${where} / ${name}`,
          message: "a deployment group phase runs once here, not on each target machine",
        });
      else if (phase.parallel)
        notices.push({
          where: `${where} / ${name}`,
          message: "a multi-configuration or multi-agent phase runs once here, on one agent",
        });
    }
    return {
      name: environment.name,
      displayName: environment.name,
      dependsOn,
      condition: stageCondition(environment.conditions),
      variables: [
        ...releaseVariables,
        ...environment.parameters.map(({ name, value }) => ({ name, value })),
        ...userVariables(environment.variables, where),
      ],
      jobs,
      unsupported: hasTrigger
        ? undefined
        : `it has no trigger (no ReleaseStarted or environment condition): it is deployed by hand in Azure DevOps (here: --deploy '${environment.name}')`,
    };
  });
  const definitionVariables: VariableDefinition[] = [
    { name: "System.HostType", value: "release" },
    { name: "Release.ReleaseId", value: String(identity.releaseId) },
    { name: "Release.ReleaseName", value: identity.releaseName },
    { name: "Release.ReleaseUri", value: `vstfs:///ReleaseManagement/Release/${identity.releaseId}` },
    { name: "Release.DefinitionId", value: String(identity.definitionId) },
    { name: "Release.DefinitionName", value: identity.definitionName },
    { name: "Release.Reason", value: "Manual" },
    { name: "Release.RequestedFor", value: identity.requestedFor },
    { name: "Release.RequestedForId", value: identity.requestedForId },
    // The artifacts' variables name the run's build, as the runner plays one build.
    ...release.artifacts.flatMap((a) => [
      { name: `Release.Artifacts.${a.alias}.BuildId`, value: "$(Build.BuildId)" },
      { name: `Release.Artifacts.${a.alias}.BuildNumber`, value: "$(Build.BuildNumber)" },
      { name: `Release.Artifacts.${a.alias}.SourceBranch`, value: "$(Build.SourceBranch)" },
      { name: `Release.Artifacts.${a.alias}.SourceVersion`, value: "$(Build.SourceVersion)" },
      { name: `Release.Artifacts.${a.alias}.Type`, value: a.type },
    ]),
    ...release.artifacts
      .filter((a) => a.isPrimary)
      .slice(0, 1)
      .map((a) => ({ name: "Release.PrimaryArtifactSourceAlias", value: a.alias })),
    ...userVariables(release.variables, "release variables"),
  ];
  for (const id of new Set(release.variableGroups))
    notices.push({
      where: "variable groups",
      message: `variable group ${id} is not available locally: give the variables it holds with --var (or --secret)`,
    });
  return {
    definition: { name: release.name, variables: definitionVariables, stages, notices },
    secrets,
    stageOf,
  };
}

/** The major version a classic `version` (`1.*`, `1.2.0`) asks for. */
function majorOf(version: string): number {
  return Number(version.split(".")[0]);
}

function releaseStep(task: ReleaseTask, index: number, catalog: TaskCatalog): StepDefinition {
  const built = catalog.byId(task.taskId);
  // No condition: alwaysRun decides, as the server does for tasks saved before custom conditions.
  const condition = task.condition ?? (task.alwaysRun ? "succeededOrFailed()" : undefined);
  const common = {
    index,
    name: task.refName,
    displayName: task.name || undefined,
    condition,
  };
  if (!built)
    return {
      ...common,
      kind: "unsupported",
      label: `task ${task.name || task.taskId}`,
      reason: `task ${task.taskId} is not one of this extension's tasks (${catalog.names().join(", ") || "none built"})`,
    };
  return {
    ...common,
    kind: "task",
    task: `${built.name}@${majorOf(task.version)}`,
    inputs: task.inputs,
    env: task.env,
    continueOnError: task.continueOnError,
    enabled: task.enabled,
    timeoutInMinutes: task.timeoutInMinutes || undefined,
    retryCountOnTaskFailure: task.retryCountOnTaskFailure,
  };
}
