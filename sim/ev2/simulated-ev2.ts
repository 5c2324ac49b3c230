import { createHash, randomUUID } from "node:crypto";
import * as z from "zod";
import {
  rolloutStatuses,
  terminalStatuses,
  type CancelResult,
  type DecisionResult,
  type RestartResult,
  type StartedRollout,
  type WaitActionStatus,
} from "../../shared/ev2/schemas";
import { ApiError, invalidParameter, type ApiAnswer } from "./api-error";
import type { ScaledClock } from "./clock";
import {
  ACTIVE_STATUSES,
  projectRollout,
  type PlannedStage,
  type RolloutRecord,
  type RolloutStatus,
  type RolloutView,
} from "./rollout-timeline";
import {
  ScenarioError,
  type ScenarioFailure,
  type ScenarioHistoricalRollout,
  type ScenarioService,
  type ScenarioStageMap,
  type ScenarioWaitAction,
  type ValidScenario,
} from "./scenario";
import { isRegionSelected, parseScope, SCOPE_EXAMPLE, type RolloutScope } from "./scope";

export const DASHBOARD_BASE_URL = "https://ev2.example.invalid/rollouts/";
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:/-]{1,128}$/;
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;
const ALL_STATUSES: readonly RolloutStatus[] = rolloutStatuses;

const startBodySchema = z.object({
  stageMapName: z.string().min(1),
  stageMapVersion: z.string().min(1),
  artifactVersionNumber: z.string().min(1),
  environment: z.string().min(1),
  selectionScope: z.array(z.string()).optional(),
  exclusionScope: z.array(z.string()).optional(),
  tags: z.record(z.string(), z.string()).optional(),
});

const decisionBodySchema = z.object({
  decision: z.enum(["Approve", "Reject"]),
  comment: z.string().optional(),
  decidedBy: z.string().optional(),
});

const cancelBodySchema = z.object({ reason: z.string().optional() }).optional();
const restartBodySchema = z.object({ scope: z.literal("FailedOnly").optional() }).optional();

interface IdempotentStart {
  fingerprint: string;
  rolloutId: string;
  firstSeenMs: number;
}

interface StoredRollout {
  record: RolloutRecord;
  /** Creation order, to break ties between rollouts created in the same millisecond. */
  sequence: number;
}

/** The `status` and `tag` filters of the rollout listings, checked before anything is listed. */
function rolloutFilter(query: Record<string, string[]>): (view: RolloutView) => boolean {
  const statuses = query.status ?? [];
  for (const status of statuses) {
    if (!(ALL_STATUSES as string[]).includes(status)) {
      throw invalidParameter("status", `unknown status "${status}"; use one of ${ALL_STATUSES.join(", ")}`);
    }
  }
  const tags = (query.tag ?? []).map((tag) => {
    const colon = tag.indexOf(":");
    if (colon <= 0) throw invalidParameter("tag", `tag filter "${tag}" must look like <key>:<value>`);
    return { key: tag.slice(0, colon), value: tag.slice(colon + 1) };
  });
  return (view) =>
    (statuses.length === 0 || statuses.includes(view.status)) &&
    tags.every(({ key, value }) => view.tags[key] === value);
}

/** The EV2 rollout service the simulator serves: scenario data plus the rollouts started on it. */
export class SimulatedEv2 {
  private readonly rolloutsById = new Map<string, StoredRollout>();
  private readonly idempotentStarts = new Map<string, IdempotentStart>();
  private nextSequence = 0;

  constructor(
    readonly scenario: ValidScenario,
    private readonly clock: ScaledClock,
  ) {
    this.seedHistory();
  }

  /** `GET /serviceGroups?top=n`: names sorted; the cheapest authenticated call (connection check). */
  listServiceGroups(query: Record<string, string[]>): ApiAnswer {
    const raw = query.top?.[0];
    const top = raw === undefined ? 1000 : Number(raw);
    if (!Number.isInteger(top) || top < 1 || top > 1000)
      throw invalidParameter("top", "top must be a whole number from 1 to 1000");
    const names = this.scenario.serviceGroups.map((group) => group.name).sort();
    return { status: 200, body: { serviceGroups: names.slice(0, top).map((name) => ({ name })) } };
  }

  listServices(groupName: string): ApiAnswer {
    const group = this.scenario.serviceGroups.find((candidate) => candidate.name === groupName);
    if (!group)
      throw new ApiError(404, "ServiceGroupNotFound", `no service group "${groupName}"`, "serviceGroupName");
    return {
      status: 200,
      body: {
        services: group.services.map((service) => ({ serviceId: service.id, displayName: service.id })),
      },
    };
  }

