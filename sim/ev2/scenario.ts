import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as z from "zod";

/** Where the bundled scenarios (`small`, `gated`, ...) live. */
export const BUNDLED_SCENARIO_DIR = path.resolve(__dirname, "../scenarios");

const isoDateTime = z
  .string()
  .refine(
    (text) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) &&
      !Number.isNaN(Date.parse(text)),
    { message: "must be an ISO-8601 UTC date-time such as 2025-01-31T12:00:00Z" },
  );
const nonEmpty = z.string().min(1, { message: "must not be empty" });
// Region names end up inside scope strings, so they follow the scope grammar's name rule.
const scopeName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, { message: "must match [A-Za-z0-9_-]+ (a scope name)" });
const versionStatus = z.enum(["Active", "Deprecated"]).default("Active");

const artifactVersionSchema = z.strictObject({
  versionNumber: nonEmpty,
  registrationDate: isoDateTime,
  status: versionStatus,
});

const stageMapVersionSchema = z.strictObject({
  version: nonEmpty,
  registrationDate: isoDateTime,
  status: versionStatus,
});

const regionSchema = z.strictObject({
  name: scopeName,
  durationSeconds: z.number().positive({ message: "must be > 0 (simulated seconds)" }),
});

const stageSchema = z.strictObject({
  name: nonEmpty,
  regions: z.array(regionSchema).min(1, { message: "a stage needs at least one region" }),
});

const waitActionSchema = z.strictObject({
  actionId: nonEmpty,
  /** The stage this action guards: it waits for a decision before that stage starts. */
  beforeStage: nonEmpty,
  reason: z.literal("ManualApproval").default("ManualApproval"),
});

const failureSchema = z.strictObject({
  stage: nonEmpty,
  region: nonEmpty,
  errorCode: nonEmpty,
  message: nonEmpty,
  /** true: the region fails on its first attempt only, so a restart fixes it; false: it fails on every attempt. */
  restartable: z.boolean(),
  /** Simulated seconds after the region starts when it fails; default its full duration. */
  afterSeconds: z.number().nonnegative().optional(),
});

const environmentOverrideSchema = z.strictObject({
  /** Replace the stage map's wait actions in this environment. */
  waitActions: z.array(waitActionSchema).optional(),
  /** Replace the stage map's failures in this environment. */
  failures: z.array(failureSchema).optional(),
  /** Multiplies every region duration in this environment. */
  durationScale: z.number().positive().optional(),
});

const stageMapSchema = z.strictObject({
  name: nonEmpty,
  versions: z.array(stageMapVersionSchema).min(1, { message: "a stage map needs at least one version" }),
  stages: z.array(stageSchema).min(1, { message: "a stage map needs at least one stage" }),
  waitActions: z.array(waitActionSchema).default([]),
  failures: z.array(failureSchema).default([]),
  environments: z.record(z.string(), environmentOverrideSchema).default({}),
});

const historicalRolloutSchema = z.strictObject({
  rolloutId: z.uuid({ message: "must be a GUID" }).optional(),
  environment: nonEmpty,
  artifactVersionNumber: nonEmpty,
  /** Default: the service's first stage map. */
  stageMapName: nonEmpty.optional(),
  /** Default: the stage map's newest version. */
  stageMapVersion: nonEmpty.optional(),
  /** How long before the simulator starts this rollout was created (it must be over by then). */
  ageHours: z.number().positive(),
  outcome: z.enum(["Completed", "Failed"]),
  /** Required when outcome is Failed. */
  failure: failureSchema.optional(),
  tags: z.record(z.string(), z.string()).default({}),
});

const serviceSchema = z.strictObject({
  id: nonEmpty,
  environments: z.array(nonEmpty).min(1, { message: "a service needs at least one environment" }),
  artifactVersions: z.array(artifactVersionSchema),
  stageMaps: z.array(stageMapSchema).min(1, { message: "a service needs at least one stage map" }),
  history: z.array(historicalRolloutSchema).default([]),
});

const serviceGroupSchema = z.strictObject({
  name: nonEmpty,
  services: z.array(serviceSchema).min(1, { message: "a service group needs at least one service" }),
});

const scenarioShapeSchema = z.strictObject({
  name: nonEmpty,
  description: z.string().optional(),
  /** Simulated seconds between creating a rollout and its first stage starting (status NotStarted). */
  startDelaySeconds: z.number().nonnegative().default(5),
  /** The rollouts' dashboardUrl is this followed by the rollout id (any text: tests send hostile ones). */
  dashboardBaseUrl: z.string().optional(),
  serviceGroups: z
    .array(serviceGroupSchema)
    .min(1, { message: "a scenario needs at least one service group" }),
});

