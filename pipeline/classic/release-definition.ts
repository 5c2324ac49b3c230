/**
 * A classic release definition as Azure DevOps exports it (the JSON of "Export" in the release
 * editor, or `GET _apis/release/definitions/{id}`), read into what the local runner plays:
 * environments with their trigger conditions, approvals and gates, agent phases and their
 * workflow tasks. The field names and enums are those of azure-devops-node-api's
 * ReleaseInterfaces (ConditionType, EnvironmentStatus, ApprovalExecutionOrder, DeployPhaseTypes);
 * enums are accepted as numbers (what the REST API writes) or as their names.
 */
import { PipelineFileError } from "../pipeline-file";

export interface ReleaseVariable {
  name: string;
  /** Empty for a secret: an export never holds a secret's value. */
  value: string;
  secret: boolean;
}

/** The `EnvironmentStatus` bits an `environmentState` condition accepts. */
export const environmentStatus = {
  notStarted: 1,
  inProgress: 2,
  succeeded: 4,
  canceled: 8,
  rejected: 16,
  queued: 32,
  scheduled: 64,
  partiallySucceeded: 128,
} as const;

export type EnvironmentCondition =
  | { kind: "releaseStarted" }
  /** `states`: EnvironmentStatus bits, e.g. 4 (succeeded) or 132 (succeeded or partially). */
  | { kind: "environmentState"; environment: string; states: number }
  | { kind: "artifact"; name: string };

export interface ReleaseApprover {
  displayName: string;
  uniqueName?: string;
  id?: string;
  /** A group (e.g. `[Contoso]\Release Approvers`): a member decides. */
  isGroup: boolean;
}

export type ApprovalOrder = "beforeGates" | "afterSuccessfulGates" | "afterGatesAlways";

export interface ApprovalStep {
  /** No approvers: Azure DevOps approves on its own (`isAutomated`). */
  automated: boolean;
  approvers: ReleaseApprover[];
  /**
   * Whether approvals are asked before or after the gates (`approvalOptions.executionOrder`;
   * when absent: before for pre-deployment, after successful gates for post-deployment).
   */
  order: ApprovalOrder;
  /** 0: any one approver suffices (with several, all must approve unless a count is set). */
  requiredApproverCount: number;
}

export interface GateStep {
  enabled: boolean;
  /** All in minutes, as the release editor stores them. */
  timeoutMinutes: number;
  samplingIntervalMinutes: number;
  stabilizationMinutes: number;
  minimumSuccessMinutes: number;
  tasks: ReleaseTask[];
}

export interface ReleaseTask {
  taskId: string;
  /** As written, e.g. `1.*`. */
  version: string;
  /** The display name. */
  name: string;
  /** The reference name: its output variables are `$(refName.variable)` in later tasks of the phase. */
  refName?: string;
  enabled: boolean;
  alwaysRun: boolean;
  continueOnError: boolean;
  condition?: string;
  timeoutInMinutes: number;
  retryCountOnTaskFailure: number;
  inputs: Record<string, string>;
  env: Record<string, string>;
}

export type PhaseKind = "agent" | "agentless" | "deploymentGroup" | "unknown";

export interface DeployPhase {
  name: string;
  refName?: string;
  rank: number;
  kind: PhaseKind;
  /** The phase's own condition (`deploymentInput.condition`). */
  condition?: string;
  timeoutInMinutes: number;
  /** `deploymentInput.parallelExecution`: several agents (multi-configuration or multi-agent). */
  parallel: boolean;
  tasks: ReleaseTask[];
}

export interface ReleaseEnvironment {
  id: number;
  name: string;
  rank: number;
  variables: ReleaseVariable[];
  /**
   * Task-group style process parameters (`processParameters.inputs`): each one's
   * `defaultValue` is `$(Parameters.<name>)` in the environment's task inputs.
   */
  parameters: ReleaseVariable[];
  conditions: EnvironmentCondition[];
  preApprovals: ApprovalStep;
  postApprovals: ApprovalStep;
  preGates: GateStep;
  postGates: GateStep;
  phases: DeployPhase[];
}