  listStageMaps(groupName: string, serviceId: string): ApiAnswer {
    const service = this.findService(groupName, serviceId);
    return { status: 200, body: { stageMaps: service.stageMaps.map((map) => ({ name: map.name })) } };
  }

  listEnvironments(groupName: string, serviceId: string): ApiAnswer {
    return { status: 200, body: { environments: [...this.findService(groupName, serviceId).environments] } };
  }

  listArtifactVersions(groupName: string, serviceId: string): ApiAnswer {
    const service = this.findService(groupName, serviceId);
    return { status: 200, body: { artifacts: service.artifactVersions } };
  }

  listStageMapVersions(groupName: string, serviceId: string, stageMapName: string): ApiAnswer {
    const stageMap = this.findStageMap(this.findService(groupName, serviceId), serviceId, stageMapName);
    return { status: 200, body: { stageMaps: stageMap.versions } };
  }

  startRollout(
    groupName: string,
    serviceId: string,
    idempotencyKey: string | undefined,
    body: unknown,
  ): ApiAnswer {
    if (idempotencyKey === undefined || !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw invalidParameter(
        "Idempotency-Key",
        idempotencyKey === undefined
          ? "the Idempotency-Key header is required to start a rollout"
          : "the Idempotency-Key header must be 1..128 characters of [A-Za-z0-9._:/-]",
      );
    }
    const nowMs = this.clock.nowMs();
    const fingerprint = fingerprintOf({ groupName, serviceId, body });
    const earlier = this.idempotentStarts.get(idempotencyKey);
    if (earlier && nowMs - earlier.firstSeenMs <= IDEMPOTENCY_WINDOW_MS) {
      if (earlier.fingerprint !== fingerprint) {
        throw new ApiError(
          422,
          "IdempotencyKeyReuse",
          `Idempotency-Key "${idempotencyKey}" was already used with a different request (rollout ${earlier.rolloutId})`,
          "Idempotency-Key",
        );
      }
      const record = this.rolloutsById.get(earlier.rolloutId)?.record as RolloutRecord;
      return {
        ...this.startAnswer(record, nowMs, 200),
        headers: { location: `/rollouts/${record.rolloutId}`, "idempotency-replayed": "true" },
      };
    }

    const request = parseBody(startBodySchema, body);
    const service = this.findService(groupName, serviceId);
    const stageMap = this.findStageMap(service, serviceId, request.stageMapName);
    if (!service.artifactVersions.some((v) => v.versionNumber === request.artifactVersionNumber)) {
      throw new ApiError(
        404,
        "ArtifactVersionNotFound",
        `service ${serviceId} has no artifact version "${request.artifactVersionNumber}"`,
        "artifactVersionNumber",
      );
    }
    if (!stageMap.versions.some((v) => v.version === request.stageMapVersion)) {
      throw new ApiError(
        404,
        "StageMapVersionNotFound",
        `stage map ${stageMap.name} has no version "${request.stageMapVersion}"`,
        "stageMapVersion",
      );
    }
    if (!service.environments.includes(request.environment)) {
      throw invalidParameter(
        "environment",
        `unknown environment "${request.environment}"; service ${serviceId} deploys to ${service.environments.join(", ")}`,
      );
    }
    const selection = parseScopes("selectionScope", request.selectionScope ?? []);
    const exclusion = parseScopes("exclusionScope", request.exclusionScope ?? []);
    const stages = planStages(stageMap, request.environment, selection, exclusion);
    if (stages.every((stage) => stage.regions.every((region) => region.skipped))) {
      throw invalidParameter(
        "selectionScope",
        `the scopes select no region of stage map ${stageMap.name} (regions: ${regionNames(stageMap).join(", ")})`,
      );
    }
    const active = this.activeRollout(groupName, serviceId, request.environment, nowMs);
    if (active) {
      throw new ApiError(
        409,
        "ConcurrentRollout",
        `rollout ${active.rolloutId} of ${serviceId} to ${request.environment} is still ${active.status}`,
        undefined,
        { activeRolloutId: active.rolloutId, status: active.status },
      );
    }

    const rolloutId = randomUUID();
    const record: RolloutRecord = {
      rolloutId,
      serviceGroupName: groupName,
      serviceId,
      environment: request.environment,
      artifactVersionNumber: request.artifactVersionNumber,
      stageMapName: stageMap.name,
      stageMapVersion: request.stageMapVersion,
      tags: request.tags ?? {},
      dashboardUrl: (this.scenario.dashboardBaseUrl ?? DASHBOARD_BASE_URL) + rolloutId,
      createdAtMs: nowMs,
      startAtMs: nowMs + this.scenario.startDelaySeconds * 1000,
      stages,
      decisions: new Map(),
      restartsAtMs: [],
      autoApprove: false,
    };
    this.store(record);
    this.idempotentStarts.set(idempotencyKey, { fingerprint, rolloutId, firstSeenMs: nowMs });
    return { ...this.startAnswer(record, nowMs, 201), headers: { location: `/rollouts/${rolloutId}` } };
  }

