import assert from "node:assert/strict";
import {
  StressInputError,
  ThresholdSyntaxError,
  checkStressTestOptions,
  compareDistributions,
  completeEndpoint,
  mergeResults,
  parseResultDocument,
  parseThresholdLine,
  parseThresholds,
  renderJUnitXml,
  renderMarkdownSummary,
  validateLoadSettings,
  type BaselineSource,
  type StressEndpoint,
  type StressResultDocument,
  type StressThreshold,
} from "../../shared/stress";
import { erfc } from "../../shared/stress/distribution";
import { createLatencyHistogram, type LatencyHistogram } from "../../shared/stress/histogram";
import { EndpointRecorder } from "../../shared/stress/measurements";
import { buildResultDocument } from "../../shared/stress/result";

/** The generator the scipy reference values below were computed from. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function histogramOf(valuesUs: readonly number[]): LatencyHistogram {
  const h = createLatencyHistogram();
  for (const v of valuesUs) h.recordValue(v);
  return h;
}

interface EndpointRun {
  endpoint: StressEndpoint;
  /** Latencies (ms) of answered requests. */
  latencies: readonly number[];
  failures?: number;
}

/** A result document of answered requests with the given latencies. */
function documentOf(
  runs: readonly EndpointRun[],
  thresholds = "",
  baseline?: BaselineSource,
): StressResultDocument {
  const totals = runs.map(({ endpoint, latencies, failures = 0 }) => {
    const recorder = new EndpointRecorder(endpoint.expectedStatus, false);
    for (const ms of latencies) recorder.recordResponse(200, ms, ms);
    for (let i = 0; i < failures; i++) recorder.recordResponse(500, 1, 1);
    return recorder.totals(2);
  });
  return buildResultDocument({
    endpoints: runs.map((r) => r.endpoint),
    totals,
    thresholds: parseThresholds(thresholds),
    load: {
      model: "closed",
      connections: 4,
      pipelining: 1,
      durationSeconds: 2,
      warmupSeconds: 0,
      timeoutMs: 1000,
    },
    aborted: false,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:02.000Z",
    measuredSeconds: 2,
    jobs: 1,
    baseline,
  });
}

/** 100.0 .. 104.9 ms, or those times `factor`. */
const around100 = (factor = 1) => Array.from({ length: 50 }, (_, i) => (100 + i * 0.1) * factor);
const orders = (region: string) =>
  completeEndpoint({ url: "https://{region}.contoso.com/api/orders" }, { region });
const source = (doc: StressResultDocument): BaselineSource => ({ doc, source: "canary/result.json" });

describe("stress baseline: the threshold grammar", () => {
  const valid: [string, Partial<StressThreshold> & Record<string, unknown>][] = [
    [
      "p95 < 1.2x baseline",
      { metric: "p95", operator: "<", limit: 0, unit: "ms", baseline: { factor: 1.2 } },
    ],
    [
      "p99 <= 1.5 x baseline",
      { metric: "p99", operator: "<=", limit: 0, unit: "ms", baseline: { factor: 1.5 } },
    ],
    ["p95 < baseline", { metric: "p95", limit: 0, baseline: { factor: 1 } }],
    [
      "error_rate < baseline + 0.5%",
      { metric: "error_rate", limit: 0.5, unit: "%", baseline: { factor: 1 } },
    ],
    ["p95 < baseline + 50ms", { metric: "p95", limit: 50, unit: "ms", baseline: { factor: 1 } }],
    ["p95 < 1.1x baseline + 0.5s", { metric: "p95", limit: 500, unit: "ms", baseline: { factor: 1.1 } }],
    ["p50 < baseline - 1ms", { metric: "p50", limit: -1, unit: "ms", baseline: { factor: 1 } }],
    [
      "rps > 0.8x baseline",
      { metric: "rps", operator: ">", limit: 0, unit: "req/s", baseline: { factor: 0.8 } },
    ],
    [
      "success_rate >= baseline - 1%",
      { metric: "success_rate", limit: -1, unit: "%", baseline: { factor: 1 } },
    ],
    ["orders: p95 < 1.2X Baseline", { endpoint: "orders", metric: "p95", baseline: { factor: 1.2 } }],
    [
      "latency not slower than baseline",
      { metric: "latency", unit: "δ", limit: 0.147, alpha: 0.01, factor: 1 },
    ],
    ["latency is not slower than 1.1x the baseline", { metric: "latency", factor: 1.1 }],
    [
      "https://x/health: latency not slower than baseline",
      { endpoint: "https://x/health", metric: "latency" },
    ],
  ];
  for (const [text, expected] of valid) {
    it(`parses "${text}"`, () => {
      const t = parseThresholdLine(text, 2) as unknown as Record<string, unknown>;
      assert.ok(t);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(t[key], value, key);
    });
  }

  const invalid: [string, RegExp][] = [
    [
      "p95 not slower than baseline",
      /compares whole latency distributions: write "latency not slower than baseline"; to bound one figure, write e\.g\. "p95 < 1\.1x baseline"/,
    ],
    ["latency not slower than 0x baseline", /the factor must be greater than 0/],
    ["p95 < 0x baseline", /the factor must be greater than 0/],
    ["p95 < baseline + 5", /p95 needs a time unit/],
    ["error_rate < baseline + 1ms", /error_rate is a percentage/],
    ["p95 = 1.2x baseline", /"=" is not an operator/],
    ["p97 < 1.2x baseline", /unknown metric "p97"/],
    ["p95 < 1.2x baselines", /not a threshold/],
  ];
  for (const [text, reason] of invalid) {
    it(`rejects "${text}"`, () => {
      assert.throws(
        () => parseThresholds(text),
        (err: unknown) => err instanceof ThresholdSyntaxError && reason.test(err.message) && err.line === 1,
      );
    });
  }
});