export interface ReleaseArtifact {
  alias: string;
  /** `Build`, `Git`, ... */
  type: string;
  isPrimary: boolean;
}

export interface ReleaseDefinition {
  id: number;
  name: string;
  variables: ReleaseVariable[];
  /** Variable group ids (definition and environments): not available locally. */
  variableGroups: number[];
  artifacts: ReleaseArtifact[];
  /** By rank. */
  environments: ReleaseEnvironment[];
}

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** The JSON of a file saved with a byte order mark (as Windows editors save an export) too. */
const parseJson = (text: string): Json => JSON.parse(text.replace(/^\uFEFF/, ""));

/** Whether the text is a release definition (JSON with `environments`), not a YAML pipeline. */
export function looksLikeReleaseDefinition(text: string): boolean {
  try {
    const parsed: Json = parseJson(text);
    return isObject(parsed) && Array.isArray(parsed.environments);
  } catch {
    return false;
  }
}

export function readReleaseDefinition(text: string): ReleaseDefinition {
  let parsed: Json;
  try {
    parsed = parseJson(text);
  } catch (err) {
    throw new PipelineFileError(`the release definition is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.environments))
    throw new PipelineFileError(
      "a release definition is a JSON object with an `environments` array (export it from the release editor).",
    );
  const environments = parsed.environments.map((e, i) => readEnvironment(e, `environments[${i}]`));
  if (environments.length === 0) throw new PipelineFileError("environments: the release has no environment.");
  const names = new Set<string>();
  for (const e of environments) {
    if (names.has(e.name.toLowerCase()))
      throw new PipelineFileError(`environments: two environments are named '${e.name}'.`);
    names.add(e.name.toLowerCase());
  }
  for (const e of environments)
    for (const c of e.conditions)
      if (c.kind === "environmentState" && !names.has(c.environment.toLowerCase()))
        throw new PipelineFileError(
          `environment '${e.name}': its condition names environment '${c.environment}', which the release does not have (${[...names].join(", ")}).`,
        );
  return {
    id: integer(parsed.id, "id", 1),
    name: text_(parsed.name, "name") || "Release",
    variables: readVariables(parsed.variables, "variables"),
    variableGroups: [
      ...numbers(parsed.variableGroups, "variableGroups"),
      ...parsed.environments.flatMap((e, i) =>
        isObject(e) ? numbers(e.variableGroups, `environments[${i}].variableGroups`) : [],
      ),
    ],
    artifacts: (Array.isArray(parsed.artifacts) ? parsed.artifacts : []).flatMap((a, i) => {
      if (!isObject(a)) return [];
      const alias = text_(a.alias, `artifacts[${i}].alias`).trim();
      return alias
        ? [
            {
              alias,
              type: text_(a.type, `artifacts[${i}].type`) || "Build",
              isPrimary: flag(a.isPrimary, `artifacts[${i}].isPrimary`, false),
            },
          ]
        : [];
    }),
    environments: environments.sort((a, b) => a.rank - b.rank),
  };
}

function text_(v: Json, where: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new PipelineFileError(`${where}: expected a string, got ${JSON.stringify(v)}.`);
}

function integer(v: Json, where: string, fallback: number): number {
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n))
    throw new PipelineFileError(`${where}: expected a whole number, got ${JSON.stringify(v)}.`);
  return n;
}

function numbers(v: Json, where: string): number[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PipelineFileError(`${where}: expected a list of variable group ids.`);
  return v.map((n, i) => integer(n, `${where}[${i}]`, 0));
}

function flag(v: Json, where: string, fallback: boolean): boolean {
  if (v === undefined || v === null || v === "") return fallback;
  if (typeof v === "boolean") return v;
  if (typeof v === "string" && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === "true";
  throw new PipelineFileError(`${where}: expected true or false, got ${JSON.stringify(v)}.`);
}

/** An enum written as its number or its name (case-insensitive). */
function enumValue(v: Json, where: string, names: Record<string, number>): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (/^\d+$/.test(v.trim())) return Number(v);
    const found = Object.entries(names).find(([n]) => n.toLowerCase() === v.trim().toLowerCase());
    if (found) return found[1];
  }
  throw new PipelineFileError(
    `${where}: expected one of ${Object.entries(names)
      .map(([n, k]) => `${k} (${n})`)
      .join(", ")}, got ${JSON.stringify(v)}.`,
  );
}

function stringMap(v: Json, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected an object of name: value.`);
  return Object.fromEntries(Object.entries(v).map(([k, value]) => [k, text_(value, `${where}.${k}`)]));
}

function readVariables(v: Json, where: string): ReleaseVariable[] {
  if (v === undefined || v === null) return [];
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected an object of name: { value, isSecret }.`);
  return Object.entries(v).map(([name, entry]) => {
    const at = `${where}.${name}`;
    if (!isObject(entry)) return { name, value: text_(entry, at), secret: false };
    return {
      name,
      value: text_(entry.value, `${at}.value`),
      secret: flag(entry.isSecret, `${at}.isSecret`, false),
    };
  });
}

const conditionTypes = { undefined: 0, event: 1, environmentState: 2, artifact: 4 };
const approvalOrders = { beforeGates: 1, afterSuccessfulGates: 2, afterGatesAlways: 4 };
const phaseTypes = {
  undefined: 0,
  agentBasedDeployment: 1,
  runOnServer: 2,
  machineGroupBasedDeployment: 4,
  deploymentGates: 8,
};

function readEnvironment(v: Json, where: string): ReleaseEnvironment {
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected an environment object.`);
  const name = text_(v.name, `${where}.name`).trim();
  if (!name) throw new PipelineFileError(`${where}.name: every environment needs a name.`);
  const at = `environment '${name}'`;
  const conditions: EnvironmentCondition[] = [];
  for (const [i, c] of (Array.isArray(v.conditions) ? v.conditions : []).entries()) {
    if (!isObject(c)) throw new PipelineFileError(`${at}: conditions[${i}] is not an object.`);
    const type = enumValue(c.conditionType, `${at}: conditions[${i}].conditionType`, conditionTypes);
    const cname = text_(c.name, `${at}: conditions[${i}].name`);
    if (type === conditionTypes.event) {
      if (cname.toLowerCase() !== "releasestarted")
        throw new PipelineFileError(
          `${at}: conditions[${i}] is the event '${cname}'; the only event a release has is ReleaseStarted.`,
        );
      conditions.push({ kind: "releaseStarted" });
    } else if (type === conditionTypes.environmentState) {
      const value = text_(c.value, `${at}: conditions[${i}].value`).trim();
      if (!/^\d+$/.test(value) || Number(value) === 0)
        throw new PipelineFileError(
          `${at}: conditions[${i}].value must be EnvironmentStatus bits such as "4" (succeeded) or "132" (succeeded or partially succeeded), got '${value}'.`,
        );
      conditions.push({ kind: "environmentState", environment: cname, states: Number(value) });
    } else if (type === conditionTypes.artifact) {
      conditions.push({ kind: "artifact", name: cname });
    } else
      throw new PipelineFileError(`${at}: conditions[${i}] has conditionType ${type}, which is not defined.`);
  }
  const phases = (Array.isArray(v.deployPhases) ? v.deployPhases : []).map((p, i) =>
    readPhase(p, `${at}: deployPhases[${i}]`),
  );
  return {
    id: integer(v.id, `${at}: id`, 0),
    name,
    rank: integer(v.rank, `${at}: rank`, 0),
    variables: readVariables(v.variables, `${at}: variables`),
    parameters: readProcessParameters(v.processParameters, `${at}: processParameters`),
    conditions,
    preApprovals: readApprovals(v.preDeployApprovals, `${at}: preDeployApprovals`, "beforeGates"),
    postApprovals: readApprovals(v.postDeployApprovals, `${at}: postDeployApprovals`, "afterSuccessfulGates"),
    preGates: readGates(v.preDeploymentGates, `${at}: preDeploymentGates`),
    postGates: readGates(v.postDeploymentGates, `${at}: postDeploymentGates`),
    phases: phases.sort((a, b) => a.rank - b.rank),
  };
}