  listRollouts(groupName: string, serviceId: string, query: Record<string, string[]>): ApiAnswer {
    this.findService(groupName, serviceId);
    const matches = rolloutFilter(query);
    const nowMs = this.clock.nowMs();
    const rollouts = this.newestFirst()
      .filter(({ record }) => record.serviceGroupName === groupName && record.serviceId === serviceId)
      .map(({ record }) => projectRollout(record, nowMs))
      .filter(matches)
      .map((view) => ({
        rolloutId: view.rolloutId,
        status: view.status,
        environment: view.environment,
        artifactVersionNumber: view.artifactVersionNumber,
        stageMapName: view.stageMapName,
        stageMapVersion: view.stageMapVersion,
        createdTimestamp: view.createdTimestamp,
        tags: view.tags,
      }));
    return { status: 200, body: { rollouts } };
  }

  /** `GET /rollouts`: rollouts of every service by tag (or one by id), whole, newest first. */
  findRollouts(query: Record<string, string[]>): ApiAnswer {
    const given = (name: string) => (query[name] ?? []).filter((v) => v !== "");
    const rawTop = given("top")[0];
    const top = rawTop === undefined ? 100 : Number(rawTop);
    if (!Number.isInteger(top) || top < 1 || top > 100)
      throw invalidParameter("top", "top must be a whole number from 1 to 100");
    const nowMs = this.clock.nowMs();
    const rolloutId = given("rolloutId")[0];
    if (rolloutId !== undefined) {
      const stored = this.rolloutsById.get(rolloutId);
      return { status: 200, body: { rollouts: stored ? [projectRollout(stored.record, nowMs)] : [] } };
    }
    const matches = rolloutFilter({ status: given("status"), tag: given("tag") });
    const rollouts = this.newestFirst()
      .map(({ record }) => projectRollout(record, nowMs))
      .filter(matches)
      .slice(0, top);
    return { status: 200, body: { rollouts } };
  }

  getRollout(rolloutId: string): RolloutView {
    return projectRollout(this.findRollout(rolloutId), this.clock.nowMs());
  }

  decideWaitAction(rolloutId: string, actionId: string, body: unknown): ApiAnswer {
    const request = parseBody(decisionBodySchema, body);
    const record = this.findRollout(rolloutId);
    const nowMs = this.clock.nowMs();
    const view = projectRollout(record, nowMs);
    const action = view.waitActions.find((candidate) => candidate.actionId === actionId);
    if (!action) {
      const reached = view.waitActions.map((candidate) => candidate.actionId);
      throw new ApiError(
        404,
        "WaitActionNotFound",
        `rollout ${rolloutId} has no wait action "${actionId}" (reached so far: ${reached.length ? reached.join(", ") : "none"})`,
        "actionId",
      );
    }
    if (action.status !== "Waiting") {
      throw new ApiError(
        409,
        "WaitActionAlreadyDecided",
        `wait action ${actionId} is already ${action.status}`,
        undefined,
        { status: action.status },
      );
    }
    record.decisions.set(actionId, {
      decision: request.decision,
      decidedAtMs: nowMs,
      decidedBy: request.decidedBy,
      comment: request.comment,
    });
    return {
      status: 200,
      body: {
        actionId,
        status: request.decision === "Approve" ? "Approved" : "Rejected",
        decidedAt: new Date(nowMs).toISOString(),
      } satisfies DecisionResult & { status: WaitActionStatus },
    };
  }

  cancelRollout(rolloutId: string, body: unknown): ApiAnswer {
    const request = parseBody(cancelBodySchema, body);
    const record = this.findRollout(rolloutId);
    const nowMs = this.clock.nowMs();
    const view = projectRollout(record, nowMs);
    if (terminalStatuses.has(view.status)) {
      throw new ApiError(
        409,
        "RolloutAlreadyTerminal",
        `rollout ${rolloutId} is already ${view.status}`,
        undefined,
        { status: view.status },
      );
    }
    const reason = request?.reason;
    record.cancel = { atMs: nowMs, reason };
    // A pending approval can no longer be given once the rollout is cancelled.
    const waiting = view.waitActions.find((action) => action.status === "Waiting");
    if (waiting) {
      record.decisions.set(waiting.actionId, {
        decision: "Reject",
        decidedAtMs: nowMs,
        comment: reason ? `Rollout cancelled: ${reason}` : "Rollout cancelled",
        byCancel: true,
      });
    }
    return {
      status: 200,
      body: {
        rolloutId,
        status: "Cancelled",
        timestamp: new Date(nowMs).toISOString(),
      } satisfies CancelResult & { status: RolloutStatus },
    };
  }