describe("stress baseline: the Mann-Whitney U test over histograms", () => {
  it("erfc is accurate to 1e-7", () => {
    for (const [x, expected] of [
      [0, 1],
      [1, 0.157299207050285],
      [-1, 1.842700792949715],
      [3, 2.209049699858544e-5],
    ]) {
      assert.ok(Math.abs(erfc(x) - expected) <= 1.2e-7 * expected, `erfc(${x}) = ${erfc(x)}`);
    }
  });

  // scipy.stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True), scipy 1.17.1,
  // alternative "greater" (pSlower) and "less" (pFaster), on the samples generated below.
  const references: [nA: number, nB: number, shiftUs: number, u: number, pSlower: number, pFaster: number][] =
    [
      [30, 40, 0, 602.5, 0.4905315757929802, 0.5142009695773951],
      [200, 150, 20, 16250.5, 0.09103496676168399, 0.9091397429460248],
      [1000, 1200, -5, 595507, 0.6190106326457386, 0.38101505264423213],
      [25, 25, 300, 527.5, 1.5772839928785744e-5, 0.9999855149450907],
    ];
  it("gives scipy's U and one-sided p-values (ties and continuity corrected)", () => {
    const random = lcg(7);
    for (const [nA, nB, shift, u, pSlower, pFaster] of references) {
      const a = Array.from({ length: nA }, () => 100 + Math.floor(random() * 800) + shift);
      const b = Array.from({ length: nB }, () => 100 + Math.floor(random() * 800));
      const d = compareDistributions(histogramOf(a), histogramOf(b));
      assert.equal(d.u, u);
      assert.ok(d.comparable);
      assert.ok(
        Math.abs(d.pSlower! - pSlower) < 1e-6 * Math.max(pSlower, 1e-3),
        `pSlower ${d.pSlower} vs ${pSlower}`,
      );
      assert.ok(Math.abs(d.pFaster! - pFaster) < 1e-6, `pFaster ${d.pFaster} vs ${pFaster}`);
    }
  });

  it("counts pairs as a brute force does, ties half, with the baseline scaled by a margin", () => {
    const random = lcg(42);
    const a = Array.from({ length: 60 }, () => 50 + Math.floor(random() * 40));
    const b = Array.from({ length: 45 }, () => 50 + Math.floor(random() * 40));
    for (const factor of [1, 1.1]) {
      let pairs = 0;
      for (const x of a) for (const y of b) pairs += x > y * factor ? 1 : x === y * factor ? 0.5 : 0;
      const d = compareDistributions(histogramOf(a), histogramOf(b), factor);
      assert.equal(d.u, pairs, `factor ${factor}`);
      assert.equal(d.baselineFactor, factor);
      assert.equal(d.probabilitySlower, Number((pairs / (60 * 45)).toFixed(6)));
      assert.equal(d.cliffsDelta, Number(((2 * pairs) / (60 * 45) - 1).toFixed(6)));
    }
  });

  it("says slower, faster or the same, and only with the effect size to back it", () => {
    const base = histogramOf(around100().map((ms) => ms * 1000));
    const verdict = (factor: number) =>
      compareDistributions(histogramOf(around100(factor).map((ms) => ms * 1000)), base);
    const slower = verdict(1.3);
    assert.deepEqual([slower.verdict, slower.effect, slower.cliffsDelta], ["slower", "large", 1]);
    assert.ok(slower.pSlower! < 1e-10);
    assert.deepEqual([verdict(0.7).verdict, verdict(0.7).cliffsDelta], ["faster", -1]);
    const same = verdict(1);
    assert.deepEqual([same.verdict, same.effect, same.cliffsDelta], ["same", "negligible", 0]);
    assert.ok(same.pSlower! > 0.4);
  });

  it("needs both: a significant but negligible shift, and a large but not significant one, are the same", () => {
    const spaced = (n: number, stepUs: number, shift: number) =>
      histogramOf(Array.from({ length: n }, (_, i) => 10_000 + (i + shift) * stepUs));
    // 5000 a side, shifted by 300 of 5000 places: p tiny, δ ≈ 0.12 (negligible).
    const tiny = compareDistributions(spaced(5000, 10, 300), spaced(5000, 10, 0));
    assert.ok(tiny.pSlower! < 0.01 && tiny.cliffsDelta > 0 && tiny.cliffsDelta < 0.147, JSON.stringify(tiny));
    assert.equal(tiny.verdict, "same");
    const tinyFaster = compareDistributions(spaced(5000, 10, 0), spaced(5000, 10, 300));
    assert.ok(tinyFaster.pFaster! < 0.01 && tinyFaster.cliffsDelta > -0.147, JSON.stringify(tinyFaster));
    assert.equal(tinyFaster.verdict, "same");
    // 20 a side, shifted by 3 of 20 places: δ ≈ 0.28 (small, not negligible) but p > 0.01.
    const few = compareDistributions(spaced(20, 1000, 3), spaced(20, 1000, 0));
    assert.ok(few.pSlower! > 0.01 && few.cliffsDelta >= 0.147, JSON.stringify(few));
    assert.equal(few.verdict, "same");
    const fewFaster = compareDistributions(spaced(20, 1000, 0), spaced(20, 1000, 3));
    assert.ok(fewFaster.pFaster! > 0.01 && fewFaster.cliffsDelta <= -0.147, JSON.stringify(fewFaster));
    assert.equal(fewFaster.verdict, "same");
  });

  it("does not test fewer than 20 requests a side", () => {
    const d = compareDistributions(
      histogramOf([1000, 2000, 3000]),
      histogramOf(around100().map((ms) => ms * 1000)),
    );
    assert.equal(d.comparable, false);
    assert.equal(d.pSlower, null);
    assert.equal(d.verdict, "same");
    assert.match(
      d.note ?? "",
      /too few answered requests to test \(3 now, 50 in the baseline; at least 20 each\)/,
    );
  });
});

