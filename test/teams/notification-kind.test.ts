import assert from "node:assert/strict";
import { chooseNotificationKind, type NotificationKind } from "../../shared/teams/notification-kind";
import type { RolloutView } from "../../shared/teams/rollout-view";
import {
  failedRollout,
  makeRollout,
  rejectedRollout,
  stressSummary,
  waitingRollout,
} from "./rollout-fixtures";

describe("chooseNotificationKind (auto)", () => {
  const stress = stressSummary(true);
  const table: Array<[string, RolloutView | undefined, boolean, NotificationKind]> = [
    ["NotStarted", makeRollout({ status: "NotStarted" }), false, "started"],
    ["InProgress in the first stage", makeRollout({ status: "InProgress", completed: 0 }), false, "started"],
    [
      "InProgress after a stage completed",
      makeRollout({ status: "InProgress", completed: 1 }),
      false,
      "stageCompleted",
    ],
    ["Waiting", waitingRollout(), false, "waitingForApproval"],
    ["Completed", makeRollout({ completed: 4 }), false, "completed"],
    ["Failed", failedRollout(), false, "failed"],
    ["Cancelled (rejected)", rejectedRollout(), false, "cancelled"],
    ["Cancelled", makeRollout({ status: "Cancelled", completed: 1 }), false, "cancelled"],
    ["a status EV2 adds later", makeRollout({ status: "Paused", completed: 0 }), false, "started"],
    [
      "InProgress with a stress result",
      makeRollout({ status: "InProgress", completed: 1 }),
      true,
      "stressTest",
    ],
    ["Waiting with a stress result", waitingRollout(), true, "stressTest"],
    ["Completed with a stress result", makeRollout({ completed: 4 }), true, "stressTest"],
    ["Failed with a stress result", failedRollout(), true, "failed"],
    ["Cancelled with a stress result", rejectedRollout(), true, "cancelled"],
    ["no rollout, a stress result", undefined, true, "stressTest"],
  ];
  for (const [name, rollout, withStress, expected] of table) {
    it(`${name} → ${expected}`, () => {
      assert.equal(chooseNotificationKind(rollout, withStress ? { stressResult: stress } : {}), expected);
    });
  }

  it("refuses when there is neither a rollout nor a stress result", () => {
    assert.throws(
      () => chooseNotificationKind(undefined),
      /needs a rollout \(rolloutId\) or a stress test result \(stressResultFile\)/,
    );
  });
});