  restartRollout(rolloutId: string, body: unknown): ApiAnswer {
    if (body !== undefined && !restartBodySchema.safeParse(body).success) {
      throw invalidParameter("scope", 'scope must be "FailedOnly" (the only restart scope supported)');
    }
    const record = this.findRollout(rolloutId);
    const nowMs = this.clock.nowMs();
    const view = projectRollout(record, nowMs);
    if (view.status !== "Failed") {
      throw new ApiError(
        409,
        "RolloutNotRestartable",
        `only a Failed rollout can be restarted; rollout ${rolloutId} is ${view.status}`,
        undefined,
        { status: view.status },
      );
    }
    const active = this.activeRollout(record.serviceGroupName, record.serviceId, record.environment, nowMs);
    if (active) {
      throw new ApiError(
        409,
        "RolloutNotRestartable",
        `rollout ${active.rolloutId} of ${record.serviceId} to ${record.environment} started since and is still ${active.status}`,
        undefined,
        { status: view.status, activeRolloutId: active.rolloutId },
      );
    }
    record.restartsAtMs.push(nowMs);
    return {
      status: 202,
      body: { rolloutId, status: "InProgress" } satisfies RestartResult & { status: RolloutStatus },
    };
  }

  /** Every rollout as GET /rollouts/{id} shows it now, oldest first. */
  rollouts(): RolloutView[] {
    const nowMs = this.clock.nowMs();
    return [...this.rolloutsById.values()]
      .sort((a, b) => a.record.createdAtMs - b.record.createdAtMs || a.sequence - b.sequence)
      .map(({ record }) => projectRollout(record, nowMs));
  }

  private startAnswer(record: RolloutRecord, nowMs: number, status: number): ApiAnswer {
    const view = projectRollout(record, nowMs);
    return {
      status,
      body: {
        rolloutId: record.rolloutId,
        status: view.status,
        createdTimestamp: view.createdTimestamp,
      } satisfies StartedRollout & { status: RolloutStatus },
    };
  }

  private store(record: RolloutRecord): void {
    this.rolloutsById.set(record.rolloutId, { record, sequence: this.nextSequence++ });
  }

  private newestFirst(): StoredRollout[] {
    return [...this.rolloutsById.values()].sort(
      (a, b) => b.record.createdAtMs - a.record.createdAtMs || b.sequence - a.sequence,
    );
  }

  private activeRollout(groupName: string, serviceId: string, environment: string, nowMs: number) {
    for (const { record } of this.newestFirst()) {
      if (record.serviceGroupName !== groupName || record.serviceId !== serviceId) continue;
      if (record.environment !== environment) continue;
      const view = projectRollout(record, nowMs);
      if (ACTIVE_STATUSES.includes(view.status)) return view;
    }
    return undefined;
  }

  private findService(groupName: string, serviceId: string): ScenarioService {
    const service = this.scenario.serviceGroups
      .find((group) => group.name === groupName)
      ?.services.find((candidate) => candidate.id === serviceId);
    if (!service) {
      throw new ApiError(
        404,
        "ServiceNotFound",
        `service group ${groupName} has no service "${serviceId}"`,
        "serviceId",
      );
    }
    return service;
  }

  private findStageMap(service: ScenarioService, serviceId: string, stageMapName: string): ScenarioStageMap {
    const stageMap = service.stageMaps.find((candidate) => candidate.name === stageMapName);
    if (!stageMap) {
      throw new ApiError(
        404,
        "StageMapNotFound",
        `service ${serviceId} has no stage map "${stageMapName}"`,
        "stageMapName",
      );
    }
    return stageMap;
  }

  private findRollout(rolloutId: string): RolloutRecord {
    const stored = this.rolloutsById.get(rolloutId);
    if (!stored) throw new ApiError(404, "RolloutNotFound", `no rollout "${rolloutId}"`, "rolloutId");
    return stored.record;
  }

