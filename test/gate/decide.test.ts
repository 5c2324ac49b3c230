import assert from "node:assert/strict";
import type { GetRolloutResult } from "../../shared/ev2/client";
import { rollout as rolloutSchema, type Rollout, type WaitAction } from "../../shared/ev2/schemas";
import { awaitWaitAction, type RolloutReader } from "../../shared/gate/decide";
import { rolloutIdentity } from "../tasks/ev2-fixture";

const thisStep = "https://dev.azure.com/contoso/Orders/_build/results?buildId=4711, stage Deploy_PPE";
const decidedByThisStep = (w: WaitAction) => (w.comment ?? "").includes(thisStep);

/** EV2 as the gate reads it: one rollout state a GET, the last one repeated. */
class ScriptedRollout implements RolloutReader {
  private reads = 0;
  constructor(private readonly states: Rollout[]) {}
  async getRollout(): Promise<GetRolloutResult> {
    const rollout = this.states[Math.min(this.reads++, this.states.length - 1)];
    return { notModified: false, rollout };
  }
}

function rolloutWith(status: Rollout["status"], waitActions: Array<Partial<WaitAction>>): Rollout {
  return rolloutSchema.parse({
    rolloutId: "r-1",
    ...rolloutIdentity,
    status,
    currentStage: "Stage2-Pilot",
    stages: [],
    waitActions,
    createdTimestamp: "2025-06-01T09:00:00Z",
  });
}

const approvedByThisStep = {
  actionId: "wait-1",
  stage: "Stage2-Pilot",
  status: "Approved",
  decidedBy: "Alice Approver <alice@contoso.com>",
  comment: `Canary metrics look good (Azure DevOps approval, ${thisStep})`,
};
const approvedElsewhere = { ...approvedByThisStep, comment: "Approved in the EV2 portal" };
const waiting2 = { actionId: "wait-2", stage: "Stage3-Broad", status: "Waiting" };
const waiting3 = { actionId: "wait-3", stage: "Stage4-World", status: "Waiting" };

/** The action the task would take up, as [actionId, status]. */
async function find(states: Rollout[], actionId?: string): Promise<[string, string]> {
  const { action } = await awaitWaitAction(new ScriptedRollout(states), "r-1", actionId, {
    timeoutMs: 1000,
    pollingMs: 20,
    signal: new AbortController().signal,
    onWait: () => {},
    decidedByThisStep,
  });
  return [action.actionId, action.status];
}

describe("gate: finding the wait action to decide", () => {
  for (const [what, states, actionId, expected] of [
    [
      "this step's earlier decision comes before the next waiting gate (a re-run after the rollout moved on)",
      [rolloutWith("Waiting", [approvedByThisStep, waiting2])],
      undefined,
      ["wait-1", "Approved"],
    ],
    [
      "an action decided by someone else does not stop the step deciding the waiting one",
      [rolloutWith("Waiting", [approvedElsewhere, waiting2])],
      undefined,
      ["wait-2", "Waiting"],
    ],
    [
      "this step's decision is reported even when several others wait",
      [rolloutWith("Waiting", [approvedByThisStep, waiting2, waiting3])],
      undefined,
      ["wait-1", "Approved"],
    ],
    [
      "a named action is the one, whoever decided another",
      [rolloutWith("Waiting", [approvedByThisStep, waiting2])],
      "wait-2",
      ["wait-2", "Waiting"],
    ],
    [
      "the gate is waited for until the rollout reaches it",
      [rolloutWith("InProgress", []), rolloutWith("InProgress", []), rolloutWith("Waiting", [waiting2])],
      undefined,
      ["wait-2", "Waiting"],
    ],
    [
      "an ended rollout reports its last decided action",
      [rolloutWith("Completed", [approvedElsewhere])],
      undefined,
      ["wait-1", "Approved"],
    ],
  ] as const) {
    it(what, async () => {
      assert.deepEqual(await find([...states], actionId), expected);
    });
  }

  it("several waiting and none named: an error listing them", async () => {
    await assert.rejects(find([rolloutWith("Waiting", [approvedElsewhere, waiting2, waiting3])]), {
      code: "SeveralWaitActions",
      message:
        "EV2 find the wait action of rollout r-1 failed: SeveralWaitActions: 2 wait actions are waiting (wait-2 before Stage3-Broad, wait-3 before Stage4-World); name one in the actionId input.",
    });
  });

  it("the rollout not reaching a gate in time: a clear error, after saying once that it waits", async () => {
    const waits: string[] = [];
    await assert.rejects(
      awaitWaitAction(new ScriptedRollout([rolloutWith("InProgress", [])]), "r-1", undefined, {
        timeoutMs: 120,
        pollingMs: 20,
        signal: new AbortController().signal,
        onWait: (m) => waits.push(m),
        decidedByThisStep,
      }),
      {
        code: "WaitActionTimeout",
        message:
          "EV2 find the wait action of rollout r-1 failed: WaitActionTimeout: the rollout did not reach a wait action within 0.1s (it is InProgress at Stage2-Pilot). Raise waitTimeoutMinutes or run this step after FollowRollout with until: waitAction.",
      },
    );
    assert.deepEqual(waits, [
      "Rollout r-1 is InProgress at Stage2-Pilot; waiting up to 0.1s for a wait action.",
    ]);
  });

  it("an ended rollout without the named action: an error naming what was decided", async () => {
    await assert.rejects(find([rolloutWith("Cancelled", [approvedElsewhere])], "wait-2"), {
      code: "NoWaitAction",
      message:
        "EV2 find the wait action of rollout r-1 failed: NoWaitAction: the rollout ended Cancelled without reaching wait action wait-2 (decided earlier: wait-1 Approved).",
    });
  });
});