describe("stress baseline: comparing a run with its baseline", () => {
  const baselineDoc = () =>
    documentOf([
      { endpoint: orders("eastus2euap"), latencies: around100() },
      { endpoint: orders("centraluseuap"), latencies: around100(), failures: 1 },
      {
        endpoint: completeEndpoint({ url: "https://contoso.com/health", name: "health" }),
        latencies: around100(0.1),
      },
    ]);

  it("judges relative thresholds against the baseline: 30% slower fails p95 < 1.2x baseline, unchanged passes", () => {
    const thresholds =
      "p95 < 1.2x baseline\nlatency not slower than baseline\nlatency not slower than 1.5x baseline";
    // The canary stage: the same endpoint in two regions.
    const canary = documentOf([
      { endpoint: orders("eastus2euap"), latencies: around100() },
      { endpoint: orders("centraluseuap"), latencies: around100() },
    ]);
    const judge = (factor: number) =>
      documentOf([{ endpoint: orders("uksouth"), latencies: around100(factor) }], thresholds, source(canary));

    const unchanged = judge(1);
    assert.equal(unchanged.passed, true, JSON.stringify(unchanged.thresholds, null, 1));
    const slower = judge(1.3);
    assert.equal(slower.passed, false);
    assert.deepEqual(
      slower.thresholds.map((v) => [v.threshold, v.scope, v.passed]),
      [
        ["p95 < 1.2x baseline", "overall", false],
        ["latency not slower than baseline", "overall", false],
        ["latency not slower than 1.5x baseline", "overall", true],
      ],
    );
    const [p95, distribution] = slower.thresholds;
    assert.match(p95.message, /^p95 136\.\d+ ms, limit < 125\.\d+ ms \(1\.2x baseline 104\.\d+ ms\)$/);
    assert.equal(p95.baseline, slower.baseline!.overall.figures.p95Ms.baseline);
    assert.ok(Math.abs(p95.limit! - 1.2 * p95.baseline!) < 1e-9);
    assert.match(
      distribution.message,
      /^latency δ \+1 \(large\), P\(slower\) 1, one-sided p < 0\.0001 \(slower\), 50 vs 100 requests; slower than the baseline \(slower means p < 0\.01 and δ ≥ 0\.147\)$/,
    );
    assert.equal(distribution.distribution?.verdict, "slower");
  });

  it("reports each figure's change per scope, matching endpoints by name or by URL as written (pooled)", () => {
    const current = documentOf(
      [
        { endpoint: orders("uksouth"), latencies: around100(1.3) },
        {
          endpoint: completeEndpoint({ url: "https://contoso.com/health", name: "health" }),
          latencies: around100(0.1),
        },
        { endpoint: completeEndpoint({ url: "https://contoso.com/new" }), latencies: around100() },
      ],
      "error_rate < baseline + 0.5%\nhealth: p95 < 1.2x baseline\nhttps://contoso.com/new: p95 < 1.2x baseline",
      source(baselineDoc()),
    );
    const b = current.baseline!;
    assert.equal(b.source, "canary/result.json");
    assert.deepEqual(b.notes, []);
    assert.deepEqual(
      b.endpoints.map((e) => [e.endpoint, e.matchedBy, e.baselineEndpoints]),
      [
        [
          "https://uksouth.contoso.com/api/orders",
          "url",
          ["https://eastus2euap.contoso.com/api/orders", "https://centraluseuap.contoso.com/api/orders"],
        ],
        ["health", "name", ["health"]],
        ["https://contoso.com/new", "none", []],
      ],
    );
    const uk = b.endpoints[0];
    assert.deepEqual(uk.figures.errorRatePercent, {
      baseline: 0.9901,
      current: 0,
      change: -0.99,
      relativeChange: -1,
    });
    assert.ok(Math.abs(uk.figures.p50Ms.relativeChange! - 0.3) < 0.01, JSON.stringify(uk.figures.p50Ms));
    assert.equal(uk.distribution?.baselineCount, 101, "both canary regions, pooled");
    assert.equal(b.endpoints[2].distribution, null);

    const verdicts = current.thresholds.map((v) => [
      v.threshold,
      v.endpoint ?? "overall",
      v.passed,
      v.message,
    ]);
    assert.deepEqual(verdicts[0].slice(0, 3), ["error_rate < baseline + 0.5%", "overall", true]);
    assert.match(String(verdicts[0][3]), /^error_rate 0%, limit < 1\.16% \(baseline 0\.66% \+ 0\.5%\)$/);
    assert.deepEqual(
      verdicts.filter((v) => v[0] !== "error_rate < baseline + 0.5%").map((v) => v.slice(1)),
      [
        [
          "health",
          true,
          verdicts.find((v) => v[1] === "health" && v[0] !== "error_rate < baseline + 0.5%")![3],
        ],
        [
          "https://contoso.com/new",
          false,
          "p95: the baseline has no p95 for this endpoint, so there is no limit (observed 104.703 ms)",
        ],
      ],
    );
  });

  it("shows the comparison in the JUnit file (one passing case per scope) and the markdown summary", () => {
    const current = documentOf(
      [{ endpoint: orders("uksouth"), latencies: around100(1.3) }],
      "p95 < 1.2x baseline",
      source(baselineDoc()),
    );
    const xml = renderJUnitXml(current);
    assert.match(xml, /tests="3" failures="1"/);
    const compared =
      /<testcase [^>]*name="([^"]*): compared with baseline"[^>]*>\s*<system-out>([\s\S]*?)<\/system-out>/g;
    const cases = [...xml.matchAll(compared)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      cases.map((c) => c[0]),
      ["overall", "https://uksouth.contoso.com/api/orders"],
    );
    assert.match(
      cases[0][1],
      /^Baseline: canary\/result\.json \(run started 2026-01-01T00:00:00\.000Z\)\.\nCompared with the baseline overall\.\np50 101 ms → 133 ms \(\+31\.6%\); p95 105 ms → 136 ms \(\+30\.1%\); p99 105 ms → 136 ms \(\+30%\); mean 71\.2 ms → 133 ms \(\+86\.9%\); error rate 0\.66% → 0% \(−0\.66 points\); req\/s 75\.5 → 25 \(−66\.9%\)\nLatency distribution \(Mann-Whitney U\): δ \+1 \(large\), P\(slower\) 1, one-sided p &lt; 0\.0001 \(slower\), 50 vs 151 requests: slower\.$/,
    );

    const markdown = renderMarkdownSummary(current);
    assert.match(
      markdown,
      /### Compared with the baseline\n\nBaseline `canary\/result\.json`, run started 2026-01-01T00:00:00\.000Z\./,
    );
    assert.match(
      markdown,
      /\| Scope \| p50 \| p95 \| p99 \| error rate \| req\/s \| Latency distribution \|/,
    );
    assert.match(
      markdown,
      /\| overall \| 101 ms → 133 ms \(\+31\.6%\) \| 105 ms → 136 ms \(\+30\.1%\) \| 105 ms → 136 ms \(\+30%\) \| 0\.66% → 0% \(−0\.66 points\) \| 75\.5 → 25 \(−66\.9%\) \| slower: δ \+1 \(large\), p < 0\.0001 \|/,
    );
    assert.match(markdown, /\| `https:\/\/uksouth\.contoso\.com\/api\/orders` \| .* \|/);
    assert.match(
      markdown,
      /\| ❌ \| overall \| `p95 < 1\.2x baseline` \| 13\d\.\d+ ms, limit < 12\d\.\d+ ms \(1\.2x baseline 10\d\.\d+ ms\) \|/,
    );
  });

  it("needs a baseline for relative thresholds, naming the baselineFile input, before anything is sent", () => {
    for (const line of ["p95 < 1.2x baseline", "latency not slower than baseline"]) {
      assert.throws(
        () =>
          checkStressTestOptions({
            ...validateLoadSettings({ durationSeconds: 1 }),
            endpoints: [orders("eastus")],
            thresholds: parseThresholds(`error_rate < 1%\n${line}`),
          }),
        (err: unknown) =>
          err instanceof StressInputError &&
          err.input === "baselineFile" &&
          err.message ===
            `baselineFile is required: thresholds line 2 "${line}" compares with a baseline; give the result file of an earlier stage or of the last successful run`,
      );
    }
  });

  it("merges with a baseline, keeps URL templates through a file round trip, and refuses relative thresholds without one", () => {
    const part = (factor: number) =>
      documentOf(
        [{ endpoint: orders("uksouth"), latencies: around100(factor) }],
        "p95 < 1.2x baseline",
        source(baselineDoc()),
      );
    const [a, b] = [part(1), part(1.3)].map((d) => parseResultDocument(JSON.stringify(d), "part.json"));
    assert.equal(a.endpoints[0].template, "https://{region}.contoso.com/api/orders");
    const merged = mergeResults([a, b], { baseline: source(baselineDoc()) });
    assert.equal(merged.baseline?.endpoints[0].matchedBy, "url");
    assert.equal(merged.endpoints[0].template, "https://{region}.contoso.com/api/orders");
    assert.equal(merged.passed, false);
    assert.throws(
      () => mergeResults([a, b]),
      (err: unknown) => err instanceof StressInputError && err.input === "baselineFile",
    );
    const fromFile = parseResultDocument(JSON.stringify(merged), "merged.json", "baselineFile");
    assert.deepEqual(fromFile.baseline, merged.baseline);
    assert.throws(
      () => parseResultDocument("{}", "b.json", "baselineFile"),
      (err: unknown) =>
        err instanceof StressInputError &&
        err.input === "baselineFile" &&
        /^result file b\.json: /.test(err.message),
    );
  });

  it("lets a scoped line name an endpoint by its URL as written, for every region it was filled in for", () => {
    const doc = documentOf(
      [
        { endpoint: orders("eastus"), latencies: around100() },
        { endpoint: orders("westus"), latencies: around100(1.3) },
      ],
      "https://{region}.contoso.com/api/orders: p95 < 120ms",
    );
    assert.deepEqual(
      doc.thresholds.map((v) => [v.endpoint, v.passed]),
      [
        ["https://eastus.contoso.com/api/orders", true],
        ["https://westus.contoso.com/api/orders", false],
      ],
    );
  });

  it("notes a baseline of the other load model or one that was cancelled", () => {
    const baseline = {
      ...baselineDoc(),
      aborted: true,
      load: { ...baselineDoc().load, model: "open" as const },
    };
    const current = documentOf(
      [{ endpoint: orders("uksouth"), latencies: around100() }],
      "",
      source(baseline),
    );
    assert.deepEqual(current.baseline!.notes, [
      "the baseline ran the open model and this run the closed model: their latencies are measured differently",
      "the baseline run was cancelled before its end: its figures are partial",
    ]);
  });
});
