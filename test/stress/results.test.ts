import assert from "node:assert/strict";
import {
  StressInputError,
  decodeHistogram,
  describeNotReady,
  mergeResults,
  parseResultDocument,
  parseThresholds,
  renderJUnitXml,
  renderMarkdownSummary,
  stressOutputs,
  type NotReadyEndpoint,
  type StressResultDocument,
} from "../../shared/stress";
import { EndpointRecorder } from "../../shared/stress/measurements";
import { buildResultDocument } from "../../shared/stress/result";
import { completeEndpoint } from "../../shared/stress/endpoints";

const east = completeEndpoint({ url: "https://east.contoso.com/api" });
const west = completeEndpoint({ url: "https://west.contoso.com/api" });

/** A deterministic stream of latencies (ms) with a long tail, and statuses with some 500s. */
function* requests(seed: number, count: number): Generator<{ status: number; ms: number }> {
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const u = x / 2 ** 31;
    yield { status: i % 37 === 0 ? 500 : 200, ms: 2 + 40 * u ** 6 + (i % 101 === 0 ? 900 : 0) };
  }
}

function documentOf(
  parts: { endpoint: typeof east; seeds: [number, number][] }[],
  thresholds = "error_rate < 5%\np95 < 30ms",
  seconds = 2,
  notReady?: NotReadyEndpoint[],
): StressResultDocument {
  const totals = parts.map(({ endpoint, seeds }) => {
    const recorder = new EndpointRecorder(endpoint.expectedStatus, false);
    for (const [seed, count] of seeds)
      for (const r of requests(seed, count)) recorder.recordResponse(r.status, r.ms, r.ms);
    return recorder.totals(seconds);
  });
  return buildResultDocument({
    endpoints: parts.map((p) => p.endpoint),
    totals,
    thresholds: parseThresholds(thresholds),
    load: {
      model: "closed",
      connections: 4,
      pipelining: 1,
      durationSeconds: seconds,
      warmupSeconds: 0,
      timeoutMs: 1000,
    },
    aborted: false,
    notReady,
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:02.000Z",
    measuredSeconds: seconds,
    jobs: 1,
  });
}

const westNotReady: NotReadyEndpoint = {
  endpoint: west.name,
  url: west.url,
  message: `endpoint ${west.url} never became ready within 60 s (last attempt: HTTP 503, expected 200-399)`,
};

/** What a job writes when an endpoint never became ready: nothing measured, and why. */
function neverReadyDoc(thresholds = "error_rate < 5%"): StressResultDocument {
  return documentOf([{ endpoint: west, seeds: [] }], thresholds, 0, [westNotReady]);
}

