import { createHash } from "node:crypto";
import type { Ev2Client } from "../ev2/client";
import { Ev2Error } from "../ev2/errors";
import { EV2_ID, type ArtifactVersion, type Rollout, type StartRolloutRequest } from "../ev2/schemas";
import type { RunIdentity } from "./record";

export interface TriggerSettings {
  serviceGroupName: string;
  serviceId: string;
  stageMapName: string;
  environment: string;
  artifactVersion: string;
  stageMapVersion: string;
  selectionScope: string[];
  exclusionScope: string[];
  onConcurrentRollout: "fail" | "follow";
  idempotencyKey?: string;
  /** The rollout this one rolls back: tagged on the rollback, so that it is started once, whichever run asks. */
  rollbackOf?: string;
}

/** The tag that names the rollout a rollback replaces. */
export const rollbackOfTag = "ado.rollbackOf";

export interface TriggerLog {
  info(message: string): void;
  warning(message: string): void;
}

export type TriggerOutcome =
  | {
      kind: "started" | "attached";
      rolloutId: string;
      artifactVersion: string;
      stageMapVersion: string;
      idempotencyKey: string;
      rollout?: Rollout;
      why: string[];
    }
  | {
      kind: "concurrent";
      rolloutId: string;
      artifactVersion: string;
      stageMapVersion: string;
      idempotencyKey: string;
      rollout?: Rollout;
      why: string[];
    };

export const idempotencyKeyPattern = /^[A-Za-z0-9._:/-]{1,128}$/;

/**
 * The default Idempotency-Key: a re-run of the same job attaches to the rollout it started;
 * a new run, a redeploy of a classic release, or another service/version starts a new one.
 * The attempt number is deliberately left out.
 */
export function deriveIdempotencyKey(
  run: RunIdentity,
  what: {
    serviceGroupName: string;
    serviceId: string;
    environment: string;
    artifactVersion: string;
    stageMapName: string;
    stageMapVersion: string;
    selectionScope: string[];
    exclusionScope: string[];
  },
): string {
  const parts = [
    run.collectionId ?? run.collectionUri ?? "",
    run.projectId ?? run.project ?? "",
    run.releaseId
      ? `release:${run.releaseId}:${run.releaseEnvironmentId ?? ""}:${run.releaseDeploymentId ?? ""}`
      : `build:${run.buildId ?? ""}`,
    run.stageName ?? "",
    run.jobName ?? "",
    what.serviceGroupName,
    what.serviceId,
    what.environment,
    what.artifactVersion,
    what.stageMapName,
    what.stageMapVersion,
    // Two steps of one job that differ only in where they deploy are two rollouts.
    `select:${what.selectionScope.join(",")}`,
    `exclude:${what.exclusionScope.join(",")}`,
  ];
  return `ado:${createHash("sha256").update(parts.join("\n")).digest("hex")}`;
}

