/**
 * Reads an Azure Pipelines YAML file into the stages, jobs and steps the local runner plays.
 * It accepts the shapes Azure Pipelines accepts (stages, or just jobs, or just steps; variables
 * as a map or a list), expands `${{ parameters.x }}` / `${{ variables.x }}` template expressions,
 * and marks what it cannot run (scripts, other tasks, templates, matrix jobs...) so the runner
 * can say so instead of dropping it silently.
 */
import { parseDocument } from "yaml";
import { compileExpression, toStr, type ExprValue } from "./expressions";

export class PipelineFileError extends Error {
  override name = "PipelineFileError";
}

export interface VariableDefinition {
  name: string;
  /** As written: may hold `$(macros)` or be a whole `$[ runtime expression ]`. */
  value: string;
}

export type LifecycleHook = "onSuccess" | "onFailure";

interface StepCommon {
  /** 1-based position in the job. */
  index: number;
  name?: string;
  displayName?: string;
  condition?: string;
  /** deployment jobs' `on: success` / `on: failure` steps. */
  hook?: LifecycleHook;
}

export interface TaskStepDefinition extends StepCommon {
  kind: "task";
  /** As written, e.g. `TriggerEv2Rollout@1`. */
  task: string;
  inputs: Record<string, string>;
  env: Record<string, string>;
  continueOnError: boolean;
  enabled: boolean;
  timeoutInMinutes?: number;
  retryCountOnTaskFailure: number;
}

export interface UnsupportedStepDefinition extends StepCommon {
  kind: "unsupported";
  /** How the step reads in the file, e.g. `script: npm test`. */
  label: string;
  reason: string;
}

/** `download: current`: artifacts this run published, into `$(Pipeline.Workspace)/<artifact>`. */
export interface DownloadStepDefinition extends StepCommon {
  kind: "download";
  /** How the step reads in the file, e.g. `download: current (ev2-records)`. */
  label: string;
  /** One artifact, or every artifact of the run when not given. */
  artifact?: string;
  continueOnError: boolean;
  enabled: boolean;
}

export type StepDefinition = TaskStepDefinition | DownloadStepDefinition | UnsupportedStepDefinition;

export interface JobDefinition {
  name: string;
  displayName?: string;
  kind: "job" | "deployment";
  dependsOn: string[];
  condition?: string;
  variables: VariableDefinition[];
  steps: StepDefinition[];
  continueOnError: boolean;
  /** 0: no limit. */
  timeoutInMinutes: number;
  /** A deployment job's environment: its approvals and checks run before the stage starts. */
  environment?: string;
  /** Why the whole job cannot run here (a matrix, a template...). */
  unsupported?: string;
}

export interface StageDefinition {
  name: string;
  displayName?: string;
  dependsOn: string[];
  condition?: string;
  variables: VariableDefinition[];
  jobs: JobDefinition[];
  unsupported?: string;
}

export interface PipelineNotice {
  where: string;
  message: string;
}

export interface PipelineDefinition {
  name?: string;
  variables: VariableDefinition[];
  stages: StageDefinition[];
  /** Things in the file the runner ignores or cannot provide, said before anything runs. */
  notices: PipelineNotice[];
}

export interface ReadPipelineOptions {
  /** `--param name=value`: values for the file's `parameters`. */
  parameters?: Record<string, string>;
}

/** The name Azure Pipelines gives a pipeline's only stage or only job. */
export const implicitStageName = "__default";
export const implicitJobName = "Job";

type Json = ExprValue | undefined;
type JsonMap = { [key: string]: ExprValue };

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isMap(v: Json): v is JsonMap {
  return v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v);
}

function str(v: Json): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "object" ? JSON.stringify(v) : toStr(v);
}

function bool(v: Json, where: string, fallback: boolean): boolean {
  const s = str(v)?.trim().toLowerCase();
  if (s === undefined || s === "") return fallback;
  if (s === "true") return true;
  if (s === "false") return false;
  throw new PipelineFileError(`${where}: expected true or false, got '${str(v)}'.`);
}

function int(v: Json, where: string): number | undefined {
  const s = str(v)?.trim();
  if (s === undefined || s === "") return undefined;
  if (!/^\d+$/.test(s)) throw new PipelineFileError(`${where}: expected a whole number, got '${s}'.`);
  return Number(s);
}

function list(v: Json): ExprValue[] {
  if (v === undefined || v === null || v === "") return [];
  return Array.isArray(v) ? v : [v];
}

function names(v: Json): string[] | undefined {
  if (v === undefined) return undefined;
  return list(v).map((x) => str(x) ?? "");
}

