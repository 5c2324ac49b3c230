import assert from "node:assert/strict";
import {
  DEFAULT_THRESHOLDS_TEXT,
  THRESHOLD_FORMS,
  ThresholdSyntaxError,
  checkThresholdScopes,
  evaluateThresholds,
  parseThresholdLine,
  parseThresholds,
  type StressThreshold,
  type ThresholdObservables,
} from "../../shared/stress";

describe("stress thresholds: grammar", () => {
  const valid: [string, Partial<StressThreshold>][] = [
    ["error_rate < 1%", { metric: "error_rate", operator: "<", limit: 1, unit: "%" }],
    ["error_rate<0.5%", { metric: "error_rate", operator: "<", limit: 0.5, unit: "%" }],
    ["success_rate >= 95%", { metric: "success_rate", operator: ">=", limit: 95, unit: "%" }],
    ["p95 < 500ms", { metric: "p95", operator: "<", limit: 500, unit: "ms" }],
    ["p99 < 1s", { metric: "p99", operator: "<", limit: 1000, unit: "ms" }],
    ["p99.9 < 1.5s", { metric: "p99.9", operator: "<", limit: 1500, unit: "ms" }],
    ["p50 <= 200ms", { metric: "p50", operator: "<=", limit: 200, unit: "ms" }],
    ["p90 < 800us", { metric: "p90", operator: "<", limit: 0.8, unit: "ms" }],
    ["avg < 300ms", { metric: "avg", operator: "<", limit: 300, unit: "ms" }],
    ["mean < 300ms", { metric: "avg", operator: "<", limit: 300, unit: "ms" }],
    ["min > 1ms", { metric: "min", operator: ">", limit: 1, unit: "ms" }],
    ["max < 2s", { metric: "max", operator: "<", limit: 2000, unit: "ms" }],
    ["rps > 100", { metric: "rps", operator: ">", limit: 100, unit: "req/s" }],
    ["rps >= 99.5/s", { metric: "rps", operator: ">=", limit: 99.5, unit: "req/s" }],
    ["P95 < 500MS", { metric: "p95", operator: "<", limit: 500, unit: "ms" }],
    [
      "https://x/health: p95 < 200ms",
      { endpoint: "https://x/health", metric: "p95", operator: "<", limit: 200, unit: "ms" },
    ],
    [
      "https://x:8443/api?q=1: error_rate < 2%",
      { endpoint: "https://x:8443/api?q=1", metric: "error_rate", limit: 2, unit: "%" },
    ],
    ["create order: p99 < 1s", { endpoint: "create order", metric: "p99", limit: 1000 }],
    // Sliding windows: the same conditions, judged on the last N seconds while the load runs.
    [
      "error_rate < 1% over 30s abort",
      { metric: "error_rate", limit: 1, unit: "%", window: { seconds: 30, abort: true } },
    ],
    ["p95 < 500ms over 1m", { metric: "p95", limit: 500, window: { seconds: 60, abort: false } }],
    ["p99 < 1s over 30 s ABORT", { metric: "p99", limit: 1000, window: { seconds: 30, abort: true } }],
    ["rps > 100 over 10 seconds", { metric: "rps", limit: 100, window: { seconds: 10, abort: false } }],
    ["max < 2s over 2 minutes abort", { metric: "max", limit: 2000, window: { seconds: 120, abort: true } }],
    [
      "https://x:8443/api: error_rate < 2% over 10s abort",
      { endpoint: "https://x:8443/api", metric: "error_rate", window: { seconds: 10, abort: true } },
    ],
  ];
  for (const [text, expected] of valid) {
    it(`parses "${text}"`, () => {
      const t = parseThresholdLine(`  ${text}  `, 4);
      assert.ok(t);
      assert.equal(t.line, 4);
      assert.equal(t.text, text);
      for (const [key, value] of Object.entries(expected))
        assert.deepEqual(t[key as keyof StressThreshold], value, key);
      if (!("endpoint" in expected)) assert.equal(t.endpoint, undefined);
    });
  }

  const invalid: [string, string][] = [
    ["p95 < 500", "p95 needs a time unit"],
    ["p95 < 5%", "p95 needs a time unit"],
    ["error_rate < 1", "error_rate is a percentage"],
    ["error_rate < 1ms", "error_rate is a percentage"],
    ["success_rate > 120%", "at most 100%"],
    ["rps > 100ms", "rps takes a plain number"],
    ["p97 < 1s", 'unknown metric "p97"'],
    ["latency < 1s", 'unknown metric "latency"'],
    ["p95 = 500ms", '"=" is not an operator'],
    ["p95 == 500ms", '"==" is not an operator'],
    ["p95 < -5ms", "must not be negative"],
    ["p95 <", "not a threshold"],
    ["p95 less than 500ms", "not a threshold"],
    ["https://x/health p95 < 200ms", "not a threshold"],
    [": p95 < 200ms", "not a threshold"],
    ["error_rate < 1% abort", '"abort" needs a window to watch: write e.g. error_rate < 1% over 30s abort'],
    ["error_rate < 1% over 30", 'the window "30" needs a unit, s or m (e.g. over 30s)'],
    ["error_rate < 1% over 30 abort", 'the window "30" needs a unit, s or m'],
    ["error_rate < 1% over 30h", 'the window "30h" needs a unit, s or m'],
    ["error_rate < 1% over soon", '"over soon" is not a window'],
    ["p95 < 500ms over 0s", "the window is a whole number of seconds from 1 to 600 (got 0s)"],
    ["p95 < 500ms over 1.5s", "a whole number of seconds"],
    ["p95 < 500ms over 11m", "from 1 to 600 (got 11m)"],
    ["p95 < 1.2x baseline over 30s", "a sliding window takes a fixed limit, not the baseline"],
    ["latency not slower than baseline over 30s abort", "a sliding window takes a fixed limit"],
  ];
  for (const [text, reason] of invalid) {
    it(`rejects "${text}" naming line, text, reason and the valid forms`, () => {
      assert.throws(
        () => parseThresholds(`p95 < 500ms\n\n${text}`),
        (err: unknown) => {
          assert.ok(err instanceof ThresholdSyntaxError);
          assert.equal(err.line, 3);
          assert.equal(err.input, "thresholds");
          assert.ok(err.message.startsWith(`thresholds line 3 "${text}": `), err.message);
          assert.ok(err.message.includes(reason), err.message);
          assert.ok(err.message.endsWith(THRESHOLD_FORMS), err.message);
          return true;
        },
      );
    });
  }

  it("skips blank lines and # comments, keeping line numbers of the text", () => {
    const parsed = parseThresholds("# latency\n\np95 < 500ms\r\n  # errors\nerror_rate < 1%\n");
    assert.deepEqual(
      parsed.map((t) => [t.line, t.text]),
      [
        [3, "p95 < 500ms"],
        [5, "error_rate < 1%"],
      ],
    );
  });

  it("uses success_rate >= 95% and p95 < 500ms when the input is empty or only comments", () => {
    for (const input of [undefined, "", "  \n", "# nothing yet"]) {
      const parsed = parseThresholds(input);
      assert.deepEqual(
        parsed.map((t) => t.text),
        ["success_rate >= 95%", "p95 < 500ms"],
      );
    }
    assert.equal(DEFAULT_THRESHOLDS_TEXT, "success_rate >= 95%\np95 < 500ms");
  });

  it("requires a scoped line to name a loaded endpoint by name or URL", () => {
    const endpoints = [
      { name: "orders", url: "https://a/api/orders" },
      { name: "https://a/health", url: "https://a/health" },
    ];
    checkThresholdScopes(
      parseThresholds("orders: p95 < 1s\nhttps://a/api/orders: p99 < 2s\nhttps://a/health: p95 < 1s"),
      endpoints,
    );
    assert.throws(
      () => checkThresholdScopes(parseThresholds("p95 < 1s\nhttps://b/health: p95 < 1s"), endpoints),
      /thresholds line 2 "https:\/\/b\/health: p95 < 1s": "https:\/\/b\/health" is none of the endpoints loaded \(orders, https:\/\/a\/health\)/,
    );
  });
});