  /** Pre-seeded rollouts from the scenario's history, already finished when the simulator starts. */
  private seedHistory(): void {
    const startMs = this.clock.nowMs();
    const problems: string[] = [];
    for (const group of this.scenario.serviceGroups) {
      for (const service of group.services) {
        service.history.forEach((past, index) => {
          const record = historicalRecord(this.scenario, group.name, service, past, startMs);
          const status = projectRollout(record, startMs).status;
          if (status !== past.outcome) {
            problems.push(
              `serviceGroups ${group.name} / ${service.id} history[${index}]: the rollout would be ${status} when the simulator starts, not ${past.outcome}; raise ageHours`,
            );
          }
          this.store(record);
        });
      }
    }
    if (problems.length > 0) throw new ScenarioError(`"${this.scenario.name}"`, problems);
  }
}

function historicalRecord(
  scenario: ValidScenario,
  groupName: string,
  service: ScenarioService,
  past: ScenarioHistoricalRollout,
  simulatorStartMs: number,
): RolloutRecord {
  const stageMap = past.stageMapName
    ? (service.stageMaps.find((map) => map.name === past.stageMapName) as ScenarioStageMap)
    : service.stageMaps[0];
  const rolloutId = past.rolloutId ?? randomUUID();
  const createdAtMs = simulatorStartMs - past.ageHours * 3600 * 1000;
  const failures = past.outcome === "Failed" && past.failure ? [{ ...past.failure, restartable: false }] : [];
  return {
    rolloutId,
    serviceGroupName: groupName,
    serviceId: service.id,
    environment: past.environment,
    artifactVersionNumber: past.artifactVersionNumber,
    stageMapName: stageMap.name,
    stageMapVersion: past.stageMapVersion ?? stageMap.versions[0].version,
    tags: past.tags,
    dashboardUrl: (scenario.dashboardBaseUrl ?? DASHBOARD_BASE_URL) + rolloutId,
    createdAtMs,
    startAtMs: createdAtMs + scenario.startDelaySeconds * 1000,
    stages: planStages({ ...stageMap, environments: {}, failures }, past.environment, [], []),
    decisions: new Map(),
    restartsAtMs: [],
    autoApprove: true,
  };
}

/** The stages a rollout runs: the stage map, with this environment's overrides and the scopes applied. */
export function planStages(
  stageMap: ScenarioStageMap,
  environment: string,
  selection: RolloutScope[],
  exclusion: RolloutScope[],
): PlannedStage[] {
  const override = stageMap.environments[environment] ?? {};
  const waitActions: ScenarioWaitAction[] = override.waitActions ?? stageMap.waitActions;
  const failures: ScenarioFailure[] = override.failures ?? stageMap.failures;
  const durationScale = override.durationScale ?? 1;
  return stageMap.stages.map((stage) => {
    const waitAction = waitActions.find((action) => action.beforeStage === stage.name);
    return {
      name: stage.name,
      ...(waitAction ? { waitAction: { actionId: waitAction.actionId, reason: waitAction.reason } } : {}),
      regions: stage.regions.map((region) => {
        const failure = failures.find((f) => f.stage === stage.name && f.region === region.name);
        return {
          name: region.name,
          durationMs: region.durationSeconds * 1000 * durationScale,
          skipped: !isRegionSelected(region.name, selection, exclusion),
          ...(failure
            ? {
                failure: {
                  errorCode: failure.errorCode,
                  message: failure.message,
                  restartable: failure.restartable,
                  ...(failure.afterSeconds !== undefined
                    ? { afterMs: failure.afterSeconds * 1000 * durationScale }
                    : {}),
                },
              }
            : {}),
        };
      }),
    };
  });
}

function regionNames(stageMap: ScenarioStageMap): string[] {
  return [...new Set(stageMap.stages.flatMap((stage) => stage.regions.map((region) => region.name)))];
}

function parseScopes(field: "selectionScope" | "exclusionScope", scopes: string[]): RolloutScope[] {
  return scopes.map((text, index) => {
    const scope = parseScope(text);
    if (!scope) {
      throw invalidParameter(
        field,
        `${field}[${index}] "${text}" is not a valid scope; expected regions(<list>|*).steps(<list>|*).stamps(<list>|*).actions(<list>|*) with names of [A-Za-z0-9_-], e.g. ${SCOPE_EXAMPLE}`,
      );
    }
    return scope;
  });
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const target = issue.path.length > 0 ? String(issue.path[0]) : "body";
  const where = issue.path
    .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
    .join("");
  throw invalidParameter(
    target,
    `${where ? where.slice(where.startsWith(".") ? 1 : 0) : "body"}: ${issue.message}`,
  );
}

/** A stable hash of a request: key order in the JSON does not matter. */
function fingerprintOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