/** Reads and checks a pipeline file's text. Throws PipelineFileError naming the place and the fix. */
export function readPipeline(text: string, options: ReadPipelineOptions = {}): PipelineDefinition {
  const doc = parseDocument(text, { schema: "failsafe", uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0)
    throw new PipelineFileError(`The file is not valid YAML: ${doc.errors.map((e) => e.message).join("\n")}`);
  const raw = doc.toJS() as Json;
  if (!isMap(raw)) throw new PipelineFileError("The file must be a YAML map with stages, jobs or steps.");
  if (raw.extends !== undefined)
    throw new PipelineFileError(
      "'extends' templates are not supported by the local runner: run the expanded pipeline instead.",
    );

  const notices: PipelineNotice[] = [];
  const parameters = readParameters(raw.parameters, options.parameters ?? {});
  const literalVariables: Record<string, ExprValue> = {};
  for (const v of readVariables(raw.variables, "variables", notices))
    if (!v.value.startsWith("$[")) literalVariables[v.name] = v.value;
  const root = expandTemplates(raw, { parameters, variables: literalVariables }, "") as JsonMap;

  const pipeline: PipelineDefinition = {
    name: str(root.name),
    variables: readVariables(root.variables, "variables", []),
    stages: [],
    notices,
  };
  if (root.stages !== undefined) {
    for (const [i, s] of list(root.stages).entries())
      pipeline.stages.push(readStage(s, i, pipeline.stages.at(-1)?.name, notices));
  } else if (root.jobs !== undefined) {
    pipeline.stages = [
      {
        name: implicitStageName,
        dependsOn: [],
        variables: [],
        jobs: readJobs(root.jobs, implicitStageName, notices),
      },
    ];
  } else if (root.steps !== undefined) {
    const job = readJob({ job: implicitJobName, steps: root.steps }, 0, implicitStageName, notices);
    pipeline.stages = [{ name: implicitStageName, dependsOn: [], variables: [], jobs: [job] }];
  } else {
    throw new PipelineFileError("The file has no stages, jobs or steps.");
  }
  checkGraph(pipeline);
  return pipeline;
}

function readParameters(declared: Json, given: Record<string, string>): Record<string, ExprValue> {
  const values: Record<string, ExprValue> = {};
  const declarations: Array<{ name: string; type: string; default?: ExprValue; values?: ExprValue[] }> = [];
  if (Array.isArray(declared)) {
    for (const d of declared) {
      if (!isMap(d) || !str(d.name)) throw new PipelineFileError("parameters: every parameter needs a name.");
      declarations.push({
        name: str(d.name)!,
        type: (str(d.type) ?? "string").toLowerCase(),
        default: d.default,
        values: d.values === undefined ? undefined : list(d.values),
      });
    }
  } else if (isMap(declared)) {
    for (const [name, value] of Object.entries(declared))
      declarations.push({ name, type: "string", default: value });
  }
  for (const name of Object.keys(given)) {
    if (!declarations.some((d) => d.name.toLowerCase() === name.toLowerCase()))
      throw new PipelineFileError(
        `--param ${name}: the pipeline has no such parameter (it has: ${declarations.map((d) => d.name).join(", ") || "none"}).`,
      );
  }
  for (const d of declarations) {
    const givenName = Object.keys(given).find((n) => n.toLowerCase() === d.name.toLowerCase());
    let value: ExprValue | undefined = givenName !== undefined ? given[givenName] : d.default;
    if (value === undefined)
      throw new PipelineFileError(
        `Parameter '${d.name}' has no default: give it with --param ${d.name}=<value>.`,
      );
    if (d.type === "boolean") {
      const s = toStr(value).toLowerCase();
      if (s !== "true" && s !== "false")
        throw new PipelineFileError(
          `Parameter '${d.name}' is a boolean: give true or false (got '${toStr(value)}').`,
        );
      value = s === "true";
    } else if (d.type === "number") {
      const n = Number(toStr(value));
      if (toStr(value).trim() === "" || Number.isNaN(n))
        throw new PipelineFileError(`Parameter '${d.name}' is a number (got '${toStr(value)}').`);
      value = n;
    }
    if (d.values && !d.values.some((allowed) => toStr(allowed) === toStr(value)))
      throw new PipelineFileError(
        `Parameter '${d.name}' must be one of ${d.values.map(toStr).join(", ")} (got '${toStr(value)}').`,
      );
    values[d.name] = value;
  }
  return values;
}

const wholeTemplate = /^\s*\$\{\{(.*)\}\}\s*$/s;
const inlineTemplate = /\$\{\{(.*?)\}\}/gs;

/** Replaces `${{ expression }}` in every value; keys with one (`${{ if }}`, `${{ each }}`) are not supported. */
function expandTemplates(node: ExprValue, values: Record<string, ExprValue>, path: string): ExprValue {
  const evaluate = (source: string): ExprValue => {
    try {
      return compileExpression(source.trim()).evaluate({ values });
    } catch (err) {
      throw new PipelineFileError(
        `${path || "the file"}: template expression \${{${source}}}: ${(err as Error).message}`,
      );
    }
  };
  if (typeof node === "string") {
    if (!node.includes("${{")) return node;
    const whole = wholeTemplate.exec(node);
    if (whole && !whole[1].includes("}}")) return evaluate(whole[1]);
    return node.replace(inlineTemplate, (_m, source: string) => toStr(evaluate(source)));
  }
  if (Array.isArray(node)) return node.map((item, i) => expandTemplates(item, values, `${path}[${i}]`));
  if (isMap(node)) {
    const out: JsonMap = {};
    for (const [key, value] of Object.entries(node)) {
      if (key.includes("${{"))
        throw new PipelineFileError(
          `${path || "the file"}: '${key}' — conditional or loop template expressions (\${{ if }}, \${{ each }}) are not supported by the local runner.`,
        );
      out[key] = expandTemplates(value, values, path ? `${path}.${key}` : key);
    }
    return out;
  }
  return node;
}

function readVariables(v: Json, where: string, notices: PipelineNotice[]): VariableDefinition[] {
  if (v === undefined || v === null || v === "") return [];
  if (isMap(v)) return Object.entries(v).map(([name, value]) => ({ name, value: str(value) ?? "" }));
  if (!Array.isArray(v)) throw new PipelineFileError(`${where}: expected a map or a list of variables.`);
  const out: VariableDefinition[] = [];
  for (const item of v) {
    if (!isMap(item))
      throw new PipelineFileError(`${where}: each list item needs name and value, group or template.`);
    if (item.group !== undefined) {
      notices.push({
        where,
        message: `variable group '${str(item.group)}' is not available locally: give its values with --var name=value (or --secret name for secrets).`,
      });
    } else if (item.template !== undefined) {
      notices.push({
        where,
        message: `variable template '${str(item.template)}' is not expanded locally: give its values with --var.`,
      });
    } else if (item.name !== undefined) {
      out.push({ name: str(item.name)!, value: str(item.value) ?? "" });
    } else {
      throw new PipelineFileError(
        `${where}: a list item needs 'name' (with 'value'), 'group' or 'template'.`,
      );
    }
  }
  return out;
}

function readStage(
  s: ExprValue,
  i: number,
  previous: string | undefined,
  notices: PipelineNotice[],
): StageDefinition {
  if (!isMap(s)) throw new PipelineFileError(`stages[${i}]: expected a stage.`);
  if (s.template !== undefined)
    return {
      name: `template_${i + 1}`,
      displayName: `template: ${str(s.template)}`,
      dependsOn: [],
      variables: [],
      jobs: [],
      unsupported: `stage templates are not expanded by the local runner (${str(s.template)})`,
    };
  const name = str(s.stage) || `Stage_${i + 1}`;
  checkName(name, `stages[${i}]`, "stage");
  const where = `stage ${name}`;
  return {
    name,
    displayName: str(s.displayName),
    // Stages depend on the one before them unless they say otherwise.
    dependsOn: names(s.dependsOn) ?? (previous === undefined ? [] : [previous]),
    condition: str(s.condition),
    variables: readVariables(s.variables, `${where} variables`, notices),
    jobs: readJobs(s.jobs, name, notices),
  };
}

function readJobs(v: Json, stage: string, notices: PipelineNotice[]): JobDefinition[] {
  const jobs = list(v).map((j, i) => readJob(j, i, stage, notices));
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name.toLowerCase()))
      throw new PipelineFileError(`stage ${stage}: two jobs are named '${job.name}'.`);
    seen.add(job.name.toLowerCase());
  }
  return jobs;
}