export const scenarioSchema = scenarioShapeSchema.superRefine(checkReferences);

/** A scenario as written in JSON (defaults not yet applied). */
export type Scenario = z.input<typeof scenarioSchema>;
/** A validated scenario with defaults applied. */
export type ValidScenario = z.output<typeof scenarioSchema>;
export type ScenarioService = z.output<typeof serviceSchema>;
export type ScenarioStageMap = z.output<typeof stageMapSchema>;
export type ScenarioStage = z.output<typeof stageSchema>;
export type ScenarioWaitAction = z.output<typeof waitActionSchema>;
export type ScenarioFailure = z.output<typeof failureSchema>;
export type ScenarioHistoricalRollout = z.output<typeof historicalRolloutSchema>;

/** A scenario that does not parse or does not hold together; `issues` lists every problem, one a line. */
export class ScenarioError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`Invalid EV2 simulator scenario ${source}:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
    this.name = "ScenarioError";
  }
}

/**
 * Loads and validates a scenario given as an object, a path to a JSON file, or the name of a
 * bundled scenario (`small` → sim/scenarios/small.json).
 */
export function loadScenario(scenario: Scenario | string): ValidScenario {
  if (typeof scenario !== "string") return validateScenario(scenario, "(object)");
  const file = resolveScenarioFile(scenario);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ScenarioError(file, [`cannot read it as JSON: ${(error as Error).message}`]);
  }
  return validateScenario(parsed, file);
}

export function validateScenario(input: unknown, source = "(object)"): ValidScenario {
  const result = scenarioSchema.safeParse(input);
  if (result.success) return result.data;
  throw new ScenarioError(
    source,
    result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
  );
}

export function bundledScenarioNames(): string[] {
  return readdirSync(BUNDLED_SCENARIO_DIR)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

function resolveScenarioFile(nameOrPath: string): string {
  const looksLikePath = nameOrPath.endsWith(".json") || /[/\\]/.test(nameOrPath);
  if (looksLikePath) {
    if (!existsSync(nameOrPath)) throw new ScenarioError(nameOrPath, ["file not found"]);
    return nameOrPath;
  }
  const bundled = path.join(BUNDLED_SCENARIO_DIR, `${nameOrPath}.json`);
  if (!existsSync(bundled)) {
    throw new ScenarioError(`"${nameOrPath}"`, [
      `no bundled scenario of that name; bundled: ${bundledScenarioNames().join(", ")} (or pass a path to a .json file)`,
    ]);
  }
  return bundled;
}

function formatPath(pathParts: readonly PropertyKey[]): string {
  if (pathParts.length === 0) return "(scenario)";
  return pathParts
    .map((part, index) =>
      typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

type Path = (string | number)[];
type Issue = (path: Path, message: string) => void;

function checkReferences(scenario: z.output<typeof scenarioShapeSchema>, ctx: z.RefinementCtx): void {
  const issue = (path: Path, message: string) => ctx.addIssue({ code: "custom", path, message });
  checkUnique(scenario.serviceGroups, (group) => group.name, ["serviceGroups"], "service group name", issue);
  scenario.serviceGroups.forEach((group, g) => {
    const groupPath: Path = ["serviceGroups", g];
    checkUnique(group.services, (service) => service.id, [...groupPath, "services"], "service id", issue);
    group.services.forEach((service, s) => checkService(service, [...groupPath, "services", s], issue));
  });
}

function checkService(service: ScenarioService, servicePath: Path, issue: Issue): void {
  checkUnique(service.environments, (env) => env, [...servicePath, "environments"], "environment", issue);
  checkUnique(
    service.artifactVersions,
    (v) => v.versionNumber,
    [...servicePath, "artifactVersions"],
    "artifact version",
    issue,
  );
  checkNewestFirst(service.artifactVersions, [...servicePath, "artifactVersions"], issue);
  checkUnique(service.stageMaps, (map) => map.name, [...servicePath, "stageMaps"], "stage map name", issue);

  service.stageMaps.forEach((map, m) => {
    const mapPath: Path = [...servicePath, "stageMaps", m];
    checkUnique(map.versions, (v) => v.version, [...mapPath, "versions"], "stage map version", issue);
    checkNewestFirst(map.versions, [...mapPath, "versions"], issue);
    checkUnique(map.stages, (stage) => stage.name, [...mapPath, "stages"], "stage name", issue);
    map.stages.forEach((stage, st) =>
      checkUnique(stage.regions, (r) => r.name, [...mapPath, "stages", st, "regions"], "region name", issue),
    );
    checkWaitActions(map, map.waitActions, [...mapPath, "waitActions"], issue);
    checkFailures(map, map.failures, [...mapPath, "failures"], issue);
    for (const [env, override] of Object.entries(map.environments)) {
      const envPath: Path = [...mapPath, "environments", env];
      if (!service.environments.includes(env)) {
        issue(
          envPath,
          `environment "${env}" is not one of the service's environments (${service.environments.join(", ")})`,
        );
      }
      if (override.waitActions)
        checkWaitActions(map, override.waitActions, [...envPath, "waitActions"], issue);
      if (override.failures) checkFailures(map, override.failures, [...envPath, "failures"], issue);
    }
  });

  checkUnique(
    service.history.filter((h) => h.rolloutId !== undefined),
    (h) => h.rolloutId ?? "",
    [...servicePath, "history"],
    "history rolloutId",
    issue,
  );
  service.history.forEach((rollout, h) => {
    const historyPath: Path = [...servicePath, "history", h];
    if (!service.environments.includes(rollout.environment)) {
      issue([...historyPath, "environment"], `unknown environment "${rollout.environment}"`);
    }
    if (!service.artifactVersions.some((v) => v.versionNumber === rollout.artifactVersionNumber)) {
      issue(
        [...historyPath, "artifactVersionNumber"],
        `unknown artifact version "${rollout.artifactVersionNumber}"`,
      );
    }
    const map = rollout.stageMapName
      ? service.stageMaps.find((m) => m.name === rollout.stageMapName)
      : service.stageMaps[0];
    if (!map) {
      issue([...historyPath, "stageMapName"], `unknown stage map "${rollout.stageMapName}"`);
      return;
    }
    if (rollout.stageMapVersion && !map.versions.some((v) => v.version === rollout.stageMapVersion)) {
      issue(
        [...historyPath, "stageMapVersion"],
        `unknown version "${rollout.stageMapVersion}" of stage map "${map.name}"`,
      );
    }
    if (rollout.outcome === "Failed" && !rollout.failure) {
      issue(
        [...historyPath, "failure"],
        `outcome "Failed" needs a failure (stage, region, errorCode, message)`,
      );
    }
    if (rollout.failure) checkFailures(map, [rollout.failure], [...historyPath, "failure"], issue, true);
  });
}

