/** The deployment report as markdown: what a reviewer reads without opening a log. */
import { formatDuration, listWithMore } from "../format";
import {
  MAX_REGIONS_SHOWN,
  markdownTable,
  md,
  mdCode,
  mdJoin,
  mdLines,
  mdLink,
  type Markdown,
} from "../markdown";
import { telemetryMarkdown } from "../telemetry/evidence";
import type {
  DeploymentReport,
  ReportApprovalWait,
  ReportGate,
  ReportRollout,
  ReportStressTest,
} from "./deployment-report";

const outcomeWords: Record<DeploymentReport["outcome"], string> = {
  completed: "✅ completed",
  rolledBack: "↩️ rolled back",
  failed: "❌ failed",
  inProgress: "⏳ in progress",
  unknown: "unknown",
};

const seconds = (s: number | null | undefined): string =>
  s === null || s === undefined ? "" : formatDuration(s * 1000);
const safety = (s: number | null): string =>
  s === null ? "-" : s < 60 ? `${s.toFixed(1)} s` : `${formatDuration(s * 1000)} (${Math.round(s)} s)`;
const ms = (v: number | null): string => (v === null ? "n/a" : `${Math.round(v * 10) / 10} ms`);
// Three significant digits: 0.9955% must not read as the 1% a threshold allows.
const percent = (v: number | null): string => (v === null ? "n/a" : `${Number(v.toPrecision(3))}%`);
/** Times as people compare them in a table: the date once is enough, to the second. */
const when = (iso: string | null | undefined): string =>
  iso ? iso.replace("T", " ").replace(/(\.\d+)?Z$/, "Z") : "";
const statusMark = (status: string | undefined): string => {
  switch (status) {
    case "Completed":
      return "✅ Completed";
    case "Failed":
      return "❌ Failed";
    case "Cancelled":
      return "⛔ Cancelled";
    case "InProgress":
      return "⏳ InProgress";
    case "Waiting":
      return "⏸ Waiting";
    default:
      return status ?? "";
  }
};

