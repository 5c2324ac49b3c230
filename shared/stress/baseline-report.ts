/**
 * The comparison with a baseline as people read it, for the markdown summary and the JUnit file:
 * "p95 100 ms → 130 ms (+30%)", "error rate 0.2% → 1.1% (+0.9 points)".
 */
import type { ComparedFigure, FigureChange, ScopeComparison } from "./baseline";
import { describeDistribution, formatDelta, formatPValue, type DistributionComparison } from "./distribution";

const LABELS: Record<ComparedFigure, string> = {
  p50Ms: "p50",
  p95Ms: "p95",
  p99Ms: "p99",
  meanMs: "mean",
  errorRatePercent: "error rate",
  requestsPerSecond: "req/s",
};

/** Three significant digits, as the summary shows latencies. */
function significant(value: number): string {
  return Math.abs(value) >= 1000 ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
}

function valueText(figure: ComparedFigure, value: number): string {
  if (figure === "errorRatePercent") return `${Number(value.toFixed(2))}%`;
  if (figure === "requestsPerSecond") return significant(value);
  return `${significant(value)} ms`;
}

function signed(value: number, text: string): string {
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${text}`;
}

/** "100 ms → 130 ms (+30%)"; "n/a" where either side measured nothing. */
export function formatChange(figure: ComparedFigure, c: FigureChange): string {
  if (c.baseline === null || c.current === null) {
    const side = (v: number | null) => (v === null ? "n/a" : valueText(figure, v));
    return `${side(c.baseline)} → ${side(c.current)}`;
  }
  const arrow = `${valueText(figure, c.baseline)} → ${valueText(figure, c.current)}`;
  // An error rate changes in points: 0.1% → 0.3% is not "+200%" worth of news.
  if (figure === "errorRatePercent") {
    const points = c.current - c.baseline;
    return `${arrow} (${signed(points, `${Number(Math.abs(points).toFixed(2))} points`)})`;
  }
  if (c.relativeChange === null) return arrow;
  const percent = c.relativeChange * 100;
  return `${arrow} (${signed(percent, `${Number(Math.abs(percent).toFixed(1))}%`)})`;
}

/** "slower: δ +0.98 (large), p < 0.0001" — short, for a table cell. */
export function formatDistributionShort(d: DistributionComparison | null): string {
  if (d === null) return "n/a";
  if (!d.comparable) return `not tested (${d.currentCount} vs ${d.baselineCount} requests)`;
  const p = d.cliffsDelta >= 0 ? d.pSlower : d.pFaster;
  const word = d.verdict === "same" ? "no meaningful difference" : d.verdict;
  return `${word}: δ ${formatDelta(d.cliffsDelta, 2)} (${d.effect}), ${formatPValue(p ?? 1)}`;
}

export function scopeLabel(s: ScopeComparison): string {
  return s.scope === "overall" ? "overall" : (s.endpoint ?? "endpoint");
}

/** What the scope was compared with: "overall", "same name", "same URL (2 endpoints pooled)". */
export function describeMatch(s: ScopeComparison): string {
  switch (s.matchedBy) {
    case "overall":
      return "the baseline overall";
    case "name":
      return "the same endpoint";
    case "url":
      return s.baselineEndpoints.length === 1
        ? `the same URL (${s.baselineEndpoints[0]})`
        : `the same URL in ${s.baselineEndpoints.length} endpoints, pooled`;
    case "none":
      return "nothing: the baseline did not load this endpoint";
  }
}

/** Lines for one scope: each figure's change, then the distribution test. */
export function describeScopeComparison(s: ScopeComparison): string[] {
  const figures = (Object.keys(LABELS) as ComparedFigure[]).map(
    (f) => `${LABELS[f]} ${formatChange(f, s.figures[f])}`,
  );
  const lines = [`Compared with ${describeMatch(s)}.`, figures.join("; ")];
  if (s.distribution) {
    const d = s.distribution;
    lines.push(
      `Latency distribution (Mann-Whitney U): ${describeDistribution(d)}: ${d.verdict === "same" ? "no meaningful difference" : d.verdict}.`,
    );
  }
  return lines;
}

export const CHANGE_COLUMNS: readonly ComparedFigure[] = [
  "p50Ms",
  "p95Ms",
  "p99Ms",
  "errorRatePercent",
  "requestsPerSecond",
];
export const changeColumnLabel = (f: ComparedFigure) => LABELS[f];
