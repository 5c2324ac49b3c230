/**
 * Verified rollback: the second half of time to safety. EV2 accepting the rollback rollout
 * (TriggerEv2Rollout's timeToSafetySeconds) is only the start; the service is safe once every
 * region that got the bad version is back on the good one. Worked out from the two rollouts
 * as EV2 has them, so FollowRollout (following the rollback) and the Teams card agree.
 *
 * Each interval is measured on the clock that saw both of its ends: bad verdict → accepted on
 * the agent's (TriggerEv2Rollout), accepted → mitigated on EV2's (the rollback's creation and
 * its regions' end times). A simulated EV2 runs its own faster clock; this keeps both true.
 */
import { formatDuration, listWithMore } from "../format";

/** The parts of a rollout this needs: the EV2 client's `Rollout` and the card's view both fit. */
export interface RolloutRegions {
  rolloutId: string;
  artifactVersionNumber: string;
  status: string;
  createdTimestamp: string;
  stages: ReadonlyArray<{
    regions: ReadonlyArray<{
      name: string;
      status: string;
      startTime?: string | null;
      endTime?: string | null;
    }>;
  }>;
}

export interface Mitigation {
  /** The bad rollout and its version. */
  rollbackOf: string;
  badVersion: string;
  /** The rollback rollout, the version it brings back and its status when this was worked out. */
  rolloutId: string;
  goodVersion: string;
  rollbackStatus: string;
  /** Regions the bad rollout reached (started deploying to), in its order. */
  regions: string[];
  /** Of those, the ones the rollback has completed everywhere, with EV2's end time. */
  restored: Array<{ region: string; at: string }>;
  /** Reached by the bad version, in the rollback's plan, not completed yet. */
  pending: string[];
  /** Reached by the bad version but skipped or absent in the rollback (its scope left them out). */
  notCovered: string[];
  /** When EV2 created the rollback rollout (EV2's clock). */
  acceptedAt: string;
  /** EV2's end time of the last region restored, once every region is: null until then. */
  mitigatedAt: string | null;
  /** From EV2 accepting the rollback to mitigated (EV2's clock); null until mitigated. */
  rollbackSeconds: number | null;
  /** From the bad verdict to EV2 accepting the rollback, when it was given (TriggerEv2Rollout's output). */
  timeToAcceptedSeconds: number | null;
  /** From the bad verdict to mitigated: the two above added; null when either is unknown. */
  timeToMitigatedSeconds: number | null;
}

/** A region got a version once EV2 started deploying it there, whatever happened next. */
const reached = (g: { status: string; startTime?: string | null }) =>
  !!g.startTime || /^(InProgress|Completed|Failed)$/.test(g.status);

export function mitigationOf(
  bad: RolloutRegions,
  rollback: RolloutRegions,
  timeToAcceptedSeconds?: number,
): Mitigation {
  const regions = [...new Set(bad.stages.flatMap((st) => st.regions.filter(reached).map((g) => g.name)))];
  // A region is back once every stage of the rollback that deploys it has completed it.
  const entries = new Map<string, Array<{ status: string; endTime?: string | null }>>();
  for (const st of rollback.stages)
    for (const g of st.regions) {
      if (g.status === "Skipped") continue;
      entries.set(g.name, [...(entries.get(g.name) ?? []), g]);
    }
  const restored: Mitigation["restored"] = [];
  const pending: string[] = [];
  const notCovered: string[] = [];
  for (const region of regions) {
    const mine = entries.get(region);
    if (!mine) notCovered.push(region);
    else if (mine.every((g) => g.status === "Completed")) {
      const at = Math.max(...mine.map((g) => Date.parse(g.endTime ?? "")).filter((t) => !Number.isNaN(t)));
      restored.push({
        region,
        at: new Date(Number.isFinite(at) ? at : Date.parse(rollback.createdTimestamp)).toISOString(),
      });
    } else pending.push(region);
  }
  const accepted = Date.parse(rollback.createdTimestamp);
  const done = pending.length === 0 && notCovered.length === 0;
  // No region had the bad version: safe as soon as EV2 accepted the rollback.
  const last = restored.reduce((t, r) => Math.max(t, Date.parse(r.at)), accepted);
  const mitigatedAt = done && Number.isFinite(last) ? new Date(last).toISOString() : null;
  const rollbackSeconds = mitigatedAt === null ? null : Math.max(0, (last - accepted) / 1000);
  const toAccepted =
    timeToAcceptedSeconds !== undefined && Number.isFinite(timeToAcceptedSeconds)
      ? timeToAcceptedSeconds
      : null;
  return {
    rollbackOf: bad.rolloutId,
    badVersion: bad.artifactVersionNumber,
    rolloutId: rollback.rolloutId,
    goodVersion: rollback.artifactVersionNumber,
    rollbackStatus: rollback.status,
    regions,
    restored,
    pending,
    notCovered,
    acceptedAt: rollback.createdTimestamp,
    mitigatedAt,
    rollbackSeconds,
    timeToAcceptedSeconds: toAccepted,
    timeToMitigatedSeconds:
      toAccepted === null || rollbackSeconds === null ? null : toAccepted + rollbackSeconds,
  };
}

/** One sentence: mitigated or not, how far and how fast. */
export function describeMitigation(m: Mitigation): string {
  const seconds = (s: number) => formatDuration(s * 1000);
  const back = `${m.restored.length} of ${m.regions.length} region${m.regions.length === 1 ? "" : "s"} that got ${m.badVersion} back on ${m.goodVersion}`;
  if (m.mitigatedAt !== null) {
    const total =
      m.timeToMitigatedSeconds === null ? "" : `; ${seconds(m.timeToMitigatedSeconds)} from the bad verdict`;
    return m.regions.length === 0
      ? `Mitigated: no region had got ${m.badVersion}, safe once EV2 accepted rollback ${m.rolloutId}${total}.`
      : `Mitigated at ${m.mitigatedAt}: ${back}, ${seconds(m.rollbackSeconds!)} after EV2 accepted rollback ${m.rolloutId}${total}.`;
  }
  const left = [
    ...(m.pending.length ? [`still to come back: ${listWithMore(m.pending, 10)}`] : []),
    ...(m.notCovered.length ? [`not in the rollback's scope: ${listWithMore(m.notCovered, 10)}`] : []),
  ];
  return `Not mitigated yet: ${back}, rollback ${m.rolloutId} ${m.rollbackStatus}${left.length ? `; ${left.join("; ")}` : ""}.`;
}
