import assert from "node:assert/strict";
import fc from "fast-check";
import { rollout as rolloutSchema } from "../../shared/ev2/schemas";
import type { AdaptiveCard, Container } from "../../shared/teams/adaptive-card";
import { buildNotificationCard, type NotificationCardInput } from "../../shared/teams/notification-card";
import { notificationKinds, type NotificationKind } from "../../shared/teams/notification-kind";
import type { RolloutView } from "../../shared/teams/rollout-view";
import {
  buildTeamsMessage,
  teamsMessageBytes,
  teamsMessageLimitBytes,
} from "../../shared/teams/teams-message";
import { adaptiveCardProblems, assertValidTeamsMessage } from "./adaptive-card-validator";
import { cardText } from "./card-text-of";
import {
  failedRollout,
  iso,
  makeRollout,
  rejectedRollout,
  stressSummary,
  t0,
  waitingRollout,
} from "./rollout-fixtures";

const runUrl = "https://dev.azure.com/contoso/orders/_build/results?buildId=42";
const approvalUrl =
  "https://dev.azure.com/contoso/orders/_build/results?buildId=42&view=results&approvalId=7";
const now = t0 + 3 * 3600_000;

/** A sensible input for each kind: what TeamsNotify would pass after one rollout GET. */
function inputFor(kind: NotificationKind): NotificationCardInput {
  const base = { kind, runUrl, pipelineName: "orders-release", now };
  switch (kind) {
    case "started":
      return { ...base, rollout: makeRollout({ status: "InProgress", completed: 0 }) };
    case "stageCompleted":
      return { ...base, rollout: makeRollout({ status: "InProgress", completed: 2 }) };
    case "waitingForApproval":
      return { ...base, rollout: waitingRollout(), approvalUrl };
    case "stressTest":
      return {
        ...base,
        rollout: makeRollout({ status: "InProgress", completed: 2 }),
        stress: stressSummary(false),
      };
    case "completed":
      return { ...base, rollout: makeRollout({ completed: 4 }) };
    case "failed":
      return { ...base, rollout: failedRollout() };
    case "cancelled":
      return { ...base, rollout: rejectedRollout() };
    case "rolledBack":
      return {
        ...base,
        rollout: makeRollout({ status: "InProgress", completed: 0 }),
        rollback: { rolledBackRolloutId: "bad-1", rolledBack: rejectedRollout(), timeToSafetySeconds: 12.4 },
      };
  }
}

function headerStyle(card: AdaptiveCard): string | undefined {
  return (card.body[0] as Container).style;
}

