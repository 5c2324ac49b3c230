/**
 * A run compared with a baseline run: a result file from an earlier stage of the same rollout,
 * or the last successful run's. Gives the figures and their changes per scope, the latency
 * distribution test (distribution.ts), and the baseline figures relative thresholds are judged by.
 *
 * Endpoints are matched by name; failing that, by method and URL as written (`{region}` and
 * `{stage}` unfilled), so `https://orders-{region}.contoso.com/api` in a later stage is compared
 * with the same URL of the earlier stage's regions, pooled.
 */
import { compareDistributions, type DistributionComparison } from "./distribution";
import { StressInputError } from "./errors";
import { decodeHistogram, type LatencyHistogram } from "./histogram";
import { addTotals, statsFromTotals, totalsFromStats, type StressStats } from "./measurements";
import type { HttpMethod } from "./endpoints";
import { needsBaseline, type BaselineFigures, type ScopeBaseline, type StressThreshold } from "./thresholds";

/**
 * What a comparison reads of a baseline run's result document. result.ts's
 * StressResultDocument has all of it; naming only these parts here keeps result.ts (which
 * compares) and this module (which is compared with a document) from importing each other.
 */
export interface BaselineRun {
  startedAt: string;
  finishedAt: string;
  measuredSeconds: number;
  jobs: number;
  aborted: boolean;
  load: { model: "closed" | "open" };
  overall: StressStats;
  endpoints: readonly BaselineEndpoint[];
}

export interface BaselineEndpoint extends StressStats {
  name: string;
  url: string;
  template?: string;
  method: HttpMethod;
}

/** A baseline result document and where it came from (the file, for reports). */
export interface BaselineSource {
  doc: BaselineRun;
  source: string;
}

/** One figure now and in the baseline. null where either side measured nothing. */
export interface FigureChange {
  baseline: number | null;
  current: number | null;
  /** current − baseline, in the figure's unit. */
  change: number | null;
  /** current / baseline − 1: 0.3 = 30% more. null when the baseline is 0 or missing. */
  relativeChange: number | null;
}

export const COMPARED_FIGURES = [
  "errorRatePercent",
  "p50Ms",
  "p95Ms",
  "p99Ms",
  "meanMs",
  "requestsPerSecond",
] as const;
export type ComparedFigure = (typeof COMPARED_FIGURES)[number];

export interface ScopeComparison {
  scope: "overall" | "endpoint";
  /** The current run's endpoint (scope "endpoint"). */
  endpoint?: string;
  /** How the baseline's side was found; "none": the baseline did not load this endpoint. */
  matchedBy: "overall" | "name" | "url" | "none";
  /** The baseline's endpoints compared with (several, pooled, when matched by URL). */
  baselineEndpoints: string[];
  figures: Record<ComparedFigure, FigureChange>;
  /** null when either side has no latency (nothing answered, or no baseline endpoint). */
  distribution: DistributionComparison | null;
}

export interface BaselineComparison {
  /** The baseline file as given. */
  source: string;
  startedAt: string;
  finishedAt: string;
  jobs: number;
  model: "closed" | "open";
  /** Cautions about the comparison as a whole (different load model, an aborted baseline). */
  notes: string[];
  overall: ScopeComparison;
  endpoints: ScopeComparison[];
}

/** The current side of one scope: its figures and its latency histogram. */
export interface ComparedScope {
  stats: StressStats;
  histogram: LatencyHistogram;
}

export interface ComparedEndpoint extends ComparedScope {
  name: string;
  method: string;
  /** The URL as written, when it had tokens. */
  template?: string;
  url: string;
}

function figureOf(stats: StressStats | null, figure: ComparedFigure): number | null {
  if (stats === null) return null;
  switch (figure) {
    case "errorRatePercent":
      return stats.errorRatePercent;
    case "requestsPerSecond":
      return stats.requestsPerSecond;
    case "p50Ms":
      return stats.latencyMs?.p50 ?? null;
    case "p95Ms":
      return stats.latencyMs?.p95 ?? null;
    case "p99Ms":
      return stats.latencyMs?.p99 ?? null;
    case "meanMs":
      return stats.latencyMs?.mean ?? null;
  }
}

function figureChanges(
  current: StressStats,
  baseline: StressStats | null,
): Record<ComparedFigure, FigureChange> {
  const out = {} as Record<ComparedFigure, FigureChange>;
  for (const figure of COMPARED_FIGURES) {
    const now = figureOf(current, figure);
    const then = figureOf(baseline, figure);
    const both = now !== null && then !== null;
    out[figure] = {
      baseline: then,
      current: now,
      change: both ? Number((now - then).toFixed(3)) : null,
      relativeChange: both && then !== 0 ? Number((now / then - 1).toFixed(4)) : null,
    };
  }
  return out;
}

