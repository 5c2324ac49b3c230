/**
 * What a gate records of the production telemetry it judged on, and how the record, the step's
 * summary and the deployment report show it: per region the tests, p-values, the shift with its
 * interval, samples on each side and the verdict, then each query with its time span.
 */
import { Markdown, markdownTable, md } from "../markdown";
import type { RegionVerdict, TelemetryVerdictKind } from "./judge";
import type { BaselineKind } from "./settings";
import { pText } from "./p-text";

export interface TelemetryQueryRun {
  side: "new" | "baseline";
  query: string;
  timespan: string;
  rows: number;
}

/** What the gate records of the telemetry it judged on. */
export interface TelemetryEvidence {
  verdict: TelemetryVerdictKind;
  /** false: shadow mode, the verdict is recorded and decides nothing. */
  enforced: boolean;
  summary: string;
  workspaceId: string;
  endpoint: string;
  newVersion: string;
  baseline: BaselineKind;
  queries: TelemetryQueryRun[];
  settings: {
    alpha: number;
    latencyTolerance: number;
    errorRateTolerance: number;
    minSamples: number;
    thresholds: string[];
  };
  regions: RegionVerdict[];
}

const verdictMark: Record<TelemetryVerdictKind, string> = {
  Pass: "✅ Pass",
  Fail: "❌ Fail",
  Inconclusive: "❔ Inconclusive",
};

const round = (v: number, digits = 1) => Number(v.toFixed(digits)).toString();

/** Per region: test, p-value, effect with its interval, samples each side, verdict; then the queries. */
export function telemetryMarkdown(t: TelemetryEvidence): Array<Markdown | ""> {
  const baseline =
    t.baseline === "previousVersion"
      ? "the same regions before the rollout"
      : "regions still on the old version";
  const lines: Array<Markdown | ""> = [
    md`Production telemetry (workspace ${t.workspaceId}): **${t.verdict}**${t.enforced ? "" : " (shadow mode: recorded, not enforced)"}; version ${t.newVersion} against ${baseline}; latency tolerance ${t.settings.latencyTolerance}x, error-rate tolerance +${t.settings.errorRateTolerance} points, at least ${t.settings.minSamples} requests a side, alpha ${t.settings.alpha} (${t.settings.alpha / 2} a test).`,
    "",
  ];
  if (t.regions.length)
    lines.push(
      markdownTable(
        [
          "Region",
          "Verdict",
          "Latency: Mann-Whitney U",
          "Shift (HL) [95% CI]",
          "p95 new / baseline",
          "Errors: two-proportion z",
          "Requests new / baseline",
          "Why",
        ],
        t.regions.map((r) => [
          r.region,
          verdictMark[r.verdict],
          r.latency ? `p ${pText(r.latency.pValue)} (U ${round(r.latency.u, 0)}, ${r.latency.method})` : "-",
          r.latency
            ? `${r.latency.shiftMs.estimate >= 0 ? "+" : ""}${round(r.latency.shiftMs.estimate)} ms [${round(r.latency.shiftMs.lower)}, ${round(r.latency.shiftMs.upper)}]`
            : "-",
          r.latency
            ? `${round(r.latency.p95Ms.new)} / ${round(r.latency.p95Ms.baseline)} ms (${r.latency.p95Ms.ratio.toFixed(2)}x)`
            : "-",
          r.errors
            ? `${round(r.errors.errorRatePercent.new, 2)}% / ${round(r.errors.errorRatePercent.baseline, 2)}%, p ${pText(r.errors.pValue)}`
            : "-",
          `${r.samples.new.rows} / ${r.samples.baseline.rows}${r.samples.new.requests !== r.samples.new.rows || r.samples.baseline.requests !== r.samples.baseline.rows ? ` (standing for ${round(r.samples.new.requests, 0)} / ${round(r.samples.baseline.requests, 0)})` : ""}`,
          r.reason,
        ]),
      ),
      "",
    );
  for (const q of t.queries)
    lines.push(md`Query (${q.side}, ${q.rows} rows, time span ${q.timespan}):`, "", codeBlock(q.query), "");
  return lines;
}

/** A fenced block no line of the text can close (the fence is longer than any backtick run in it). */
function codeBlock(text: string): Markdown {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return new Markdown(`${fence}kusto\n${text.replace(/\r\n?/g, "\n")}\n${fence}`);
}

/** The file GateApproval writes (output `telemetryResultFile`) for a card in the same job. */
export interface TelemetryResultFile extends TelemetryEvidence {
  kind: "telemetryVerdict";
  schemaVersion: 1;
  actionId: string;
  /** What the gate did: approved, rejected, leftWaiting. */
  decision: string;
}

/** What a Teams card shows: the verdict and, per region, the figures that decided it. */
export interface TelemetryForCard {
  verdict: TelemetryVerdictKind;
  enforced: boolean;
  regions: Array<{ region: string; verdict: TelemetryVerdictKind; figures: string }>;
}

/** One line per region: the deciding figures first (shift, p-value, p95s, errors) or why there are none. */
export function regionFigures(r: RegionVerdict): string {
  if (!r.latency || !r.errors) return r.reason;
  const l = r.latency;
  const shift = `${l.shiftMs.estimate >= 0 ? "+" : ""}${round(l.shiftMs.estimate)} ms [${round(l.shiftMs.lower)}, ${round(l.shiftMs.upper)}]`;
  const figures = `shift ${shift}, Mann-Whitney p ${pText(l.pValue)}; p95 ${round(l.p95Ms.new)} vs ${round(l.p95Ms.baseline)} ms (${l.p95Ms.ratio.toFixed(2)}x); errors ${round(r.errors.errorRatePercent.new, 2)}% vs ${round(r.errors.errorRatePercent.baseline, 2)}% (p ${pText(r.errors.pValue)}); ${r.samples.new.rows} / ${r.samples.baseline.rows} requests`;
  const broken = r.thresholds.filter((t) => !t.passed).map((t) => t.message);
  return broken.length ? `${figures}; ${broken.join("; ")}` : figures;
}

/** Reads a telemetry result file's text; throws naming what is wrong. */
export function telemetryForCard(text: string): TelemetryForCard {
  let doc: Partial<TelemetryResultFile>;
  try {
    doc = JSON.parse(text) as Partial<TelemetryResultFile>;
  } catch {
    throw new Error("it is not JSON");
  }
  if (doc?.kind !== "telemetryVerdict" || doc.schemaVersion !== 1 || !Array.isArray(doc.regions))
    throw new Error("it is not a GateApproval telemetry result (kind telemetryVerdict, schemaVersion 1)");
  return {
    verdict: doc.verdict ?? "Inconclusive",
    enforced: doc.enforced !== false,
    regions: doc.regions.map((r) => ({ region: r.region, verdict: r.verdict, figures: regionFigures(r) })),
  };
}
