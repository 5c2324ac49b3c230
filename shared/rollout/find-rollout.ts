import { TaskFailure } from "../agent/run-task";
import type { Ev2Client } from "../ev2/client";
import type { RolloutSummary } from "../ev2/schemas";
import type { RunIdentity } from "./task-record";

/** How many of the run's rollouts are asked for: the newest is used, the rest are named. */
const LOOKED_AT = 20;

/**
 * The rollout a step with an empty `rolloutId` means: the newest one this release (tag
 * `ado.releaseId`, which TriggerEv2Rollout sets) or this pipeline run (tag `ado.buildId`)
 * started. A classic release cannot pass an output variable from one environment to the next,
 * so this is how its later environments find the rollout. Says which one it took and why.
 */
export async function findRunRollout(
  client: Ev2Client,
  run: RunIdentity,
  log: (message: string) => void,
): Promise<RolloutSummary> {
  // In a release Build.BuildId is the artifact's build, shared by every release of it.
  const [key, value, who] = run.releaseId
    ? ["ado.releaseId", run.releaseId, `release ${run.releaseId}`]
    : run.buildId
      ? ["ado.buildId", run.buildId, `run ${run.buildId}`]
      : [];
  if (!key || !value) {
    throw new TaskFailure(
      "Input 'rolloutId' is empty, and this is neither a release (no Release.ReleaseId) nor a pipeline run (no Build.BuildId), so there is no rollout it started to look for. Pass the rollout id, e.g. $(trigger.rolloutId).",
    );
  }
  const searched = `GET ${client.baseUrl}/rollouts?tag=${key}:${value}`;
  const tagged = await client.findRollouts({ tags: { [key]: value }, top: LOOKED_AT });
  // Release and build ids count per collection: one EV2 can hold another project's release 42.
  const ours = tagged.filter(
    (r) => !run.runUrl || !r.tags?.["ado.runUrl"] || r.tags["ado.runUrl"] === run.runUrl,
  );
  const others = tagged.length - ours.length;
  const elsewhere = others
    ? ` (${others} rollout(s) with that tag were started by another project's run and left alone)`
    : "";
  const [newest, ...older] = ours;
  if (!newest) {
    throw new TaskFailure(
      `Input 'rolloutId' is empty, and EV2 has no rollout that ${who} started: none is tagged ${key}=${value} (searched ${searched})${elsewhere}. Start one with TriggerEv2Rollout earlier in this ${run.releaseId ? "release" : "run"}, or pass rolloutId, e.g. $(trigger.rolloutId).`,
    );
  }
  const what = [newest.environment, newest.artifactVersionNumber, newest.status].filter(Boolean).join(", ");
  const since = newest.createdTimestamp ? ` created ${newest.createdTimestamp}` : "";
  const rest = older.length ? `; it also started ${older.map((r) => r.rolloutId).join(", ")}` : "";
  log(
    `Input 'rolloutId' is empty: using rollout ${newest.rolloutId} (${what})${since}, the newest rollout ${who} started (tag ${key}=${value})${rest}${elsewhere}.`,
  );
  return newest;
}