/** The baseline side of one scope: figures and histogram, pooled over several endpoints. */
interface BaselineSide {
  stats: StressStats;
  histogram: LatencyHistogram;
}

function baselineSide(endpoints: readonly BaselineEndpoint[], measuredSeconds: number): BaselineSide {
  if (endpoints.length === 1) {
    return { stats: endpoints[0], histogram: decodeHistogram(endpoints[0].histogram) };
  }
  const totals = addTotals(endpoints.map((e) => totalsFromStats(e, measuredSeconds)));
  // Pooled endpoints ran side by side: their throughput adds up, one endpoint's is the mean.
  totals.requestsPerSecond /= endpoints.length;
  return { stats: statsFromTotals(totals), histogram: totals.histogram };
}

function matchEndpoint(
  e: ComparedEndpoint,
  baseline: BaselineRun,
): { matchedBy: ScopeComparison["matchedBy"]; endpoints: BaselineEndpoint[] } {
  const byName = baseline.endpoints.filter((b) => b.name === e.name && b.method === e.method);
  if (byName.length > 0) return { matchedBy: "name", endpoints: byName };
  const urlAsWritten = e.template ?? e.url;
  const byUrl = baseline.endpoints.filter(
    (b) => b.method === e.method && (b.template ?? b.url) === urlAsWritten,
  );
  if (byUrl.length > 0) return { matchedBy: "url", endpoints: byUrl };
  return { matchedBy: "none", endpoints: [] };
}

function compareScope(
  current: ComparedScope,
  side: BaselineSide | null,
  where: Pick<ScopeComparison, "scope" | "endpoint" | "matchedBy" | "baselineEndpoints">,
): { compared: ScopeComparison; baseline: ScopeBaseline } {
  const comparable = side !== null && current.histogram.totalCount > 0 && side.histogram.totalCount > 0;
  const compareLatency = (factor: number) =>
    comparable ? compareDistributions(current.histogram, side.histogram, factor) : null;
  const distribution = compareLatency(1);
  return {
    compared: { ...where, figures: figureChanges(current.stats, side?.stats ?? null), distribution },
    baseline: {
      observed: side?.stats ?? null,
      compareLatency: (factor) => (factor === 1 ? distribution : compareLatency(factor)),
    },
  };
}

function notesOn(current: { model: "closed" | "open" }, baseline: BaselineRun): string[] {
  const notes: string[] = [];
  if (baseline.load.model !== current.model) {
    notes.push(
      `the baseline ran the ${baseline.load.model} model and this run the ${current.model} model: their latencies are measured differently`,
    );
  }
  if (baseline.aborted) notes.push("the baseline run was cancelled before its end: its figures are partial");
  return notes;
}

/** The comparison for the result document, and the baseline figures for the thresholds. */
export function compareWithBaseline(
  current: { overall: ComparedScope; endpoints: readonly ComparedEndpoint[]; model: "closed" | "open" },
  baseline: BaselineSource,
): { comparison: BaselineComparison; figures: BaselineFigures } {
  const doc = baseline.doc;
  const overallSide = { stats: doc.overall, histogram: decodeHistogram(doc.overall.histogram) };
  const overall = compareScope(current.overall, overallSide, {
    scope: "overall",
    matchedBy: "overall",
    baselineEndpoints: doc.endpoints.map((e) => e.name),
  });
  const byEndpoint = new Map<string, ScopeBaseline>();
  const endpoints = current.endpoints.map((e) => {
    const match = matchEndpoint(e, doc);
    const side = match.endpoints.length > 0 ? baselineSide(match.endpoints, doc.measuredSeconds) : null;
    const { compared, baseline: scopeBaseline } = compareScope(e, side, {
      scope: "endpoint",
      endpoint: e.name,
      matchedBy: match.matchedBy,
      baselineEndpoints: match.endpoints.map((b) => b.name),
    });
    byEndpoint.set(e.name, scopeBaseline);
    return compared;
  });
  return {
    comparison: {
      source: baseline.source,
      startedAt: doc.startedAt,
      finishedAt: doc.finishedAt,
      jobs: doc.jobs,
      model: doc.load.model,
      notes: notesOn(current, doc),
      overall: overall.compared,
      endpoints,
    },
    figures: { overall: overall.baseline, endpoints: byEndpoint },
  };
}

/** Thresholds against the baseline need one: the input to give is named. */
export function checkBaselineThresholds(
  thresholds: readonly StressThreshold[],
  baseline: BaselineSource | undefined,
): void {
  if (baseline) return;
  const first = thresholds.find(needsBaseline);
  if (first) {
    throw new StressInputError(
      `baselineFile is required: thresholds line ${first.line} "${first.text}" compares with a baseline; give the result file of an earlier stage or of the last successful run`,
      "baselineFile",
    );
  }
}