function readProcessParameters(v: Json, where: string): ReleaseVariable[] {
  if (!isObject(v) || !Array.isArray(v.inputs)) return [];
  return v.inputs.flatMap((input, i) => {
    if (!isObject(input)) return [];
    const name = text_(input.name, `${where}.inputs[${i}].name`).trim();
    return name
      ? [
          {
            name: `Parameters.${name}`,
            value: text_(input.defaultValue, `${where}.inputs[${i}].defaultValue`),
            secret: false,
          },
        ]
      : [];
  });
}

function readApprovals(v: Json, where: string, order: ApprovalOrder): ApprovalStep {
  const step: ApprovalStep = { automated: true, approvers: [], order, requiredApproverCount: 0 };
  if (v === undefined || v === null) return step;
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected { approvals, approvalOptions }.`);
  for (const [i, a] of (Array.isArray(v.approvals) ? v.approvals : []).entries()) {
    if (!isObject(a)) throw new PipelineFileError(`${where}.approvals[${i}]: expected an object.`);
    if (flag(a.isAutomated, `${where}.approvals[${i}].isAutomated`, false)) continue;
    if (!isObject(a.approver))
      throw new PipelineFileError(
        `${where}.approvals[${i}]: a manual approval (isAutomated false) names its approver ({ displayName, uniqueName }).`,
      );
    const displayName = text_(a.approver.displayName, `${where}.approvals[${i}].approver.displayName`);
    const uniqueName =
      text_(a.approver.uniqueName, `${where}.approvals[${i}].approver.uniqueName`) || undefined;
    step.approvers.push({
      displayName: displayName || uniqueName || "approver",
      uniqueName,
      id: text_(a.approver.id, `${where}.approvals[${i}].approver.id`) || undefined,
      isGroup:
        flag(a.approver.isContainer, `${where}.approvals[${i}].approver.isContainer`, false) ||
        /^\[[^\]]+\]\\/.test(displayName),
    });
  }
  step.automated = step.approvers.length === 0;
  if (isObject(v.approvalOptions)) {
    const order = v.approvalOptions.executionOrder;
    if (order !== undefined && order !== null) {
      const n = enumValue(order, `${where}.approvalOptions.executionOrder`, approvalOrders);
      step.order = n === 2 ? "afterSuccessfulGates" : n === 4 ? "afterGatesAlways" : "beforeGates";
    }
    step.requiredApproverCount = integer(
      v.approvalOptions.requiredApproverCount,
      `${where}.approvalOptions.requiredApproverCount`,
      0,
    );
  }
  return step;
}

function readGates(v: Json, where: string): GateStep {
  const step: GateStep = {
    enabled: false,
    timeoutMinutes: 15,
    samplingIntervalMinutes: 5,
    stabilizationMinutes: 0,
    minimumSuccessMinutes: 0,
    tasks: [],
  };
  if (v === undefined || v === null) return step;
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected { gatesOptions, gates }.`);
  const options = v.gatesOptions;
  for (const [i, g] of (Array.isArray(v.gates) ? v.gates : []).entries()) {
    if (!isObject(g) || !Array.isArray(g.tasks))
      throw new PipelineFileError(`${where}.gates[${i}]: expected { tasks: [...] }.`);
    step.tasks.push(...g.tasks.map((t, k) => readTask(t, `${where}.gates[${i}].tasks[${k}]`)));
  }
  if (isObject(options)) {
    const minutes = (key: string, fallback: number) => {
      const n = integer(options[key], `${where}.gatesOptions.${key}`, fallback);
      if (n < 0)
        throw new PipelineFileError(`${where}.gatesOptions.${key}: minutes cannot be negative (got ${n}).`);
      return n;
    };
    step.enabled = flag(options.isEnabled, `${where}.gatesOptions.isEnabled`, step.tasks.length > 0);
    step.timeoutMinutes = minutes("timeout", step.timeoutMinutes);
    step.samplingIntervalMinutes = minutes("samplingInterval", step.samplingIntervalMinutes);
    step.stabilizationMinutes = minutes("stabilizationTime", step.stabilizationMinutes);
    step.minimumSuccessMinutes = minutes("minimumSuccessDuration", step.minimumSuccessMinutes);
    if (step.enabled && step.samplingIntervalMinutes === 0)
      throw new PipelineFileError(`${where}.gatesOptions.samplingInterval: must be at least 1 minute.`);
  } else step.enabled = false;
  step.tasks = step.tasks.filter((t) => t.enabled);
  if (step.tasks.length === 0) step.enabled = false;
  return step;
}

