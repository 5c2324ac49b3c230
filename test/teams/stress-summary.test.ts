import assert from "node:assert/strict";
import { parseResultDocument } from "../../shared/stress/merge";
import { buildNotificationCard } from "../../shared/teams/notification-card";
import { stressSummaryFromResult } from "../../shared/teams/stress-summary";
import { buildTeamsMessage } from "../../shared/teams/teams-message";
import { assertValidTeamsMessage } from "./adaptive-card-validator";
import { cardText } from "./card-text-of";
import { oneToHundredMs, stressResultDocument } from "./stress-result-fixture";

describe("stressSummaryFromResult (StressTestStage result document → card)", () => {
  const east = { name: "east", url: "https://east.contoso.com/api/orders", latenciesMs: oneToHundredMs };
  const west = {
    name: "west",
    url: "https://west.contoso.com/api/orders",
    latenciesMs: oneToHundredMs.map((ms) => ms * 10),
    failures: 10,
  };

  it("maps the figures of each endpoint and overall", () => {
    const summary = stressSummaryFromResult(stressResultDocument([east, west], "p95 < 500ms"));
    assert.equal(summary.passed, false);
    assert.equal(summary.aborted, false);
    assert.equal(summary.durationSeconds, 30);
    assert.deepEqual(
      summary.endpoints.map((e) => [e.name, e.url, e.errorRate]),
      [
        ["east", east.url, 0],
        ["west", west.url, 10],
      ],
    );
    const [e] = summary.endpoints;
    // HdrHistogram keeps 3 significant digits: within 0.1 % of the recorded values.
    assert.ok(
      Math.abs(e.p50Ms! - 50) < 0.1 && Math.abs(e.p95Ms! - 95) < 0.1 && Math.abs(e.p99Ms! - 99) < 0.1,
    );
    assert.ok(Math.abs(e.rps - 100 / 30) < 0.01);
    assert.equal(summary.overall?.errorRate, 5);
  });

  it("turns each verdict into the expression as written, pass/fail and the observed value", () => {
    const summary = stressSummaryFromResult(
      stressResultDocument([east, west], "error_rate < 5%\nwest: p95 < 500ms\nrps > 1"),
    );
    const byExpression = new Map(summary.thresholds.map((t) => [t.expression, t]));
    assert.deepEqual(byExpression.get("west: p95 < 500ms"), {
      expression: "west: p95 < 500ms",
      passed: false,
      observed: "950 ms",
    });
    assert.deepEqual(byExpression.get("rps > 1"), {
      expression: "rps > 1",
      passed: true,
      observed: "6.7 rps",
    });
    // error_rate is checked overall and for each endpoint.
    assert.deepEqual(
      summary.thresholds.filter((t) => t.expression.endsWith("error_rate < 5%")).map((t) => t.observed),
      ["5.00%", "0%", "10.00%"],
    );
  });

  it("reads n/a and 'nothing measured' when no request completed, and says the run was stopped", () => {
    const doc = stressResultDocument([{ ...east, latenciesMs: [] }], "p95 < 500ms", { aborted: true });
    const summary = stressSummaryFromResult(doc);
    assert.deepEqual(summary.endpoints[0], {
      name: "east",
      url: east.url,
      p50Ms: null,
      p95Ms: null,
      p99Ms: null,
      errorRate: null,
      rps: 0,
    });
    assert.deepEqual(summary.thresholds, [
      { expression: "p95 < 500ms", passed: false, observed: "nothing measured" },
    ]);
    const text = cardText(buildNotificationCard({ kind: "stressTest", stress: summary }));
    assert.match(text, /Verdict: Failed: 1 of 1 threshold not met \(the run was stopped before the end\)/);
    assert.match(text, /p50 n\/a · p95 n\/a · p99 n\/a · errors n\/a · 0\.0 rps/);
  });

  it("says where, when and how fast a windowed abort threshold stopped the load", () => {
    const doc = {
      ...stressResultDocument([east, west], "error_rate < 5% over 2s abort"),
      earlyAbort: {
        line: 1,
        threshold: "error_rate < 5% over 2s abort",
        scope: "endpoint" as const,
        endpoint: "west",
        metric: "error_rate" as const,
        operator: "<" as const,
        limit: 5,
        unit: "percent" as const,
        windowSeconds: 2,
        observed: 50,
        atSeconds: 3.04,
        firstFailingSecond: 1,
        timeToDetectSeconds: 2.04,
      },
    };
    const summary = stressSummaryFromResult(parseResultDocument(JSON.stringify(doc), "result.json"));
    assert.equal(
      summary.earlyAbort,
      "west: error_rate < 5% over 2s abort breached at 3 s; time to detect 2 s (from the first failing second)",
    );
    const card = buildNotificationCard({ kind: "stressTest", stress: summary });
    assertValidTeamsMessage(buildTeamsMessage(card));
    assert.match(
      cardText(card),
      /Stopped early: west: error_rate < 5% over 2s abort breached at 3 s; time to detect 2 s/,
    );
    // A run that ran to its end says nothing of the kind.
    const whole = stressSummaryFromResult(stressResultDocument([east, west], "p95 < 500ms"));
    assert.equal(whole.earlyAbort, undefined);
    assert.doesNotMatch(
      cardText(buildNotificationCard({ kind: "stressTest", stress: whole })),
      /Stopped early/,
    );
  });

  it("makes a valid card from a result file as the stress task writes it", () => {
    const text = JSON.stringify(stressResultDocument([east, west], "error_rate < 20%\np95 < 2s"));
    const summary = stressSummaryFromResult(parseResultDocument(text, "result.json"));
    assert.equal(summary.passed, true);
    const card = buildNotificationCard({ kind: "stressTest", stress: summary });
    assertValidTeamsMessage(buildTeamsMessage(card));
    const shown = cardText(card);
    assert.match(shown, /Stress test passed/);
    assert.match(shown, /All endpoints: p50 \d+ ms · p95 \d+ ms · p99 \d+ ms · errors 5\.00% · 6\.7 rps/);
    assert.match(shown, /✅ west: error_rate < 20% \(observed 10\.00%\)/);
  });
});
