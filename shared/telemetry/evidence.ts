/**
 * What a gate records of the production telemetry it judged on, and how the record, the step's
 * summary and the deployment report show it: per region the tests, p-values, the shift with its
 * interval, samples on each side and the verdict, then each query with its time span.
 */
import { Markdown, markdownTable, md } from "../markdown";
import { pText, type BaselineKind, type RegionVerdict, type TelemetryVerdictKind } from "./judge";

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