/** Resolves the versions, starts the rollout exactly once and says what happened. */
export async function triggerRollout(
  client: Ev2Client,
  s: TriggerSettings,
  run: RunIdentity,
  log: TriggerLog,
): Promise<TriggerOutcome> {
  if (s.rollbackOf) {
    const earlier = await earlierRollback(client, s, s.rollbackOf);
    if (earlier) {
      log.info(earlier.why[0]);
      return earlier;
    }
  }
  const why: string[] = [];
  const artifactVersion = await resolveArtifactVersion(client, s, why);
  const stageMapVersion = await resolveStageMapVersion(client, s, why);
  for (const line of why) log.info(line);

  const idempotencyKey =
    s.idempotencyKey ??
    deriveIdempotencyKey(run, {
      serviceGroupName: s.serviceGroupName,
      serviceId: s.serviceId,
      environment: s.environment,
      artifactVersion,
      stageMapName: s.stageMapName,
      stageMapVersion,
      selectionScope: s.selectionScope,
      exclusionScope: s.exclusionScope,
    });
  const tags: Record<string, string> = {};
  if (run.runUrl) tags["ado.runUrl"] = run.runUrl;
  if (run.buildId) tags["ado.buildId"] = run.buildId;
  if (run.releaseId) tags["ado.releaseId"] = run.releaseId;
  if (run.requestedFor) tags["ado.requestedFor"] = run.requestedFor;
  if (s.rollbackOf) tags[rollbackOfTag] = s.rollbackOf;
  const body: StartRolloutRequest = {
    stageMapName: s.stageMapName,
    stageMapVersion,
    artifactVersionNumber: artifactVersion,
    environment: s.environment,
    selectionScope: s.selectionScope,
    exclusionScope: s.exclusionScope,
    tags,
  };

  try {
    const started = await client.startRollout(s.serviceGroupName, s.serviceId, body, idempotencyKey);
    const rollout = await tryGetRollout(client, started.rolloutId);
    if (started.replayed) {
      why.push(
        `This run already started rollout ${started.rolloutId} (same idempotency key): attached to it instead of starting another.`,
      );
      log.info(why[why.length - 1]);
      return {
        kind: "attached",
        rolloutId: started.rolloutId,
        artifactVersion,
        stageMapVersion,
        idempotencyKey,
        rollout,
        why,
      };
    }
    why.push(
      `Started rollout ${started.rolloutId} of ${s.serviceId} ${artifactVersion} to ${s.environment} (stage map ${s.stageMapName} ${stageMapVersion}).`,
    );
    log.info(why[why.length - 1]);
    return {
      kind: "started",
      rolloutId: started.rolloutId,
      artifactVersion,
      stageMapVersion,
      idempotencyKey,
      rollout,
      why,
    };
  } catch (err) {
    if (err instanceof Ev2Error && err.code === "ConcurrentRollout") {
      // Not an id (schemas.ts EV2_ID): neither followed nor passed on.
      const given = String(err.details?.activeRolloutId ?? "");
      const activeId = EV2_ID.test(given) ? given : "";
      const active = activeId ? await tryGetRollout(client, activeId) : undefined;
      const where = active?.dashboardUrl ? ` (${active.dashboardUrl})` : "";
      const what = `Rollout ${activeId || "(id not given)"}${where} of ${s.serviceId} to ${s.environment} is still ${active?.status ?? "active"}; EV2 runs one rollout per service and environment at a time.`;
      if (s.onConcurrentRollout === "follow" && activeId) {
        why.push(`${what} Following it instead (onConcurrentRollout: follow).`);
        // The task ends SucceededWithIssues with this line, which the agent shows as the warning.
        log.info(why[why.length - 1]);
        return {
          kind: "concurrent",
          rolloutId: activeId,
          artifactVersion: active?.artifactVersionNumber ?? artifactVersion,
          stageMapVersion: active?.stageMapVersion ?? stageMapVersion,
          idempotencyKey,
          rollout: active,
          why,
        };
      }
      throw new Ev2Error({
        operation: "start rollout",
        code: err.code,
        httpStatus: err.httpStatus,
        requestId: err.requestId,
        details: err.details,
        message: `${what} Wait for it, cancel it, or set onConcurrentRollout: follow to follow it.`,
      });
    }
    throw explainStartError(err, s, artifactVersion, stageMapVersion);
  }
}

