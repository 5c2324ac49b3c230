/**
 * The regions deployed since the last gate (FollowRollout's `newRegions`), one function for every
 * place that shows them: the output, the waiting-for-approval card and the run's summary. Typed
 * structurally, so EV2's parsed rollout, a card's view of it and a record's snapshot all fit.
 */

export interface RegionTimesView {
  name: string;
  status: string;
  endTime?: string | null;
}

export interface RolloutRegionsView {
  stages: ReadonlyArray<{ regions: readonly RegionTimesView[] }>;
  waitActions?: ReadonlyArray<{ status: string; decidedAt?: string | null }>;
}

/**
 * The regions deployed since the last gate: those completed (by EV2's end time) after the newest
 * wait action that `before` shows decided, or every deployed region when none was decided. A
 * region is deployed once every stage that touches it has completed (or skipped) it. EV2's own
 * times decide, so the answer is the same however late the step starts and in whichever job.
 */
export function newRegionsOf(now: RolloutRegionsView, before: RolloutRegionsView = now): string[] {
  const lastGate = (before.waitActions ?? [])
    .filter((w) => w.status !== "Waiting" && w.decidedAt)
    .map((w) => Date.parse(w.decidedAt!))
    .filter((t) => !Number.isNaN(t))
    .reduce((newest, t) => Math.max(newest, t), -Infinity);
  const unfinished = new Set<string>();
  for (const st of now.stages)
    for (const g of st.regions)
      if (g.status !== "Completed" && g.status !== "Skipped") unfinished.add(g.name);
  const fresh = new Set<string>();
  for (const st of now.stages)
    for (const g of st.regions) {
      if (g.status !== "Completed" || unfinished.has(g.name)) continue;
      const ended = g.endTime ? Date.parse(g.endTime) : NaN;
      if (lastGate === -Infinity || !(ended <= lastGate)) fresh.add(g.name);
    }
  return [...fresh];
}
