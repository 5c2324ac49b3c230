/**
 * The markdown summary for the run's Extensions tab: verdict, load, thresholds, endpoints and a
 * readable latency distribution (percentile table and a text bar chart).
 */
import {
  CHANGE_COLUMNS,
  changeColumnLabel,
  describeMatch,
  formatChange,
  formatDistributionShort,
  scopeLabel,
} from "./baseline-report";
import { countInBands, decodeHistogram, type LatencySummary } from "./histogram";
import type { StressStats } from "./measurements";
import { describeNotReady, type StressResultDocument } from "./result";
import { describeEarlyAbort } from "./sliding-window";
import type { ThresholdVerdict } from "./thresholds";
import { mdCode, mdText } from "../markdown";

/** 0.712 → "0.712 ms", 12.34 → "12.3 ms", 1234.5 → "1235 ms": three significant digits. */
export function formatMs(value: number): string {
  const text = value >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
  return `${text} ms`;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function formatPercent(value: number | null): string {
  return value === null ? "n/a" : `${Number(value.toFixed(2))}%`;
}

/** Endpoint names, thresholds and answers are outside text: escaped, through the one helper. */
const escapeCell = mdText;
const code = (text: string) => mdCode(text).source;

function describeLoadLine(doc: StressResultDocument): string {
  const l = doc.load;
  const parts: string[] = [];
  if (l.model === "open") {
    const achieved = doc.overall.openModel?.achievedRate;
    parts.push(
      `open model: ${formatCount(l.rate ?? 0)} req/s requested${achieved === undefined ? "" : `, ${Number(achieved.toFixed(1))} achieved`}, up to ${l.connections} connections`,
    );
  } else {
    parts.push(`closed model: ${l.connections} connections`);
  }
  if (l.pipelining > 1) parts.push(`pipelining ${l.pipelining}`);
  parts.push(
    l.requests === undefined
      ? `${l.durationSeconds} s`
      : `${formatCount(l.requests)} requests (at most ${l.durationSeconds} s)`,
  );
  if (l.warmupSeconds > 0) parts.push(`after ${l.warmupSeconds} s warm-up`);
  parts.push(`${doc.endpoints.length} endpoint${doc.endpoints.length === 1 ? "" : "s"}`);
  if (doc.jobs > 1) parts.push(`${doc.jobs} jobs merged`);
  return parts.join(" · ");
}

function thresholdRow(v: ThresholdVerdict): string {
  const scope = v.scope === "overall" ? "overall" : code(v.endpoint ?? "");
  const observed = v.message.slice(v.message.indexOf(" ") + 1);
  return `| ${v.passed ? "✅" : "❌"} | ${scope} | ${code(v.threshold)} | ${escapeCell(observed)} |`;
}

function errorsText(stats: StressStats): string {
  const parts = Object.entries(stats.errors)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${formatCount(n)}`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

function latencyCell(latency: LatencySummary | null, pick: keyof LatencySummary): string {
  return latency ? formatMs(latency[pick]) : "n/a";
}

const PERCENTILE_ROWS: [string, keyof LatencySummary][] = [
  ["min", "min"],
  ["p50", "p50"],
  ["p90", "p90"],
  ["p95", "p95"],
  ["p99", "p99"],
  ["p99.9", "p99_9"],
  ["max", "max"],
  ["mean", "mean"],
  ["stdev", "stdev"],
];

/** The round size (1, 2 or 5 times a power of ten) at or above `value`. */
function roundUp(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((v) => v >= value * (1 - 1e-9)) ?? 10 * magnitude;
}

/** The round size (1, 2 or 5 times a power of ten) at or below `value`. */
function roundDown(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [5, 2, 1].map((m) => m * magnitude).find((v) => v <= value * (1 + 1e-9)) ?? magnitude;
}

/**
 * Band edges (µs) covering [min, max] in round numbers: even steps for a narrow spread,
 * 1-2-5 steps per power of ten for a wide one; at most 10 bands.
 */
export function latencyBandEdges(minUs: number, maxUs: number): number[] {
  const low = Math.max(1, minUs);
  const high = Math.max(low + 1, maxUs);
  const edges: number[] = [];
  if (high / low < 10) {
    // Values are whole microseconds: no step below one.
    const step = Math.max(1, roundUp((high - low) / 6));
    const first = Math.floor(low / step);
    for (let k = first; edges.length === 0 || edges.at(-1)! <= high; k++) edges.push(k * step);
    return edges;
  }
  let multiples = [1, 2, 5];
  const decades = Math.log10(high / low);
  if (decades * 3 > 10) multiples = [1];
  for (let e = roundDown(low); edges.length === 0 || edges.at(-1)! <= high;) {
    edges.push(e);
    const magnitude = 10 ** Math.floor(Math.log10(e) + 1e-9);
    const m = Math.round(e / magnitude);
    const nextMultiple = multiples.find((x) => x > m);
    e = nextMultiple === undefined ? multiples[0] * magnitude * 10 : nextMultiple * magnitude;
  }
  return edges;
}

const BAR_WIDTH = 30;

/** A text bar chart of how many requests fell in each latency band. */
export function renderLatencyChart(histogramBase64: string): string[] {
  const histogram = decodeHistogram(histogramBase64);
  const total = histogram.totalCount;
  if (total === 0) return [];
  const edges = latencyBandEdges(histogram.minNonZeroValue, histogram.maxValue);
  const counts = countInBands(histogram, edges);
  const labels = counts.map(
    (_, i) => `${formatMs(edges[i] / 1000).replace(" ms", "")} – ${formatMs(edges[i + 1] / 1000)}`,
  );
  const width = Math.max(...labels.map((l) => l.length));
  return counts.map((n, i) => {
    const share = n / total;
    const bar = "█".repeat(Math.round(share * BAR_WIDTH)) || (n > 0 ? "▏" : "");
    return `${labels[i].padStart(width)} │${bar.padEnd(BAR_WIDTH)} ${(share * 100).toFixed(1).padStart(5)}% (${formatCount(n)})`;
  });
}

function baselineSection(doc: StressResultDocument): string[] {
  const b = doc.baseline!;
  const lines = [
    "### Compared with the baseline",
    "",
    `Baseline ${code(b.source)}, run started ${escapeCell(b.startedAt)}${b.jobs > 1 ? ` (${b.jobs} jobs merged)` : ""}. ` +
      "The distribution test (Mann-Whitney U over every request) is reported here; it fails the run only through a `latency not slower than baseline` threshold.",
    "",
  ];
  for (const note of b.notes) lines.push(`> ⚠️ ${escapeCell(note)}.`, "");
  lines.push(
    `| Scope | ${CHANGE_COLUMNS.map(changeColumnLabel).join(" | ")} | Latency distribution |`,
    `|---|${CHANGE_COLUMNS.map(() => "---:").join("|")}|---|`,
  );
  for (const scope of [b.overall, ...b.endpoints]) {
    const label = scope.scope === "overall" ? "overall" : code(scopeLabel(scope));
    const cells =
      scope.matchedBy === "none"
        ? CHANGE_COLUMNS.map(() => "–")
        : CHANGE_COLUMNS.map((f) => escapeCell(formatChange(f, scope.figures[f])));
    const distribution =
      scope.matchedBy === "none"
        ? escapeCell(describeMatch(scope))
        : formatDistributionShort(scope.distribution);
    lines.push(`| ${label} | ${cells.join(" | ")} | ${escapeCell(distribution)} |`);
  }
  const pooled = b.endpoints.filter((s) => s.matchedBy === "url" && s.baselineEndpoints.length > 1);
  if (pooled.length > 0) {
    lines.push(
      "",
      `Endpoints matched by URL are compared with the baseline's endpoints of the same URL as written (${pooled
        .map((s) => `${code(scopeLabel(s))} ↔ ${s.baselineEndpoints.length} endpoints`)
        .join(", ")}), pooled.`,
    );
  }
  lines.push("");
  return lines;
}

export function renderMarkdownSummary(doc: StressResultDocument, title = "Stress test"): string {
  const o = doc.overall;
  const verdict = doc.aborted ? "⚠️ aborted" : doc.passed ? "✅ passed" : "❌ failed";
  const lines: string[] = [`## ${escapeCell(title)}: ${verdict}`, "", escapeCell(describeLoadLine(doc)), ""];
  for (const n of doc.notReady ?? []) {
    lines.push(
      `> ❌ ${escapeCell(describeNotReady(n))}. Nothing was measured${doc.jobs > 1 ? " in that job" : ""}.`,
      "",
    );
  }
  if (doc.earlyAbort) {
    const e = doc.earlyAbort;
    lines.push(
      `> ⛔ The load was ${escapeCell(describeEarlyAbort(e))}. It stopped after ${doc.measuredSeconds} s of the ${doc.load.durationSeconds} s configured; the figures below cover that part.`,
      "",
    );
  }
  if (doc.aborted) {
    lines.push(
      `> The run was cancelled after ${doc.measuredSeconds} s of measurement; the figures below are partial.`,
      "",
    );
  }
  lines.push(
    `**${formatCount(o.requests)} requests** in ${doc.measuredSeconds} s · **${o.requestsPerSecond} req/s** · error rate **${formatPercent(o.errorRatePercent)}** · ` +
      `p50 ${latencyCell(o.latencyMs, "p50")} · p95 ${latencyCell(o.latencyMs, "p95")} · p99 ${latencyCell(o.latencyMs, "p99")}`,
    "",
  );

  lines.push("### Thresholds", "", "| | Scope | Threshold | Observed |", "|---|---|---|---|");
  for (const v of doc.thresholds) lines.push(thresholdRow(v));
  lines.push("");

  if (doc.baseline) lines.push(...baselineSection(doc));

  lines.push(
    "### Endpoints",
    "",
    "| Endpoint | Requests | req/s | Error rate | p50 | p95 | p99 | max | Errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const e of doc.endpoints) {
    lines.push(
      `| ${code(e.name)} | ${formatCount(e.requests)} | ${e.requestsPerSecond} | ${formatPercent(e.errorRatePercent)} | ` +
        `${latencyCell(e.latencyMs, "p50")} | ${latencyCell(e.latencyMs, "p95")} | ${latencyCell(e.latencyMs, "p99")} | ${latencyCell(e.latencyMs, "max")} | ${escapeCell(errorsText(e))} |`,
    );
  }
  lines.push("");

  const statusCodes = Object.entries(o.statusCodes)
    .map(([code, n]) => `${code}: ${formatCount(n)}`)
    .join(" · ");
  if (statusCodes) lines.push(`Status codes: ${statusCodes}`, "");

  lines.push("### Latency distribution (overall)", "");
  if (o.latencyMs === null) {
    lines.push("No request was answered: nothing to show.", "");
  } else if (doc.load.model === "open" && o.uncorrectedLatencyMs !== undefined) {
    lines.push(
      "From each request's intended send time (corrected for coordinated omission), and from its actual send time:",
      "",
      "| | corrected | uncorrected |",
      "|---|---:|---:|",
    );
    for (const [label, key] of PERCENTILE_ROWS) {
      lines.push(
        `| ${label} | ${latencyCell(o.latencyMs, key)} | ${latencyCell(o.uncorrectedLatencyMs, key)} |`,
      );
    }
    lines.push("");
    const open = o.openModel;
    if (open && (open.lateSends > 0 || open.droppedSends > 0)) {
      lines.push(
        `⚠️ ${formatCount(open.lateSends)} of ${formatCount(open.scheduledSends)} sends left more than ${open.lateToleranceMs} ms late and ${formatCount(open.droppedSends)} never left: ` +
          "the connections were all busy. The corrected figures include that wait; more connections would tell server time from queueing.",
        "",
      );
    }
  } else {
    lines.push("| percentile | latency |", "|---|---:|");
    for (const [label, key] of PERCENTILE_ROWS) lines.push(`| ${label} | ${latencyCell(o.latencyMs, key)} |`);
    lines.push("");
  }
  const chart = renderLatencyChart(o.histogram);
  if (chart.length > 0) lines.push("```text", ...chart, "```", "");
  return lines.join("\n");
}