export function renderDeploymentReportMarkdown(report: DeploymentReport): string {
  const out: Array<Markdown | ""> = [];
  const main = report.rollouts.find((r) => r.role === "rollout") ?? report.rollouts[0];
  const title = main
    ? [main.serviceId, main.artifactVersion, main.environment && `→ ${main.environment}`]
        .filter(Boolean)
        .join(" ")
    : "";
  out.push(md`# Deployment report${title ? `: ${title}` : ""}`, "", md`${report.headline}`, "");

  const run = report.run;
  const facts: Array<[string, string | Markdown]> = [["Outcome", outcomeWords[report.outcome]]];
  if (report.rollbacks.length) {
    facts.push([
      "Time to safety",
      `${safety(report.timeToSafetySeconds)} (bad verdict → rollback accepted by EV2)`,
    ]);
    facts.push(["Time to mitigated", mitigatedFact(report.rollbacks[report.rollbacks.length - 1])]);
  }
  if (run.runUrl || run.buildId || run.releaseId)
    facts.push([
      "Pipeline run",
      mdLink(run.releaseId ? `release ${run.releaseId}` : `build ${run.buildId ?? "run"}`, run.runUrl),
    ]);
  if (run.requestedFor) facts.push(["Requested by", run.requestedFor]);
  if (run.sourceVersion) facts.push(["Commit", run.sourceVersion.slice(0, 12)]);
  if (run.stages.length || run.jobs.length)
    facts.push(["Stage / job", `${run.stages.join(", ") || "-"} / ${run.jobs.join(", ") || "-"}`]);
  if (report.window.startedAt)
    facts.push([
      "Window",
      `${when(report.window.startedAt)} → ${when(report.window.endedAt)} (${seconds(report.window.durationSeconds) || "-"})`,
    ]);
  out.push(markdownTable(["", ""], facts), "");
  if (report.waitingForApproval) out.push(...approvalWaitLines(report.waitingForApproval, "##"));

  const triggered = report.rollouts.filter((r) => r.trigger);
  if (triggered.length) {
    out.push(
      md`
## Pre-deployment checks
      `,
      "",
    );
    for (const r of triggered) out.push(...preDeployment(r));
  }

  for (const r of report.rollouts) out.push(...rolloutSection(r));

  if (report.stressTests.length) {
    out.push(
      md`
## Stress tests
      `,
      "",
    );
    out.push(
      markdownTable(
        [
          "Started",
          "Where",
          "Verdict",
          "Error rate",
          "p50",
          "p95",
          "p99",
          "Req/s",
          "Against baseline",
          "Failed thresholds",
        ],
        report.stressTests.map((t) => [
          when(t.at),
          [t.region, t.stage].filter(Boolean).join(" ") || "-",
          stressVerdict(t),
          percent(t.errorRatePercent),
          ms(t.p50Ms),
          ms(t.p95Ms),
          ms(t.p99Ms),
          t.requestsPerSecond === null ? "n/a" : String(Math.round(t.requestsPerSecond * 10) / 10),
          baselineText(t),
          t.failedThresholds.join("; ") || (t.notReady ?? "-"),
        ]),
      ),
      "",
    );
  }

  if (report.gates.length) {
    out.push(
      md`
## Approval gates
      `,
      "",
    );
    out.push(
      markdownTable(
        ["Gate", "Rollout", "Before stage", "Decision", "Decided by", "When", "Why"],
        report.gates.map((g) => [
          g.actionId ?? "-",
          g.rolloutId ?? "-",
          g.stage ?? "-",
          `${g.decision}${g.requested ? ` (asked: ${g.requested})` : ""}`,
          `${g.decidedBy ?? "-"}${g.approverSource ? ` (${g.approverSource})` : g.decidedThrough === "ev2" ? " (in EV2)" : ""}`,
          when(g.decidedAt ?? g.at),
          gateWhy(g),
        ]),
      ),
      "",
    );
    for (const g of report.gates)
      if (g.approverNote) out.push(md`- ${g.actionId ?? "gate"}: ${g.approverNote}`);
    if (report.gates.some((g) => g.approverNote)) out.push("");
    for (const g of report.gates)
      if (g.telemetry)
        out.push(
          md`### Production telemetry at ${g.actionId ?? "the gate"} (before ${g.stage ?? "?"})`,
          "",
          ...telemetryMarkdown(g.telemetry),
        );
  }

  if (report.notifications.length) {
    out.push(
      md`
## Notifications
      `,
      "",
    );
    out.push(
      markdownTable(
        ["Sent", "Card", "Rollout", "Delivered", "Answer"],
        report.notifications.map((n) => [
          when(n.at),
          `${n.card ?? n.requested ?? "-"}${n.requested === "auto" && n.card ? " (auto)" : ""}`,
          n.rolloutId ?? "-",
          n.delivered ? "yes" : "no",
          [
            n.httpStatus === undefined ? "" : `HTTP ${n.httpStatus}`,
            n.attempts && n.attempts > 1 ? `${n.attempts} attempts` : "",
            n.error ?? "",
            n.cardFile ? `card kept as ${n.cardFile}` : "",
          ]
            .filter(Boolean)
            .join("; ") || "-",
        ]),
      ),
      "",
    );
  }

  if (report.rollbacks.length) {
    out.push(
      md`
## Rollback
      `,
      "",
    );
    out.push(
      markdownTable(
        [
          "Rolled back",
          "Bad version",
          "Rolled back to",
          "By rollout",
          "Bad verdict",
          "Rollback accepted",
          "Time to safety",
          "Mitigated",
          "Time to mitigated",
        ],
        report.rollbacks.map((rb) => [
          rb.rolledBackRolloutId,
          rb.badVersion ?? "-",
          rb.rolledBackToVersion ?? "-",
          rb.rolloutId ?? "-",
          when(rb.badVerdictAt) || "-",
          when(rb.acceptedAt) || "-",
          `${safety(rb.timeToSafetySeconds)}${rb.timeToSafetySource === "estimated" ? " (estimated)" : ""}`,
          rb.mitigation?.mitigatedAt ? when(rb.mitigation.mitigatedAt) : "-",
          mitigatedFact(rb),
        ]),
      ),
      "",
    );
    for (const rb of report.rollbacks) if (rb.mitigation) out.push(...mitigationTable(rb), "");
    if (report.badVerdicts.length) {
      out.push(
        md`
Bad verdicts:
        `,
        "",
      );
      for (const v of report.badVerdicts) out.push(md`- ${when(v.at)} ${v.task}: ${v.what}`);
      out.push("");
    }
  }

  out.push(
    md`
## Steps
    `,
    "",
  );
  out.push(
    markdownTable(
      ["Started", "Task", "Job", "Result", "Duration", "Message"],
      report.steps.map((s) => [
        when(s.startedAt),
        s.task,
        s.job ?? "-",
        s.result ?? "-",
        seconds(s.durationSeconds) || "-",
        s.message ?? "",
      ]),
    ),
    "",
  );
  return mdLines(out);
}