function readJob(j: ExprValue, i: number, stage: string, notices: PipelineNotice[]): JobDefinition {
  if (!isMap(j)) throw new PipelineFileError(`stage ${stage} jobs[${i}]: expected a job.`);
  const base = {
    dependsOn: names(j.dependsOn) ?? [],
    condition: str(j.condition),
    displayName: str(j.displayName),
    continueOnError: bool(j.continueOnError, `stage ${stage} jobs[${i}] continueOnError`, false),
    timeoutInMinutes: int(j.timeoutInMinutes, `stage ${stage} jobs[${i}] timeoutInMinutes`) ?? 60,
    steps: [] as StepDefinition[],
  };
  if (j.template !== undefined)
    return {
      ...base,
      name: `template_${i + 1}`,
      displayName: `template: ${str(j.template)}`,
      kind: "job",
      variables: [],
      unsupported: `job templates are not expanded by the local runner (${str(j.template)})`,
    };
  const kind = j.deployment !== undefined ? "deployment" : "job";
  const name =
    str(kind === "deployment" ? j.deployment : j.job) || (i === 0 ? implicitJobName : `Job_${i + 1}`);
  checkName(name, `stage ${stage} jobs[${i}]`, "job");
  const where = `stage ${stage} / job ${name}`;
  const job: JobDefinition = {
    ...base,
    name,
    kind,
    variables: readVariables(j.variables, `${where} variables`, notices),
  };
  if (j.container !== undefined)
    notices.push({ where, message: "container: the job's tasks run on this machine, not in the container." });
  if (j.services !== undefined)
    notices.push({ where, message: "services: service containers are not started by the local runner." });

  if (kind === "deployment") {
    const environment = isMap(j.environment) ? str(j.environment.name) : str(j.environment);
    if (environment) job.environment = environment;
    const strategy = j.strategy;
    const runOnce = isMap(strategy) ? strategy.runOnce : undefined;
    if (!isMap(strategy) || !isMap(runOnce)) {
      const which = isMap(strategy) ? Object.keys(strategy).join(", ") : "none";
      job.unsupported = `deployment strategy '${which}' is not supported locally (only runOnce)`;
      return job;
    }
    const raw: Array<{ steps: Json; hook?: LifecycleHook }> = [];
    for (const phase of ["preDeploy", "deploy", "routeTraffic", "postRouteTraffic"]) {
      const p = runOnce[phase];
      if (isMap(p)) raw.push({ steps: p.steps });
    }
    const on = runOnce.on;
    if (isMap(on)) {
      if (isMap(on.failure)) raw.push({ steps: on.failure.steps, hook: "onFailure" });
      if (isMap(on.success)) raw.push({ steps: on.success.steps, hook: "onSuccess" });
    }
    for (const r of raw)
      for (const s of list(r.steps).filter(doesSomething))
        job.steps.push(readStep(s, job.steps.length + 1, where, r.hook));
  } else {
    if (isMap(j.strategy) && (j.strategy.matrix !== undefined || j.strategy.parallel !== undefined)) {
      job.unsupported = "matrix and parallel strategies are not supported locally";
      return job;
    }
    job.steps = list(j.steps)
      .filter(doesSomething)
      .map((s, k) => readStep(s, k + 1, where));
  }
  const seen = new Set<string>();
  for (const step of job.steps) {
    if (!step.name) continue;
    if (seen.has(step.name.toLowerCase()))
      throw new PipelineFileError(`${where}: two steps are named '${step.name}'.`);
    seen.add(step.name.toLowerCase());
  }
  return job;
}