describe("stress thresholds: verdicts", () => {
  const figures = (p95: number, errorRate: number, rps = 50): ThresholdObservables => ({
    errorRatePercent: errorRate,
    successRatePercent: 100 - errorRate,
    requestsPerSecond: rps,
    latencyMs: {
      min: 1,
      mean: p95 / 2,
      p50: p95 / 3,
      p90: p95 * 0.9,
      p95,
      p99: p95 * 1.5,
      p99_9: p95 * 2,
      max: p95 * 3,
    },
  });

  const cases: [string, ThresholdObservables, boolean, string][] = [
    ["p95 < 500ms", figures(499.9, 0), true, "p95 499.9 ms, limit < 500 ms"],
    ["p95 < 500ms", figures(500, 0), false, "p95 500 ms, limit < 500 ms"],
    ["p95 <= 500ms", figures(500, 0), true, "p95 500 ms, limit <= 500 ms"],
    ["error_rate < 1%", figures(1, 0.99), true, "error_rate 0.99%, limit < 1%"],
    ["error_rate < 1%", figures(1, 5), false, "error_rate 5%, limit < 1%"],
    ["success_rate >= 95%", figures(1, 5), true, "success_rate 95%, limit >= 95%"],
    ["success_rate > 95%", figures(1, 5), false, "success_rate 95%, limit > 95%"],
    ["rps > 100", figures(1, 0, 100.5), true, "rps 100.5 req/s, limit > 100 req/s"],
    ["rps > 100", figures(1, 0, 99), false, "rps 99 req/s, limit > 100 req/s"],
    ["avg < 300ms", figures(500, 0), true, "avg 250 ms, limit < 300 ms"],
    ["max < 1s", figures(400, 0), false, "max 1200 ms, limit < 1000 ms"],
    ["p99.9 < 1s", figures(400, 0), true, "p99.9 800 ms, limit < 1000 ms"],
    ["min >= 1ms", figures(400, 0), true, "min 1 ms, limit >= 1 ms"],
    ["p50 < 100us", figures(0.27, 0), true, "p50 0.09 ms, limit < 0.1 ms"],
  ];
  for (const [text, observed, passed, message] of cases) {
    it(`${text} with ${message.split(",")[0]} → ${passed ? "passes" : "fails"}`, () => {
      const [verdict] = evaluateThresholds(parseThresholds(text), observed, []);
      assert.equal(verdict.passed, passed);
      assert.equal(verdict.message, message);
      assert.equal(verdict.scope, "overall");
      assert.equal(verdict.threshold, text);
    });
  }

  it("fails a threshold when there is nothing to measure", () => {
    const nothing: ThresholdObservables = {
      errorRatePercent: null,
      successRatePercent: null,
      requestsPerSecond: 0,
      latencyMs: null,
    };
    const verdicts = evaluateThresholds(parseThresholds("p95 < 1s\nerror_rate < 1%"), nothing, []);
    assert.deepEqual(
      verdicts.map((v) => [v.passed, v.observed, v.message]),
      [
        [false, null, "p95: nothing to measure (no request answered), limit < 1000 ms"],
        [false, null, "error_rate: nothing to measure (no request completed), limit < 1%"],
      ],
    );
  });

  it("checks an unscoped line overall and per endpoint (rps overall only); a scoped line on its endpoint", () => {
    const endpoints = [
      { name: "east", url: "https://east/api", observed: figures(100, 0, 30) },
      { name: "west", url: "https://west/api", observed: figures(900, 0, 30) },
    ];
    const verdicts = evaluateThresholds(
      parseThresholds("p95 < 500ms\nrps > 50\nhttps://west/api: error_rate < 1%"),
      figures(600, 0, 60),
      endpoints,
    );
    assert.deepEqual(
      verdicts.map((v) => [v.line, v.scope, v.endpoint ?? "", v.threshold, v.passed]),
      [
        [1, "overall", "", "p95 < 500ms", false],
        [1, "endpoint", "east", "p95 < 500ms", true],
        [1, "endpoint", "west", "p95 < 500ms", false],
        [2, "overall", "", "rps > 50", true],
        [3, "endpoint", "west", "error_rate < 1%", true],
      ],
    );
  });

  it("checks a single endpoint's figures once, overall", () => {
    const verdicts = evaluateThresholds(parseThresholds("p95 < 500ms"), figures(100, 0), [
      { name: "only", url: "https://only", observed: figures(100, 0) },
    ]);
    assert.deepEqual(
      verdicts.map((v) => v.scope),
      ["overall"],
    );
  });
});