function preDeployment(r: ReportRollout): Array<Markdown | ""> {
  const t = r.trigger!;
  const rows: Array<[string, string | Markdown]> = [
    ["Rollout", mdLink(r.rolloutId, r.dashboardUrl)],
    ["Started as", `${t.outcome ?? "-"}${r.role === "rollback" ? ` (rollback of ${r.rollbackOf})` : ""}`],
    ["Service", [r.serviceGroupName, r.serviceId].filter(Boolean).join(" / ") || "-"],
    ["Environment", r.environment ?? "-"],
    ["Artifact version", r.artifactVersion ?? "-"],
    ["Stage map", [r.stageMapName, r.stageMapVersion].filter(Boolean).join(" ") || "-"],
    ["Scope", t.selectionScope.length ? mdJoin(t.selectionScope, "<br>") : "-"],
  ];
  if (t.exclusionScope.length) rows.push(["Excluded", mdJoin(t.exclusionScope, "<br>")]);
  rows.push(["Tracking branch", t.trackingBranch ?? "-"]);
  if (t.idempotencyKey) rows.push(["Idempotency key", mdCode(t.idempotencyKey)]);
  const out: Array<Markdown | ""> = [markdownTable(["", ""], rows), ""];
  if (t.resolution.length) out.push(...t.resolution.map((w) => md`- ${w}`), "");
  return out;
}

function rolloutSection(r: ReportRollout): Array<Markdown | ""> {
  const out: Array<Markdown | ""> = [
    md`## ${r.role === "rollback" ? "Rollback rollout" : "Rollout"} ${r.rolloutId}: ${r.status ?? "status not seen"}`,
    "",
  ];
  const about = [
    r.serviceId && r.artifactVersion ? `${r.serviceId} ${r.artifactVersion}` : r.serviceId,
    r.environment && `→ ${r.environment}`,
    r.statusAt && `status as of ${when(r.statusAt)}`,
    // EV2 keeps its own clock (a simulator's runs fast): its stage times are not the run's.
    r.stages.length > 0 && "stage and region times by EV2's clock",
    r.rolledBackBy && `rolled back by ${r.rolledBackBy}`,
    r.dashboardUrl && mdLink("EV2 dashboard", r.dashboardUrl),
  ].filter((part) => !!part);
  if (about.length) out.push(mdJoin(about, " · "), "");
  if (r.stages.length) {
    out.push(
      markdownTable(
        ["Stage", "Status", "Started", "Ended", "Duration", "Regions"],
        r.stages.map((s) => [
          s.name,
          statusMark(s.status),
          when(s.startTime) || "-",
          when(s.endTime) || "-",
          seconds(s.durationSeconds) || "-",
          mdJoin(
            s.regions.map(
              (g) =>
                `${g.name} ${g.status ?? ""}${g.durationSeconds === null ? "" : ` (${seconds(g.durationSeconds)})`}`,
            ),
            "<br>",
            MAX_REGIONS_SHOWN,
          ),
        ]),
      ),
      "",
    );
  } else {
    out.push(
      md`
No FollowRollout step recorded this rollout's stages.
      `,
      "",
    );
  }
  if (r.errors.length) {
    out.push(
      markdownTable(
        ["Stage", "Region", "Code", "Class", "Message"],
        r.errors.map((e) => [e.stage ?? "-", e.region ?? "-", e.errorCode, e.errorClass, e.message]),
      ),
      "",
    );
    if (r.errorsOmitted) out.push(md`…and ${r.errorsOmitted} more error(s): see the EV2 dashboard.`, "");
  }
  if (r.failure?.recommendation) out.push(md`**What to do:** ${r.failure.recommendation}`, "");
  return out;
}