const stepKinds: Record<string, string> = {
  script: "script steps are not run by the local runner (it runs this extension's tasks only)",
  bash: "Bash steps are not run by the local runner (it runs this extension's tasks only)",
  pwsh: "PowerShell steps are not run by the local runner (it runs this extension's tasks only)",
  powershell: "PowerShell steps are not run by the local runner (it runs this extension's tasks only)",
  checkout: "nothing is checked out locally: the tasks run in the working folder",
  download: "only this run's own artifacts (download: current) are downloaded locally",
  downloadBuild: "build artifacts are not downloaded locally",
  publish:
    "pipeline artifacts are not published locally (tasks' own artifacts are collected into the output folder)",
  getPackage: "packages are not downloaded locally",
  reviewApp: "review apps are not created locally",
  template: "step templates are not expanded by the local runner",
};

/** `checkout: none` and `download: none` ask for nothing, which is exactly what happens locally: not steps to list. */
function doesSomething(step: ExprValue): boolean {
  return !(
    isMap(step) &&
    (str(step.checkout)?.trim().toLowerCase() === "none" ||
      str(step.download)?.trim().toLowerCase() === "none")
  );
}

function readStep(s: ExprValue, index: number, where: string, hook?: LifecycleHook): StepDefinition {
  const at = `${where} / step ${index}`;
  if (!isMap(s)) throw new PipelineFileError(`${at}: expected a step (task, script, checkout...).`);
  const name = str(s.name);
  if (name !== undefined) checkName(name, at, "step");
  const common: StepCommon = {
    index,
    name,
    displayName: str(s.displayName),
    condition: str(s.condition),
    hook,
  };
  if (s.task !== undefined) {
    const inputs: Record<string, string> = {};
    if (s.inputs !== undefined && s.inputs !== "" && !isMap(s.inputs))
      throw new PipelineFileError(`${at}: inputs must be a map of input names to values.`);
    for (const [k, v] of Object.entries(isMap(s.inputs) ? s.inputs : {})) inputs[k] = str(v) ?? "";
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(isMap(s.env) ? s.env : {})) env[k] = str(v) ?? "";
    return {
      ...common,
      kind: "task",
      task: str(s.task) ?? "",
      inputs,
      env,
      continueOnError: bool(s.continueOnError, `${at} continueOnError`, false),
      enabled: bool(s.enabled, `${at} enabled`, true),
      timeoutInMinutes: int(s.timeoutInMinutes, `${at} timeoutInMinutes`),
      retryCountOnTaskFailure: int(s.retryCountOnTaskFailure, `${at} retryCountOnTaskFailure`) ?? 0,
    };
  }
  if (str(s.download)?.trim().toLowerCase() === "current") {
    const artifact = str(s.artifact)?.trim() || undefined;
    return {
      ...common,
      kind: "download",
      label: `download: current${artifact ? ` (${artifact})` : ""}`,
      artifact,
      continueOnError: bool(s.continueOnError, `${at} continueOnError`, false),
      enabled: bool(s.enabled, `${at} enabled`, true),
    };
  }
  const kind = Object.keys(stepKinds).find((k) => s[k] !== undefined);
  if (kind) {
    const body = (str(s[kind]) ?? "").split("\n")[0].trim();
    const label = `${kind}: ${body.length > 60 ? `${body.slice(0, 57)}...` : body}`;
    return { ...common, kind: "unsupported", label, reason: stepKinds[kind] };
  }
  const keys = Object.keys(s).join(", ");
  return {
    ...common,
    kind: "unsupported",
    label: `{ ${keys} }`,
    reason: "not a kind of step the local runner knows",
  };
}