function readPhase(v: Json, where: string): DeployPhase {
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected a deploy phase object.`);
  const type = enumValue(v.phaseType ?? 1, `${where}.phaseType`, phaseTypes);
  const input = isObject(v.deploymentInput) ? v.deploymentInput : {};
  const condition = text_(input.condition, `${where}.deploymentInput.condition`).trim();
  return {
    name: text_(v.name, `${where}.name`).trim() || "Agent job",
    refName: text_(v.refName, `${where}.refName`).trim() || undefined,
    rank: integer(v.rank, `${where}.rank`, 0),
    kind:
      type === phaseTypes.agentBasedDeployment
        ? "agent"
        : type === phaseTypes.runOnServer
          ? "agentless"
          : type === phaseTypes.machineGroupBasedDeployment
            ? "deploymentGroup"
            : "unknown",
    condition: condition || undefined,
    timeoutInMinutes: integer(input.timeoutInMinutes, `${where}.deploymentInput.timeoutInMinutes`, 0),
    parallel:
      isObject(input.parallelExecution) &&
      integer(
        input.parallelExecution.parallelExecutionType,
        `${where}.deploymentInput.parallelExecution.parallelExecutionType`,
        0,
      ) !== 0,
    tasks: (Array.isArray(v.workflowTasks) ? v.workflowTasks : []).map((t, i) =>
      readTask(t, `${where}.workflowTasks[${i}]`),
    ),
  };
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function readTask(v: Json, where: string): ReleaseTask {
  if (!isObject(v)) throw new PipelineFileError(`${where}: expected a task object.`);
  const taskId = text_(v.taskId, `${where}.taskId`).trim();
  if (!guid.test(taskId))
    throw new PipelineFileError(`${where}.taskId: expected the task's GUID (task.json id), got '${taskId}'.`);
  const version = text_(v.version, `${where}.version`).trim() || "1.*";
  if (!/^\d+(\.(\d+|\*)){0,2}$/.test(version))
    throw new PipelineFileError(
      `${where}.version: expected a version such as 1.* or 1.2.0, got '${version}'.`,
    );
  const condition = text_(v.condition, `${where}.condition`).trim();
  return {
    taskId: taskId.toLowerCase(),
    version,
    name: text_(v.name, `${where}.name`).trim(),
    refName: text_(v.refName, `${where}.refName`).trim() || undefined,
    enabled: flag(v.enabled, `${where}.enabled`, true),
    alwaysRun: flag(v.alwaysRun, `${where}.alwaysRun`, false),
    continueOnError: flag(v.continueOnError, `${where}.continueOnError`, false),
    condition: condition || undefined,
    timeoutInMinutes: integer(v.timeoutInMinutes, `${where}.timeoutInMinutes`, 0),
    retryCountOnTaskFailure: integer(v.retryCountOnTaskFailure, `${where}.retryCountOnTaskFailure`, 0),
    inputs: stringMap(v.inputs, `${where}.inputs`),
    env: stringMap(v.environment, `${where}.environment`),
  };
}