/**
 * What the approver needs, next to the link to approve: the stage EV2 holds, the regions deployed
 * since the last gate, and the stress verdict on them with the figure that decided it. The run's
 * summary (each step's, while EV2 waits) and the deployment report both show it.
 */
export function renderApprovalWaitMarkdown(w: ReportApprovalWait): string {
  return mdLines(approvalWaitLines(w, "###"));
}

function approvalWaitLines(w: ReportApprovalWait, heading: "##" | "###"): Array<Markdown | ""> {
  const title = w.stage
    ? md`Waiting for approval before ${w.stage}`
    : md`
Waiting for approval
      `;
  const action = [w.actionId, w.reason].filter(Boolean).join(", ");
  const facts: Array<[string, string | Markdown]> = [
    ["EV2 stage waiting", w.stage ?? "-"],
    [
      "Wait action",
      `${action}${w.waitingSince ? ` · waiting since ${when(w.waitingSince)} (EV2's clock)` : ""}`,
    ],
    ["Rollout", w.dashboardUrl ? mdLink(w.rolloutId, w.dashboardUrl) : w.rolloutId],
    [
      "Deployed since the last gate",
      w.newRegions.length ? mdJoin(w.newRegions, ", ", MAX_REGIONS_SHOWN) : "none",
    ],
    ["Stress test", approvalStressText(w.stressTest)],
  ];
  const approve = w.approvalUrl
    ? md`**${mdLink("Approve or reject in Azure DevOps", w.approvalUrl)}** (the pending approval or check of the stage that follows this gate)`
    : md`
**Approve or reject in Azure DevOps**, on the pipeline run (the pending approval or check of the stage that follows this gate).
      `;
  const head = heading === "##" ? md`## ⏸️ ${title}` : md`### ⏸️ ${title}`;
  return [head, "", markdownTable(["", ""], facts), "", approve, ""];
}

/** The verdict with the figure that decided it: the first failed threshold, else the figures measured. */
function approvalStressText(t: ReportStressTest | undefined): string {
  if (!t) return "not run yet: no StressTestStage step has run since the rollout was seen at this gate";
  const where = t.region || t.stage ? ` (${[t.region, t.stage].filter(Boolean).join(" ")})` : "";
  const figures = [
    `error rate ${percent(t.errorRatePercent)}`,
    `p95 ${ms(t.p95Ms)}`,
    `p99 ${ms(t.p99Ms)}`,
    t.requestsPerSecond === null ? undefined : `${Math.round(t.requestsPerSecond * 10) / 10} req/s`,
  ]
    .filter(Boolean)
    .join(", ");
  switch (t.verdict) {
    case "passed":
      return `✅ passed${where}: ${figures}`;
    case "failed":
      return `❌ failed${where}: ${failedText(t.failedThresholds) || figures}`;
    case "aborted":
      return `stopped before the end${where}: ${figures}`;
    case "notReady":
      return `❌ not run${where}: ${t.notReady ?? "the endpoints never became ready"}`;
    default:
      return `unknown${where}`;
  }
}

/** The first failed threshold (it names its figure), then how many more failed. */
function failedText(failed: string[]): string {
  if (failed.length <= 1) return failed[0] ?? "";
  return `${failed[0]}; and ${failed.length - 1} more failed threshold${failed.length === 2 ? "" : "s"}`;
}

function stressVerdict(t: ReportStressTest): string {
  switch (t.verdict) {
    case "passed":
      return "✅ passed";
    case "failed":
      return `❌ failed${earlyAbortText(t)}${t.rolloutCancelled ? " (rollout cancelled)" : ""}`;
    case "aborted":
      return "aborted";
    case "notReady":
      return "❌ not ready";
    default:
      return "-";
  }
}

/** ", aborted early at 4 s (time to detect 3 s, eastus)": the load stopped by a windowed line. */
function earlyAbortText(t: ReportStressTest): string {
  const e = t.earlyAbort;
  if (!e) return "";
  const at = e.atSeconds === undefined ? "" : ` at ${e.atSeconds} s`;
  const detail = [
    e.timeToDetectSeconds === undefined ? undefined : `time to detect ${e.timeToDetectSeconds} s`,
    e.endpoint,
  ].filter(Boolean);
  return `, aborted early${at}${detail.length ? ` (${detail.join(", ")})` : ""}`;
}

function baselineText(t: ReportStressTest): string {
  const b = t.baseline;
  if (!b) return "-";
  const parts: string[] = [];
  if (b.verdict) parts.push(`latency ${b.verdict}`);
  if (b.cliffsDelta !== undefined) parts.push(`Cliff's δ ${b.cliffsDelta.toFixed(2)}`);
  for (const [figure, c] of Object.entries(b.changes ?? {})) {
    if (c.relativeChange === null) continue;
    const sign = c.relativeChange > 0 ? "+" : "";
    parts.push(`${figure} ${sign}${Math.round(c.relativeChange * 1000) / 10}%`);
  }
  return parts.join(", ") || "compared";
}

function gateWhy(g: ReportGate): string {
  const evidence = g.evidence.map(
    (e) =>
      `${e.inconclusive ? "❔" : e.passed ? "✅" : "❌"} ${e.kind ?? "evidence"}${e.notEnforced ? " (not enforced)" : ""}${e.detail ? `: ${e.detail}` : ""}`,
  );
  const parts = [g.comment, evidence.length ? listWithMore(evidence, 5) : undefined].filter(Boolean);
  return parts.join(" · ") || (g.message ?? "-");
}

/** The second half of time to safety: every region that got the bad version back on the good one. */
function mitigatedFact(rb: DeploymentReport["rollbacks"][number] | undefined): string {
  const m = rb?.mitigation;
  if (!m) return "not verified (no FollowRollout with rollbackOf followed the rollback)";
  if (!m.mitigated)
    return `not yet when last checked (${when(m.checkedAt)}): ${m.restored.length} of ${m.regions.length} region(s) back`;
  if (m.timeToMitigatedSeconds !== null) return safety(m.timeToMitigatedSeconds);
  return `${safety(m.rollbackSeconds)} after the rollback was accepted`;
}

function mitigationTable(rb: DeploymentReport["rollbacks"][number]): Array<Markdown | ""> {
  const m = rb.mitigation!;
  const restored = new Map(m.restored.map((r) => [r.region, r.at]));
  const rows = m.regions
    .slice(0, MAX_REGIONS_SHOWN)
    .map((g) => [
      g,
      restored.has(g)
        ? when(restored.get(g))
        : m.notCovered.includes(g)
          ? "not in the rollback's scope"
          : "not yet",
    ]);
  return [
    md`Regions that got ${rb.badVersion ?? "the bad version"} (rollback ${rb.rolloutId ?? "?"}), back on ${rb.rolledBackToVersion ?? "the good version"} at (EV2's time):`,
    "",
    markdownTable(["Region", "Back at"], rows.length ? rows : [["(none reached)", "-"]]),
    ...(m.regions.length > MAX_REGIONS_SHOWN
      ? ["" as const, md`… and ${m.regions.length - MAX_REGIONS_SHOWN} more (the report's JSON has all).`]
      : []),
  ];
}