function checkName(name: string, where: string, what: string): void {
  if (!identifier.test(name))
    throw new PipelineFileError(
      `${where}: '${name}' is not a valid ${what} name: use letters, digits and '_', not starting with a digit.`,
    );
}

/** dependsOn names must exist and must not form a cycle, as Azure Pipelines checks before a run. */
function checkGraph(pipeline: PipelineDefinition): void {
  const stages = pipeline.stages;
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.name.toLowerCase()))
      throw new PipelineFileError(`Two stages are named '${stage.name}'.`);
    seen.add(stage.name.toLowerCase());
  }
  checkDependencies(
    stages.map((s) => ({ name: s.name, dependsOn: s.dependsOn })),
    "stage",
  );
  for (const stage of stages)
    checkDependencies(
      stage.jobs.map((j) => ({ name: j.name, dependsOn: j.dependsOn })),
      `job in stage ${stage.name}:`,
    );
}

function checkDependencies(nodes: Array<{ name: string; dependsOn: string[] }>, what: string): void {
  const byName = new Map(nodes.map((n) => [n.name.toLowerCase(), n]));
  for (const n of nodes)
    for (const d of n.dependsOn)
      if (!byName.has(d.toLowerCase()))
        throw new PipelineFileError(
          `${what} ${n.name} depends on '${d}', which does not exist (there are: ${nodes.map((x) => x.name).join(", ")}).`,
        );
  const state = new Map<string, "visiting" | "done">();
  const visit = (n: { name: string; dependsOn: string[] }, path: string[]) => {
    const key = n.name.toLowerCase();
    if (state.get(key) === "done") return;
    if (state.get(key) === "visiting")
      throw new PipelineFileError(`${what} dependsOn forms a cycle: ${[...path, n.name].join(" → ")}.`);
    state.set(key, "visiting");
    for (const d of n.dependsOn) visit(byName.get(d.toLowerCase())!, [...path, n.name]);
    state.set(key, "done");
  };
  for (const n of nodes) visit(n, []);
}

/** The order to run things in: dependencies first, otherwise as written. */
export function runOrder<T extends { name: string; dependsOn: string[] }>(nodes: T[]): T[] {
  const done = new Set<string>();
  const order: T[] = [];
  while (order.length < nodes.length) {
    const next = nodes.find(
      (n) => !done.has(n.name.toLowerCase()) && n.dependsOn.every((d) => done.has(d.toLowerCase())),
    );
    if (!next) break; // cycles were rejected when reading
    done.add(next.name.toLowerCase());
    order.push(next);
  }
  return order;
}