async function resolveArtifactVersion(client: Ev2Client, s: TriggerSettings, why: string[]): Promise<string> {
  const versions = await client.listArtifactVersions(s.serviceGroupName, s.serviceId).catch((e) => {
    throw explainStartError(e, s);
  });
  const wanted = s.artifactVersion.toLowerCase();
  if (wanted === "lastsucceeded") return lastSucceededVersion(client, s, versions, why);
  if (wanted === "previous") {
    const active = versions.filter((v) => v.status === "Active");
    if (active.length < 2) {
      throw new Ev2Error({
        operation: "start rollout",
        code: "NoPreviousArtifactVersion",
        message: `service ${s.serviceId} has ${active.length} Active artifact version(s), so there is no previous one to roll back to. Pin artifactVersion, or use lastSucceeded.`,
      });
    }
    why.push(
      `Artifact version ${active[1].versionNumber}: the Active version registered before the latest (${active[0].versionNumber}), as artifactVersion: previous asks.`,
    );
    return active[1].versionNumber;
  }
  if (wanted !== "latest") {
    const pinned = versions.find((v) => v.versionNumber === s.artifactVersion);
    if (!pinned) {
      const known = newest(versions.map((v) => v.versionNumber));
      throw new Ev2Error({
        operation: "start rollout",
        code: "ArtifactVersionNotFound",
        message: `artifact version ${s.artifactVersion} is not registered for service ${s.serviceId} in ${s.serviceGroupName} (newest registered: ${known}). Check the version number or register the artifacts first.`,
      });
    }
    why.push(
      `Artifact version ${pinned.versionNumber}: pinned by the artifactVersion input${pinned.status !== "Active" ? ` (it is ${pinned.status})` : ""}.`,
    );
    return pinned.versionNumber;
  }
  const skipped: string[] = [];
  for (const v of versions) {
    if (v.status === "Active") {
      why.push(
        `Artifact version ${v.versionNumber}: the newest Active one${skipped.length ? ` (skipped newer ${skipped.join(", ")}: Deprecated)` : ""}.`,
      );
      return v.versionNumber;
    }
    skipped.push(v.versionNumber);
  }
  throw new Ev2Error({
    operation: "start rollout",
    code: "NoActiveArtifactVersion",
    message: versions.length
      ? `service ${s.serviceId} in ${s.serviceGroupName} has no Active artifact version: all ${versions.length} registered versions are Deprecated (newest ${versions[0].versionNumber}). Register a new version, or pin artifactVersion.`
      : `service ${s.serviceId} in ${s.serviceGroupName} has no registered artifact version. Register the service's artifacts with EV2 first.`,
  });
}

/** The artifact version of the newest Completed rollout of this service to this environment: the last known good. */
async function lastSucceededVersion(
  client: Ev2Client,
  s: TriggerSettings,
  versions: ArtifactVersion[],
  why: string[],
): Promise<string> {
  const completed = (
    await client.listRollouts(s.serviceGroupName, s.serviceId, { status: ["Completed"] })
  ).filter((r) => r.environment === undefined || r.environment === s.environment);
  const last = completed.find((r) => r.artifactVersionNumber);
  if (!last?.artifactVersionNumber) {
    throw new Ev2Error({
      operation: "start rollout",
      code: "NoSucceededRollout",
      message: `no Completed rollout of ${s.serviceId} to ${s.environment} is known to EV2, so there is no last good version. Pin artifactVersion to the version to roll back to.`,
    });
  }
  const registered = versions.find((v) => v.versionNumber === last.artifactVersionNumber);
  why.push(
    `Artifact version ${last.artifactVersionNumber}: the version of the last Completed rollout to ${s.environment} (${last.rolloutId}${last.createdTimestamp ? `, started ${last.createdTimestamp}` : ""}), as artifactVersion: lastSucceeded asks${registered && registered.status !== "Active" ? `; it is ${registered.status} now` : ""}.`,
  );
  return last.artifactVersionNumber;
}

async function resolveStageMapVersion(client: Ev2Client, s: TriggerSettings, why: string[]): Promise<string> {
  const versions = await client
    .listStageMapVersions(s.serviceGroupName, s.serviceId, s.stageMapName)
    .catch((e) => {
      throw explainStartError(e, s);
    });
  if (s.stageMapVersion.toLowerCase() !== "latest") {
    const pinned = versions.find((v) => v.version === s.stageMapVersion);
    if (!pinned) {
      const known = newest(versions.map((v) => v.version));
      throw new Ev2Error({
        operation: "start rollout",
        code: "StageMapVersionNotFound",
        message: `stage map ${s.stageMapName} has no version ${s.stageMapVersion} (newest registered: ${known}). Check stageMapVersion.`,
      });
    }
    why.push(`Stage map ${s.stageMapName} ${pinned.version}: pinned by the stageMapVersion input.`);
    return pinned.version;
  }
  const active = versions.find((v) => v.status === "Active");
  if (!active) {
    throw new Ev2Error({
      operation: "start rollout",
      code: "NoActiveStageMapVersion",
      message: `stage map ${s.stageMapName} has no Active version${versions.length ? ` (all ${versions.length} are Deprecated)` : ""}. Register a stage map version, or pin stageMapVersion.`,
    });
  }
  const skipped = versions.slice(0, versions.indexOf(active)).map((v) => v.version);
  why.push(
    `Stage map ${s.stageMapName} ${active.version}: the newest Active one${skipped.length ? ` (skipped newer ${skipped.join(", ")}: Deprecated)` : ""}.`,
  );
  return active.version;
}