describe("stress results: merge", () => {
  const jobA = documentOf([{ endpoint: east, seeds: [[1, 3000]] }]);
  const jobB = documentOf([
    { endpoint: east, seeds: [[2, 2000]] },
    { endpoint: west, seeds: [[3, 1500]] },
  ]);
  const combined = documentOf([
    {
      endpoint: east,
      seeds: [
        [1, 3000],
        [2, 2000],
      ],
    },
    { endpoint: west, seeds: [[3, 1500]] },
  ]);

  it("gives exactly the histogram, counts and percentiles one combined run would have", () => {
    const merged = mergeResults([
      parseResultDocument(JSON.stringify(jobA), "a.json"),
      parseResultDocument(JSON.stringify(jobB), "b.json"),
    ]);
    for (const [m, c] of [
      [merged.overall, combined.overall],
      [merged.endpoints[0], combined.endpoints[0]],
      [merged.endpoints[1], combined.endpoints[1]],
    ] as const) {
      assert.equal(m.requests, c.requests);
      assert.deepEqual(m.statusCodes, c.statusCodes);
      assert.deepEqual(m.errors, c.errors);
      assert.deepEqual(m.latencyMs, c.latencyMs);
      const mh = decodeHistogram(m.histogram);
      const ch = decodeHistogram(c.histogram);
      assert.equal(mh.totalCount, ch.totalCount);
      for (let i = 0; i < ch.countsArrayLength; i++)
        assert.equal(mh.getCountAtIndex(i), ch.getCountAtIndex(i), `bucket ${i}`);
    }
    assert.equal(merged.overall.requests, 6500);
    assert.deepEqual(
      merged.endpoints.map((e) => e.name),
      ["https://east.contoso.com/api", "https://west.contoso.com/api"],
    );
    assert.deepEqual(merged.thresholds, combined.thresholds);
    assert.equal(merged.passed, combined.passed);
    assert.equal(merged.jobs, 2);
    assert.equal(merged.load.connections, 8);
  });

  it("adds up the throughput of jobs that ran side by side", () => {
    const merged = mergeResults([jobA, jobB]);
    assert.equal(
      merged.overall.requestsPerSecond,
      jobA.overall.requestsPerSecond + jobB.overall.requestsPerSecond,
    );
  });

  it("judges by the given thresholds, or by the documents' when they agree", () => {
    const other = documentOf([{ endpoint: east, seeds: [[4, 100]] }], "p99 < 1s");
    assert.throws(
      () => mergeResults([jobA, other]),
      /result files were judged by different thresholds; give the thresholds to judge the merged result by/,
    );
    const merged = mergeResults([jobA, other], { thresholds: parseThresholds("error_rate < 50%") });
    assert.deepEqual(
      merged.thresholds.map((t) => [t.threshold, t.passed]),
      [["error_rate < 50%", true]],
    );
    assert.deepEqual(merged.thresholdDefinitions, [{ line: 1, text: "error_rate < 50%" }]);
  });

  it("fails when a job's endpoint never became ready, naming the file and the endpoint", () => {
    const healthy = documentOf([{ endpoint: west, seeds: [[3, 1500]] }], "error_rate < 5%");
    assert.equal(healthy.passed, true);
    const job2 = parseResultDocument(JSON.stringify(neverReadyDoc()), "job2/result.json");
    assert.equal(job2.passed, false);
    assert.deepEqual(job2.notReady, [westNotReady]);

    const merged = mergeResults([healthy, job2], { sources: ["job1/result.json", "job2/result.json"] });
    assert.equal(merged.passed, false);
    assert.ok(
      merged.thresholds.every((t) => t.passed),
      "the merged figures alone would pass: only notReady tells",
    );
    assert.deepEqual(merged.notReady, [{ ...westNotReady, resultFile: "job2/result.json" }]);
    assert.equal(
      describeNotReady(merged.notReady![0]),
      `result file job2/result.json: endpoint ${west.url} never became ready within 60 s (last attempt: HTTP 503, expected 200-399)`,
    );
    // Merged again (a merge of merges): still failed, still naming the job's own file.
    const again = mergeResults([parseResultDocument(JSON.stringify(merged), "merged.json"), healthy], {
      sources: ["merged.json", "job3/result.json"],
    });
    assert.equal(again.passed, false);
    assert.deepEqual(again.notReady, merged.notReady);
    // Without sources the entry stays as the job wrote it.
    assert.deepEqual(mergeResults([healthy, job2]).notReady, [westNotReady]);
  });

  it("reads result files written before notReady existed, and every endpoint ready leaves it out", () => {
    const { notReady: _none, ...older } = structuredClone(jobA);
    const merged = mergeResults([parseResultDocument(JSON.stringify(older), "old.json"), jobB]);
    assert.equal(merged.notReady, undefined);
    assert.equal(merged.overall.requests, 6500);
    assert.ok(!("notReady" in jobA), "a run whose endpoints were all ready has no notReady field");
  });

  it("refuses to mix models, to merge nothing, and endpoints that disagree", () => {
    const open = { ...jobA, load: { ...jobA.load, model: "open" as const, rate: 10 } };
    assert.throws(() => mergeResults([jobA, open]), /mix closed-model and open-model runs/);
    assert.throws(() => mergeResults([]), /no result files to merge/);
    const renamed = structuredClone(jobB);
    renamed.endpoints[0].url = "https://elsewhere/api";
    assert.throws(
      () => mergeResults([jobA, renamed]),
      /disagree on endpoint "https:\/\/east.contoso.com\/api"/,
    );
  });

  const badFiles: [string, (d: Record<string, unknown>) => unknown, string][] = [
    ["not JSON", () => "{", "result file r.json: not JSON: "],
    [
      "another version",
      (d) => ({ ...d, schemaVersion: 2 }),
      "result file r.json: schemaVersion: schemaVersion must be 1",
    ],
    [
      "another kind",
      (d) => ({ ...d, kind: "k6" }),
      'result file r.json: kind: kind must be "stressTestResult"',
    ],
    ["no endpoints", (d) => ({ ...d, endpoints: [] }), "result file r.json: endpoints: "],
    [
      "a malformed notReady",
      (d) => ({ ...d, notReady: [{ url: "https://east.contoso.com/api" }] }),
      "result file r.json: notReady.0.endpoint: ",
    ],
    [
      "a broken histogram",
      (d) => ({ ...d, overall: { ...(d.overall as object), histogram: "bm90IGEgaGlzdG9ncmFt" } }),
      "result file r.json: overall: histogram cannot be read",
    ],
  ];
  for (const [what, change, message] of badFiles) {
    it(`names the file when it is ${what}`, () => {
      const changed = change(structuredClone(jobA) as unknown as Record<string, unknown>);
      const text = typeof changed === "string" ? changed : JSON.stringify(changed);
      assert.throws(
        () => parseResultDocument(text, "r.json"),
        (err: unknown) => err instanceof StressInputError && err.message.startsWith(message),
      );
    });
  }
});