describe("buildNotificationCard", () => {
  describe("builds a valid Adaptive Card 1.4 for every kind", () => {
    for (const kind of notificationKinds) {
      it(kind, () => {
        const card = buildNotificationCard(inputFor(kind));
        assertValidTeamsMessage(buildTeamsMessage(card));
      });
    }
  });

  describe("colours the header by outcome", () => {
    const expected: Array<[string, NotificationCardInput, string]> = [
      ["started", inputFor("started"), "accent"],
      ["stageCompleted", inputFor("stageCompleted"), "accent"],
      ["waitingForApproval", inputFor("waitingForApproval"), "warning"],
      ["stressTest passed", { ...inputFor("stressTest"), stress: stressSummary(true) }, "good"],
      ["stressTest failed", inputFor("stressTest"), "attention"],
      ["completed", inputFor("completed"), "good"],
      ["failed", inputFor("failed"), "attention"],
      ["cancelled", inputFor("cancelled"), "warning"],
      ["rolledBack", inputFor("rolledBack"), "warning"],
    ];
    for (const [name, input, style] of expected) {
      it(`${name} → ${style}`, () => assert.equal(headerStyle(buildNotificationCard(input)), style));
    }
  });

  it("shows the rollout's identity, duration and region counts", () => {
    const text = cardText(buildNotificationCard(inputFor("failed")));
    for (const expected of [
      "Service group: Microsoft.Contoso.Orders",
      "Service: orders-api",
      "Environment: PPE",
      "Artifact version: 1.2.3",
      "Rollout: 3f2b1c9e-0d4a-4b8e-9a51-7c6d2e8f1a00",
      "Duration: 15m 0s",
      "Regions: 4 of 12 deployed · 6 pending · 1 failed",
    ]) {
      assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
    }
  });

  it("measures a running rollout to now", () => {
    const text = cardText(buildNotificationCard({ ...inputFor("started"), now: t0 + 83 * 60_000 + 5000 }));
    assert.match(text, /Running for: 1h 23m/);
  });

  it("says where a failed rollout failed, why, and what to do", () => {
    const text = cardText(buildNotificationCard(inputFor("failed")));
    assert.match(text, /Rollout failed at Stage2-Ring1/);
    assert.match(text, /Failed stage: Stage2-Ring1/);
    assert.match(text, /Region: region-2-2/);
    assert.match(text, /Error code: ServiceHealthCheckFailed/);
    assert.match(text, /returned 503 for 5 minutes/);
    assert.match(text, /What to do:\*\* The deployed service failed its health checks/);
  });

  it("lists earlier errors with their own hints, newest first, and counts the rest", () => {
    const rollout = failedRollout();
    rollout.errors = [
      { stage: "Stage1-Ring0", errorCode: "QuotaExceeded", message: "cores" },
      { stage: "Stage1-Ring0", errorCode: "AuthorizationFailed", message: "no role" },
      { stage: "Stage1-Ring0", errorCode: "OperationTimedOut", message: "slow" },
      ...rollout.errors!,
    ];
    const text = cardText(buildNotificationCard({ ...inputFor("failed"), rollout }));
    assert.match(text, /Error code: ServiceHealthCheckFailed/);
    assert.ok(text.indexOf("OperationTimedOut") < text.indexOf("AuthorizationFailed"), "newest first");
    assert.match(text, /A step did not finish in time/);
    assert.match(text, /Access was refused/);
    assert.match(text, /… and 1 more error \(see the EV2 dashboard\)/);
    assert.doesNotMatch(text, /QuotaExceeded/);
  });

  it("shows what waits for approval and links to the approval and the run", () => {
    const card = buildNotificationCard(inputFor("waitingForApproval"));
    const text = cardText(card);
    assert.match(text, /Waiting for approval before Stage3-Ring2/);
    assert.match(text, /Waiting stage: Stage3-Ring2/);
    assert.match(text, /Wait action: wait-1 \(ManualApproval\)/);
    assert.match(text, /Waiting for: 2h 40m/);
    assert.match(text, /Last completed: Stage2-Ring1 · Completed · 3\/3 regions · 9m 0s/);
    assert.ok(text.includes(`[Review the approval](${approvalUrl})`));
    assert.ok(text.includes(`[Open the pipeline run](${runUrl})`));
    assert.deepEqual(
      card.actions?.map((a) => a.title),
      ["Review the approval", "Open the pipeline run", "Open in EV2"],
    );
  });

  it("shows the stress verdict of the stage just deployed next to the approval link", () => {
    const passed = cardText(
      buildNotificationCard({ ...inputFor("waitingForApproval"), stress: stressSummary(true) }),
    );
    assert.match(passed, /Stress test: Passed: \d+ thresholds? met/);
    const failed = cardText(
      buildNotificationCard({ ...inputFor("waitingForApproval"), stress: stressSummary(false) }),
    );
    assert.match(failed, /Stress test: Failed: \d+ of \d+ thresholds? not met/);
    assert.ok(failed.indexOf("Stress test:") < failed.indexOf("Review the approval"));
    // The regions the verdict is about: those deployed since the last decided gate.
    assert.match(passed, /Deployed since the last gate: region-1-1, region-1-2, region-1-3, region-2-1/);
    assert.ok(passed.indexOf("Deployed since the last gate") < passed.indexOf("Stress test:"));
  });

  it("an automatic rejection is not said to be an approver's", () => {
    const input = structuredClone(inputFor("cancelled"));
    const rejected = input.rollout!.waitActions!.findLast((a) => a.status === "Rejected")!;
    rejected.decidedBy = "Automatic gate (https://dev.azure.com/contoso/Orders/_build/results?buildId=1)";
    const text = cardText(buildNotificationCard(input));
    assert.match(text, /The automatic gate rejected the rollout at a wait action on the evidence/);
    assert.doesNotMatch(text, /An approver rejected/);
  });

  it("shows who rejected a cancelled rollout and why", () => {
    const text = cardText(buildNotificationCard(inputFor("cancelled")));
    assert.match(text, /Rollout rejected at Stage3-Ring2/);
    assert.match(text, /Rejected by: release.manager@contoso.com/);
    assert.match(text, /Comment: Error budget exhausted in westus/);
    assert.match(text, /An approver rejected the rollout at a wait action/);
  });

  it("says what was rolled back, why (the bad rollout's rejection) and how fast safety came", () => {
    const rollback = makeRollout({ status: "InProgress", completed: 0 });
    rollback.artifactVersionNumber = "1.2.2";
    const text = cardText(buildNotificationCard({ ...inputFor("rolledBack"), rollout: rollback }));
    assert.match(text, /↩️ Rolled back to 1\.2\.2/);
    assert.match(text, /Rolled back: bad-1/);
    assert.match(text, /Bad version: 1\.2\.3/);
    assert.match(text, /Time to safety: 12s \(bad verdict → rollback accepted by EV2\)/);
    assert.match(text, /Rejected by: release.manager@contoso.com/);
    assert.match(text, /Comment: Error budget exhausted in westus/);
    // The bad rollout reached the first two stages; the rollback has brought none of them back yet.
    assert.match(
      text,
      /Mitigated: Not yet: 0 of 6 regions back on 1\.2\.2; not back yet: region-1-1, region-1-2, region-1-3, region-2-1/,
    );
  });

  it("says the rollback is mitigated once every region that got the bad version is back, and both times", () => {
    // The rollback's first two stages (the bad rollout's regions) done; the last region ends 720 s after creation.
    const rollback = makeRollout({ status: "InProgress", completed: 2 });
    rollback.artifactVersionNumber = "1.2.2";
    const text = cardText(buildNotificationCard({ ...inputFor("rolledBack"), rollout: rollback }));
    assert.match(text, /Time to safety: 12s \(bad verdict → rollback accepted by EV2\)/);
    assert.match(
      text,
      /Mitigated: Yes: 6 of 6 regions back on 1\.2\.2, 12m 0s after EV2 accepted the rollback; 12m 12s from the bad verdict/,
    );
  });

  it("auto chooses rolledBack for a rollback rollout, and the failed card when the rollback failed", () => {
    const rollback = { rolledBackRolloutId: "bad-1" };
    const running = makeRollout({ status: "InProgress", completed: 0 });
    assert.match(
      cardText(buildNotificationCard({ kind: "auto", rollout: running, rollback, now })),
      /Rolled back to/,
    );
    const failed = cardText(buildNotificationCard({ kind: "auto", rollout: failedRollout(), rollback, now }));
    assert.match(failed, /❌ Rollout failed/);
  });

  it("shows a plain cancellation without inventing a rejection", () => {
    const rollout = makeRollout({ completed: 1, status: "Cancelled" });
    const text = cardText(buildNotificationCard({ kind: "cancelled", rollout, now }));
    assert.match(text, /🚫 Rollout cancelled/);
    assert.doesNotMatch(text, /Rejected/);
  });

  it("names the stage just completed and the next one", () => {
    const text = cardText(buildNotificationCard(inputFor("stageCompleted")));
    assert.match(text, /Stage Stage2-Ring1 completed/);
    assert.match(text, /Completed stage: Stage2-Ring1/);
    assert.match(text, /Took: 9m 0s/);
    assert.match(text, /Next stage: Stage3-Ring2 \(in progress\)/);
  });

  it("shows per-endpoint latency, error rate and throughput, and each threshold's verdict", () => {
    const card = buildNotificationCard(inputFor("stressTest"));
    const text = cardText(card);
    assert.match(text, /Stress test of Stage2-Ring1 failed/);
    assert.match(text, /Verdict: Failed: 1 of 2 thresholds not met/);
    assert.match(
      text,
      /GET \/eastus\/api\/orders\np50 12 ms · p95 48 ms · p99 92 ms · errors 7.50% · 241.3 rps/,
    );
    assert.match(
      text,
      /https:\/\/orders.example.com\/westus\/api\/orders\np50 3.2 ms · p95 9.9 ms · p99 15 ms · errors 0.40% · 118.0 rps/,
    );
    assert.match(text, /❌ error_rate < 5% \(observed 7.50%\)\n✅ p95 < 500ms \(observed 48 ms\)/);
  });

  it("links to the approval from a stress card while the rollout waits", () => {
    const card = buildNotificationCard({
      ...inputFor("waitingForApproval"),
      kind: "stressTest",
      stress: stressSummary(),
    });
    assert.deepEqual(
      card.actions?.map((a) => a.title),
      ["Review the approval", "Open the pipeline run", "Open in EV2"],
    );
    const running = buildNotificationCard({ ...inputFor("stressTest"), approvalUrl });
    assert.ok(!running.actions?.some((a) => a.url === approvalUrl), "no approval link when nothing waits");
  });

  it("builds a stress card without a rollout", () => {
    const card = buildNotificationCard({ kind: "stressTest", stress: stressSummary(true), now });
    assertValidTeamsMessage(buildTeamsMessage(card));
    assert.match(cardText(card), /Stress test of Stage2-Ring1 passed/);
  });

  it("resolves auto the way chooseNotificationKind does", () => {
    const text = cardText(buildNotificationCard({ kind: "auto", rollout: failedRollout(), now }));
    assert.match(text, /❌ Rollout failed at/);
  });

  it("puts a given title first and keeps the standard heading under it", () => {
    const card = buildNotificationCard({ ...inputFor("completed"), title: "Orders PPE release" });
    const header = card.body[0] as Container;
    assert.deepEqual(
      header.items.slice(0, 2).map((e) => (e.type === "TextBlock" ? e.text : "")),
      ["Orders PPE release", "✅ Rollout completed"],
    );
  });

  it("links only with Action.OpenUrl and leaves out URLs that are not http(s)", () => {
    const rollout = { ...makeRollout({ completed: 4 }), dashboardUrl: "javascript:alert(1)" };
    const card = buildNotificationCard({ kind: "completed", rollout, runUrl: "not a url", now });
    assert.equal(card.actions, undefined);
    const withLinks = buildNotificationCard(inputFor("completed"));
    assert.deepEqual(
      withLinks.actions?.map((a) => [a.type, a.url]),
      [
        ["Action.OpenUrl", runUrl],
        ["Action.OpenUrl", makeRollout().dashboardUrl],
      ],
    );
  });

  it("refuses a kind without the data it needs", () => {
    assert.throws(
      () => buildNotificationCard({ kind: "failed" }),
      /A failed notification needs the rollout \(rolloutId\)/,
    );
    assert.throws(
      () => buildNotificationCard({ kind: "stressTest", rollout: makeRollout() }),
      /needs the stress test result \(stressResultFile\)/,
    );
  });

  it("takes the EV2 client's parsed rollout as is", () => {
    // The contract's example, parsed by the client's schema: no mapping needed before the card.
    const parsed = rolloutSchema.parse({
      ...failedRollout(),
      stages: failedRollout().stages,
      unknownField: "ignored",
    });
    const view: RolloutView = parsed;
    assertValidTeamsMessage(buildTeamsMessage(buildNotificationCard({ kind: "failed", rollout: view, now })));
  });

  describe("a 50-stage × 20-region rollout", () => {
    const big = { stages: 50, regionsPerStage: 20 };
    const cases: Array<[string, NotificationCardInput]> = [
      ["started", { kind: "started", rollout: makeRollout({ ...big, status: "InProgress" }), runUrl, now }],
      [
        "stageCompleted",
        {
          kind: "stageCompleted",
          rollout: makeRollout({ ...big, completed: 20, status: "InProgress" }),
          now,
        },
      ],
      [
        "waitingForApproval",
        { kind: "waitingForApproval", rollout: waitingRollout({ ...big, at: 25 }), approvalUrl, runUrl, now },
      ],
      ["completed", { kind: "completed", rollout: makeRollout({ ...big, completed: 50 }), now }],
      ["failed", { kind: "failed", rollout: failedRollout({ ...big, at: 10 }), runUrl, now }],
    ];
    for (const [name, input] of cases) {
      it(`${name}: stays under 28 KB, valid, with the cut lists counted`, () => {
        const card = buildNotificationCard(input);
        const message = buildTeamsMessage(card);
        assertValidTeamsMessage(message);
        assert.ok(teamsMessageBytes(message) < teamsMessageLimitBytes);
        const text = cardText(card);
        assert.match(text, /Stages \(50\)/);
        if (name !== "completed") assert.match(text, /… and \d+ more stages \(/);
        else assert.match(text, /… 35 earlier stages \(35 completed\)/);
      });
    }

    it("failed: counts the stages and regions it leaves out", () => {
      const text = cardText(buildNotificationCard(cases[4][1]));
      // Stages 4..18 are shown around the failed 11th; 31 follow, all pending.
      assert.match(text, /… 3 earlier stages \(3 completed\)/);
      assert.match(text, /… and 32 more stages \(32 pending\)/);
      assert.match(text, /… and 8 more regions \(8 cancelled\)/);
      assert.match(text, /Regions: 201 of 1000 deployed · 780 pending · 1 failed/);
    });
  });

  it("stays under 28 KB when every text is huge", () => {
    const long = (c: string) => c.repeat(5000);
    const rollout = failedRollout({ stages: 60, regionsPerStage: 40, at: 30 });
    rollout.serviceGroupName = long("g");
    rollout.serviceId = long("s");
    rollout.stages.forEach((s) => {
      s.name = `${s.name}-${long("n")}`;
      s.regions.forEach((r) => (r.name = `${r.name}-${long("r")}`));
    });
    rollout.errors = Array.from({ length: 200 }, (_, i) => ({
      stage: rollout.stages[30].name,
      region: long("x"),
      errorCode: `Code${i}${long("c")}`,
      message: long("m 🚀"),
      timestamp: iso(i),
    }));
    const stress = {
      passed: false,
      endpoints: Array.from({ length: 300 }, (_, i) => ({
        name: `${i}${long("e")}`,
        p50Ms: 1,
        p95Ms: 2,
        p99Ms: 3,
        errorRate: 50,
        rps: 1,
      })),
      thresholds: Array.from({ length: 300 }, (_, i) => ({
        expression: `${i}${long("t")}`,
        passed: false,
        observed: long("o"),
      })),
    };
    const longUrl = `https://dev.azure.com/${"p".repeat(2000)}`;
    for (const kind of notificationKinds) {
      const card = buildNotificationCard({
        kind,
        rollout: kind === "cancelled" ? { ...rollout, status: "Cancelled" } : rollout,
        stress,
        rollback: { rolledBackRolloutId: long("b"), rolledBack: rollout, timeToSafetySeconds: 1e12 },
        runUrl: longUrl,
        approvalUrl: longUrl,
        title: long("T"),
        pipelineName: long("P"),
        now,
      });
      assertValidTeamsMessage(buildTeamsMessage(card));
    }
  });

  it("stays valid and under 28 KB for any rollout shape (property)", () => {
    const status = fc.constantFrom(
      "NotStarted",
      "InProgress",
      "Waiting",
      "Completed",
      "Failed",
      "Cancelled",
      "Skipped",
      "Whatever",
    );
    const text = fc.string({ maxLength: 300 });
    const region = fc.record({
      name: text,
      status,
      startTime: fc.constantFrom(null, iso(5)),
      endTime: fc.constantFrom(null, iso(50), "garbage"),
    });
    const stage = fc.record({
      name: text,
      status,
      startTime: fc.constantFrom(null, iso(0)),
      endTime: fc.constantFrom(null, iso(60)),
      regions: fc.array(region, { maxLength: 25 }),
    });
    const rollout = fc.record({
      stages: fc.array(stage, { maxLength: 60 }),
      status,
      currentStage: fc.option(text),
      errors: fc.array(fc.record({ stage: text, region: fc.option(text), errorCode: text, message: text }), {
        maxLength: 30,
      }),
      waitActions: fc.array(
        fc.record({
          actionId: text,
          stage: text,
          status: fc.constantFrom("Waiting", "Approved", "Rejected"),
          waitingSince: fc.constantFrom(iso(1), "bad"),
        }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(rollout, fc.constantFrom(...notificationKinds), (shape, kind) => {
        const view: RolloutView = { ...makeRollout(), ...shape };
        const card = buildNotificationCard({
          kind,
          rollout: view,
          stress: stressSummary(false),
          rollback: { rolledBackRolloutId: "bad-1", rolledBack: view, timeToSafetySeconds: 3.2 },
          now,
          runUrl,
        });
        const message = buildTeamsMessage(card);
        assert.ok(teamsMessageBytes(message) < teamsMessageLimitBytes);
        const problems = adaptiveCardProblems(card, { allowedActionTypes: ["Action.OpenUrl"] });
        assert.deepEqual(problems, []);
      }),
      { numRuns: 60, seed: 20250301 },
    );
  });
});