/** The first few of a newest-first list, for "newest registered: ..." in messages. */
const newest = (versions: string[]): string => versions.slice(0, 5).join(", ") || "none";

/**
 * A rollback of the same rollout that EV2 already has, from this run or another (a re-queued
 * rollback pipeline, a hand rollback after the automatic one): attached to, not started again.
 * The idempotency key alone cannot say so across runs, since it names the run. A rollback that
 * failed or was cancelled does not count: asking again is asking for a new attempt.
 */
async function earlierRollback(
  client: Ev2Client,
  s: TriggerSettings,
  rollbackOf: string,
): Promise<TriggerOutcome | undefined> {
  const tagged = await client.listRollouts(s.serviceGroupName, s.serviceId, {
    tags: { [rollbackOfTag]: rollbackOf },
  });
  const live = tagged.find(
    (r) =>
      (r.environment ?? s.environment) === s.environment && r.status !== "Failed" && r.status !== "Cancelled",
  );
  if (!live) return undefined;
  const rollout = await tryGetRollout(client, live.rolloutId);
  const by = live.tags?.["ado.runUrl"] ? ` (started by ${live.tags["ado.runUrl"]})` : "";
  const artifactVersion = live.artifactVersionNumber ?? rollout?.artifactVersionNumber ?? "";
  return {
    kind: "attached",
    rolloutId: live.rolloutId,
    artifactVersion,
    stageMapVersion: rollout?.stageMapVersion ?? "",
    idempotencyKey: "",
    rollout,
    why: [
      `Rollout ${rollbackOf} is already being rolled back by rollout ${live.rolloutId} of ${artifactVersion} (${live.status})${by}: attached to it instead of starting another rollback.`,
    ],
  };
}

async function tryGetRollout(client: Ev2Client, rolloutId: string): Promise<Rollout | undefined> {
  try {
    const got = await client.getRollout(rolloutId);
    return got.notModified ? undefined : got.rollout;
  } catch {
    return undefined;
  }
}

const notFoundAdvice: Record<string, (s: TriggerSettings, a?: string, m?: string) => string> = {
  ServiceNotFound: (s) =>
    `service ${s.serviceId} is not registered in service group ${s.serviceGroupName}. Check serviceGroupName and serviceId (they are case-sensitive) and that the service connection's identity can see them.`,
  StageMapNotFound: (s) =>
    `stage map ${s.stageMapName} does not exist for service ${s.serviceId}. Check stageMapName.`,
  ArtifactVersionNotFound: (s, a) =>
    `artifact version ${a ?? s.artifactVersion} is not registered for service ${s.serviceId}. Check artifactVersion, or register the artifacts first.`,
  StageMapVersionNotFound: (s, _a, m) =>
    `stage map ${s.stageMapName} has no version ${m ?? s.stageMapVersion}. Check stageMapVersion.`,
  AuthenticationFailed: () =>
    "EV2 did not accept the token. Check the service connection's token (or the Entra ID scope with azureRM) and that it has not expired.",
  Forbidden: (s) =>
    `the service connection's identity may not roll out service group ${s.serviceGroupName}. Ask the service group's owners to grant it rollout permission.`,
};

function explainStartError(
  err: unknown,
  s: TriggerSettings,
  artifactVersion?: string,
  stageMapVersion?: string,
): unknown {
  if (!(err instanceof Ev2Error)) return err;
  const advice = notFoundAdvice[err.code];
  if (!advice) return err;
  return new Ev2Error({
    operation: err.operation,
    code: err.code,
    httpStatus: err.httpStatus,
    requestId: err.requestId,
    target: err.target,
    details: err.details,
    message: advice(s, artifactVersion, stageMapVersion),
  });
}