function checkWaitActions(
  map: ScenarioStageMap,
  actions: ScenarioWaitAction[],
  actionsPath: Path,
  issue: Issue,
) {
  checkUnique(actions, (a) => a.actionId, actionsPath, "actionId", issue);
  checkUnique(actions, (a) => a.beforeStage, actionsPath, "guarded stage (one wait action per stage)", issue);
  actions.forEach((action, a) => {
    if (!map.stages.some((stage) => stage.name === action.beforeStage)) {
      issue(
        [...actionsPath, a, "beforeStage"],
        `no stage "${action.beforeStage}" in stage map "${map.name}"`,
      );
    }
  });
}

function checkFailures(
  map: ScenarioStageMap,
  failures: ScenarioFailure[],
  failuresPath: Path,
  issue: Issue,
  single = false,
) {
  failures.forEach((failure, f) => {
    const failurePath = single ? failuresPath : [...failuresPath, f];
    const stage = map.stages.find((s) => s.name === failure.stage);
    if (!stage) {
      issue([...failurePath, "stage"], `no stage "${failure.stage}" in stage map "${map.name}"`);
    } else if (!stage.regions.some((r) => r.name === failure.region)) {
      issue([...failurePath, "region"], `no region "${failure.region}" in stage "${failure.stage}"`);
    }
  });
  checkUnique(failures, (f) => `${f.stage}/${f.region}`, failuresPath, "failure stage/region", issue);
}

function checkUnique<T>(
  items: T[],
  key: (item: T) => string,
  listPath: Path,
  what: string,
  issue: Issue,
): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const value = key(item);
    if (seen.has(value)) issue([...listPath, index], `duplicate ${what} "${value}"`);
    seen.add(value);
  });
}

function checkNewestFirst(items: { registrationDate: string }[], listPath: Path, issue: Issue): void {
  for (let index = 1; index < items.length; index++) {
    if (Date.parse(items[index].registrationDate) > Date.parse(items[index - 1].registrationDate)) {
      issue(
        [...listPath, index, "registrationDate"],
        "versions must be listed newest first (by registrationDate)",
      );
    }
  }
}