describe("stress results: reports", () => {
  const doc = documentOf(
    [
      { endpoint: east, seeds: [[1, 2000]] },
      { endpoint: west, seeds: [[2, 2000]] },
    ],
    "error_rate < 1%\np95 < 500ms",
  );

  it("has the output variables", () => {
    assert.deepEqual(stressOutputs(doc), {
      passed: false,
      errorRate: doc.overall.errorRatePercent,
      p50Ms: doc.overall.latencyMs?.p50,
      p95Ms: doc.overall.latencyMs?.p95,
      p99Ms: doc.overall.latencyMs?.p99,
      requestsPerSecond: 2000,
    });
    assert.equal(doc.overall.errorRatePercent, 2.75);
  });

  it("writes a JUnit case per threshold and scope, failures saying observed vs limit", () => {
    const xml = renderJUnitXml(doc, { suiteName: "Stress eastus" });
    assert.equal(xml.match(/<testcase /g)?.length, 6);
    assert.match(xml, /<testsuite name="Stress eastus" tests="6" failures="3" /);
    assert.match(
      xml,
      /<testcase classname="Stress eastus" name="https:\/\/west.contoso.com\/api: error_rate &lt; 1%" time="2.000">\n {6}<failure message="error_rate 2.75%, limit &lt; 1%" type="threshold">thresholds line 1 &quot;error_rate &lt; 1%&quot; failed for https:\/\/west.contoso.com\/api: error_rate 2.75%, limit &lt; 1%<\/failure>/,
    );
    assert.match(
      xml,
      /name="overall: p95 &lt; 500ms" time="2.000">\n {6}<system-out>p95 [\d.]+ ms, limit &lt; 500 ms<\/system-out>/,
    );
  });

  it("adds a failed 'run completed' case when the run was aborted", () => {
    const xml = renderJUnitXml({ ...doc, aborted: true, passed: false });
    assert.match(
      xml,
      /name="run completed" time="2.000">\n {6}<failure message="the run was cancelled after 2 s of measurement; figures are partial" type="aborted">/,
    );
    assert.match(xml, /tests="7" failures="4"/);
  });

  it("adds a failed case per endpoint that never became ready, saying so and naming the file", () => {
    const notReady = mergeResults([doc, neverReadyDoc("error_rate < 1%\np95 < 500ms")], {
      sources: ["job1.json", "job2.json"],
    });
    const xml = renderJUnitXml(notReady, { suiteName: "Stress" });
    assert.match(
      xml,
      new RegExp(
        `<testcase classname="Stress" name="${west.url}: became ready" time="[\\d.]+">\n {6}<failure message="endpoint never became ready" type="readiness">result file job2\\.json: endpoint ${west.url} never became ready within 60 s \\(last attempt: HTTP 503, expected 200-399\\)</failure>`,
      ),
    );
    const failures = notReady.thresholds.filter((t) => !t.passed).length + 1;
    assert.match(xml, new RegExp(`tests="${notReady.thresholds.length + 1}" failures="${failures}"`));
  });

  it("says in the summary which endpoint never became ready", () => {
    const md = renderMarkdownSummary(neverReadyDoc(), "Stress test westus");
    assert.ok(md.startsWith("## Stress test westus: ❌ failed\n"), md);
    assert.ok(
      md.includes(
        `> ❌ endpoint ${west.url} never became ready within 60 s (last attempt: HTTP 503, expected 200-399). Nothing was measured.\n`,
      ),
      md,
    );
  });

  it("summarises in markdown with thresholds, endpoints, percentiles and a bar chart", () => {
    const md = renderMarkdownSummary(doc);
    assert.ok(
      md.startsWith("## Stress test: ❌ failed\n\nclosed model: 4 connections · 2 s · 2 endpoints\n"),
      md,
    );
    assert.ok(md.includes("| ❌ | overall | `error_rate < 1%` | 2.75%, limit < 1% |"), md);
    assert.ok(md.includes("| `https://east.contoso.com/api` | 2,000 | 1000 | 2.75% |"), md);
    assert.ok(md.includes("Status codes: 200: 3,890 · 500: 110"), md);
    assert.match(md, /\| p99\.9 \| [\d.]+ ms \|/);
    const chart = md
      .slice(md.indexOf("```text") + 8, md.lastIndexOf("```"))
      .trim()
      .split("\n");
    assert.ok(chart.length >= 3, md);
    const shares = chart.map((line) => Number(/([\d.]+)% \(/.exec(line)?.[1]));
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) < 0.5, chart.join("\n"));
    assert.match(chart[0], /^ *\d[\d.]* – [\d.]+ ms │█+ +[\d.]+% \([\d,]+\)$/);
  });
});
