/**
 * ChangeLog compares each stage and region with the one at the same place in the poll before
 * when the layout did not change (no maps of the whole rollout every poll). The lines must be
 * those of the look-up by name, which it still does when the layout changed: the same previous
 * rollout given in another order (the look-up then) must give the same lines.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Rollout } from "../../shared/ev2/schemas";
import { ChangeLog, type FollowReporter } from "../../shared/rollout/follow";
import { rolloutIdentity } from "../tasks/ev2-fixture";

const header = {
  rolloutId: "r-1",
  ...rolloutIdentity,
  waitActions: [],
  errors: [],
  createdTimestamp: "2026-12-05T10:00:00Z",
};

const stageStatus = fc.constantFrom("Pending", "InProgress", "Waiting", "Completed", "Failed", "Skipped");
const regionStatus = fc.constantFrom("Pending", "InProgress", "Completed", "Failed", "Skipped");
const time = fc.option(fc.constantFrom("2026-12-05T10:00:00Z", "2026-12-05T10:03:20Z"), { nil: null });

/** A layout (stage names, and region names per stage; names may repeat) and two polls of it. */
const polls = fc
  .array(
    fc.record({
      name: fc.constantFrom("S1", "S2", "S3", "S4", "S5"),
      regions: fc.array(fc.constantFrom("eastus", "westus", "uksouth", "japaneast", "brazilsouth"), {
        maxLength: 4,
      }),
    }),
    { maxLength: 5 },
  )
  .chain((layout) => {
    const poll = fc.tuple(
      ...layout.map((s) =>
        fc.record({
          status: stageStatus,
          startTime: time,
          endTime: time,
          regions: fc.tuple(
            ...s.regions.map(() => fc.record({ status: regionStatus, startTime: time, endTime: time })),
          ),
        }),
      ),
    );
    return fc.tuple(fc.constant(layout), poll, poll, fc.constantFrom("InProgress", "Completed"));
  })
  .map(([layout, a, b, status]) => {
    const rollout = (states: typeof a, st: string): Rollout => ({
      ...header,
      status: st as Rollout["status"],
      stages: layout.map((s, i) => ({
        name: s.name,
        status: states[i].status,
        startTime: states[i].startTime,
        endTime: states[i].endTime,
        regions: s.regions.map((name, j) => ({ name, ...states[i].regions[j] })),
      })),
    });
    return { prev: rollout(a, "InProgress"), next: rollout(b, status) };
  });

function linesOf(report: (log: ChangeLog) => void): string[] {
  const lines: string[] = [];
  const reporter: FollowReporter = {
    event: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    beginGroup: (t) => lines.push(`group: ${t}`),
    endGroup: () => lines.push("endgroup"),
    progress: () => undefined,
  };
  report(new ChangeLog(reporter));
  return lines;
}

/** The same stages and regions, in reverse order: a layout of its own, so looked up by name. */
const reordered = (r: Rollout): Rollout => ({
  ...r,
  stages: [...r.stages].reverse().map((s) => ({ ...s, regions: [...s.regions].reverse() })),
});

const uniqueNames = (r: Rollout) =>
  new Set(r.stages.map((s) => s.name)).size === r.stages.length &&
  r.stages.every((s) => new Set(s.regions.map((g) => g.name)).size === s.regions.length);

describe("ChangeLog: the same lines whether it compares by place or by name", () => {
  it("logs a poll against the same layout as it does against the layout looked up by name", () => {
    let compared = 0;
    fc.assert(
      fc.property(polls, ({ prev, next }) => {
        const byPlace = linesOf((log) => log.report(prev, next));
        if (uniqueNames(prev)) {
          compared++;
          assert.deepStrictEqual(
            byPlace,
            linesOf((log) => log.report(reordered(prev), next)),
          );
        }
        // A follow reports each poll against the one before: the second report compares by place.
        const followed = linesOf((log) => {
          log.report(undefined, prev);
          log.report(prev, next);
        });
        const first = linesOf((log) => log.report(undefined, prev));
        // (Less the end of the group the first report left open.)
        const noEnds = (lines: string[]) => lines.filter((l) => l !== "endgroup");
        assert.deepStrictEqual(noEnds(followed.slice(first.length)), noEnds(byPlace));
      }),
      { numRuns: 1500, seed: 16 },
    );
    assert.ok(compared > 500, `only ${compared} polls had unique names`);
  });

  it("looks regions up by name when a name repeats in a stage (the last one counts, as before)", () => {
    const base = { ...header, status: "InProgress" as const };
    const region = (name: string, status: string) => ({ name, status, startTime: null, endTime: null });
    const stage = (regions: ReturnType<typeof region>[]) => ({
      name: "S1",
      status: "InProgress",
      startTime: null,
      endTime: null,
      regions,
    });
    const prev: Rollout = {
      ...base,
      stages: [stage([region("eastus", "InProgress"), region("eastus", "Completed")])],
    };
    const next: Rollout = {
      ...base,
      stages: [stage([region("eastus", "Completed"), region("eastus", "Completed")])],
    };
    // By name, both of next's eastus are compared with prev's last eastus (Completed): no line.
    assert.deepStrictEqual(
      linesOf((log) => log.report(prev, next)),
      [],
    );
  });
});
