import assert from "node:assert/strict";
import { describeMitigation, mitigationOf, type RolloutRegions } from "../../shared/rollout/mitigation";

type R = [name: string, status: string, startTime?: string | null, endTime?: string | null];
const rollout = (id: string, version: string, status: string, stages: R[][]): RolloutRegions => ({
  rolloutId: id,
  artifactVersionNumber: version,
  status,
  createdTimestamp: "2026-01-01T10:00:00.000Z",
  stages: stages.map((regions) => ({
    regions: regions.map(([name, s, startTime = null, endTime = null]) => ({
      name,
      status: s,
      startTime,
      endTime,
    })),
  })),
});
const at = (minute: number) => `2026-01-01T10:${String(minute).padStart(2, "0")}:00.000Z`;

describe("mitigationOf: every region that got the bad version back on the good one", () => {
  const bad = rollout("bad", "2.0", "Cancelled", [
    [
      ["canary", "Completed", at(1), at(2)],
      ["pilot", "Failed", at(2), at(3)],
    ],
    [
      ["east", "Cancelled", at(3), at(4)],
      ["west", "Skipped"],
      ["north", "Pending"],
    ],
  ]);
  const cases: Array<{
    what: string;
    rollback: R[][];
    regions?: string[];
    restored: string[];
    pending: string[];
    notCovered?: string[];
    mitigatedAt: string | null;
  }> = [
    {
      what: "all back: the last region's end time, not the rollback's completion",
      rollback: [
        [
          ["canary", "Completed", at(1), at(5)],
          ["pilot", "Completed", at(1), at(6)],
        ],
        [
          ["east", "Completed", at(6), at(9)],
          ["west", "InProgress", at(9)],
        ],
      ],
      restored: ["canary", "pilot", "east"],
      pending: [],
      mitigatedAt: at(9),
    },
    {
      what: "a region deployed in two stages is back only when both completed",
      rollback: [
        [
          ["canary", "Completed", at(1), at(5)],
          ["pilot", "Completed", at(1), at(6)],
          ["east", "Completed", at(1), at(7)],
        ],
        [["east", "InProgress", at(8)]],
      ],
      restored: ["canary", "pilot"],
      pending: ["east"],
      mitigatedAt: null,
    },
    {
      what: "a region the rollback's scope skips is not covered: never mitigated",
      rollback: [
        [
          ["canary", "Completed", at(1), at(5)],
          ["pilot", "Completed", at(1), at(6)],
        ],
        [["east", "Skipped"]],
      ],
      restored: ["canary", "pilot"],
      pending: [],
      notCovered: ["east"],
      mitigatedAt: null,
    },
    {
      what: "a failed region of the rollback is not back",
      rollback: [
        [
          ["canary", "Completed", at(1), at(5)],
          ["pilot", "Failed", at(1), at(6)],
        ],
        [["east", "Completed", at(6), at(7)]],
      ],
      restored: ["canary", "east"],
      pending: ["pilot"],
      mitigatedAt: null,
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const m = mitigationOf(bad, rollout("good", "1.9", "InProgress", c.rollback), 12);
      assert.deepEqual(
        m.regions,
        c.regions ?? ["canary", "pilot", "east"],
        "Pending and Skipped never got it",
      );
      assert.deepEqual(
        m.restored.map((r) => r.region),
        c.restored,
      );
      assert.deepEqual(m.pending, c.pending);
      assert.deepEqual(m.notCovered, c.notCovered ?? []);
      assert.equal(m.mitigatedAt, c.mitigatedAt);
      if (c.mitigatedAt) {
        assert.equal(m.rollbackSeconds, (Date.parse(c.mitigatedAt) - Date.parse(at(0))) / 1000);
        assert.equal(m.timeToMitigatedSeconds, 12 + m.rollbackSeconds!);
      } else {
        assert.equal(m.rollbackSeconds, null);
        assert.equal(m.timeToMitigatedSeconds, null);
      }
    });

  it("says how far it got in one sentence", () => {
    const partly = mitigationOf(bad, rollout("good", "1.9", "Failed", cases[3].rollback));
    assert.equal(
      describeMitigation(partly),
      "Not mitigated yet: 2 of 3 regions that got 2.0 back on 1.9, rollback good Failed; still to come back: pilot.",
    );
    const done = mitigationOf(bad, rollout("good", "1.9", "InProgress", cases[0].rollback));
    assert.equal(
      describeMitigation(done),
      `Mitigated at ${at(9)}: 3 of 3 regions that got 2.0 back on 1.9, 9m 0s after EV2 accepted rollback good.`,
    );
  });

  it("no region got the bad version: safe once EV2 accepted the rollback", () => {
    const m = mitigationOf(
      rollout("bad", "2.0", "Cancelled", [[["canary", "Pending"]]]),
      rollout("good", "1.9", "NotStarted", [[["canary", "Pending"]]]),
      3,
    );
    assert.equal(m.mitigatedAt, "2026-01-01T10:00:00.000Z");
    assert.equal(m.timeToMitigatedSeconds, 3);
  });
});
