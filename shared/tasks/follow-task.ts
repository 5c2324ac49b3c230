import type { TaskAgent } from "../agent/agent";
import { field, readInputs } from "../agent/inputs";
import { failureMessage, type TaskOutcome } from "../agent/run-task";
import {
  checkConnection,
  connectEv2,
  connectionInputs,
  ev2IdInput,
  thisRunsRolloutIdInput,
} from "../ev2/connection";
import type { Ev2Client } from "../ev2/client";
import type { Rollout } from "../ev2/schemas";
import { durationBetween, formatDuration, outputList } from "../format";
import { MAX_REGIONS_SHOWN, markdownTable, md, mdJoin, mdLines, mdLink, type Markdown } from "../markdown";
import { followRollout, newRegionsOf, rolloutFacts, type FollowOutcome } from "../rollout/follow";
import { describeMitigation, mitigationOf, type Mitigation } from "../rollout/mitigation";
import { findRunRollout } from "../rollout/find-rollout";
import { publishRecord, readRunIdentity } from "../rollout/record";
import { httpOptionsFor, timestamped } from "./common";

export const followInputs = {
  ...connectionInputs,
  rolloutId: thisRunsRolloutIdInput(),
  until: field.choice(["completion", "stage", "waitAction"] as const, "completion"),
  stageName: field.text(),
  pollingIntervalSeconds: field.integer({ min: 1, max: 300, default: 30, unit: "seconds" }),
  timeoutMinutes: field.number({ min: 0, max: 10080, default: 0, unit: "minutes (0 = the job's timeout)" }),
  onFailure: field.choice(["fail", "cancelRollout"] as const, "fail"),
  onPipelineCancel: field.choice(["leaveRunning", "cancelRollout"] as const, "leaveRunning"),
  restartFailed: field.boolean(false),
  rollbackOf: ev2IdInput("the id of the rollout this one rolls back, e.g. $(badRolloutId)"),
  timeToSafetySeconds: field.optionalNumber({ min: 0, max: 7 * 24 * 3600, unit: "seconds" }),
};

export async function runFollow(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  const s = readInputs(agent, followInputs, {
    check: (v) => [
      ...checkConnection(v),
      ...(v.until === "stage" && !v.stageName
        ? [
            [
              "stageName",
              "is required when until is stage: the name of the stage that must complete, e.g. Stage2-WestUS",
            ] as [string, string],
          ]
        : []),
    ],
  });
  const client = connectEv2(agent, s, httpOptionsFor(agent));
  const run = readRunIdentity(agent);
  const rolloutId = s.rolloutId ?? (await findRunRollout(client, run, (m) => agent.info(m))).rolloutId;
  // Given or found: a later step of the job (a rollback's rollbackOf) reads it from here.
  agent.setOutput("rolloutId", rolloutId);
  const pollingMs = s.pollingIntervalSeconds * 1000;
  agent.info(
    `Following rollout ${rolloutId} until ${s.until === "stage" ? `stage ${s.stageName} completes` : s.until === "waitAction" ? "the next approval gate" : "it completes"}; polling every ${formatDuration(pollingMs)}.`,
  );

  const outcome = await followRollout(
    client,
    {
      rolloutId,
      until: s.until,
      stageName: s.stageName,
      pollingIntervalMs: pollingMs,
      timeoutMs: s.timeoutMinutes * 60_000,
      onFailure: s.onFailure,
      onPipelineCancel: s.onPipelineCancel,
      restartFailed: s.restartFailed,
    },
    {
      event: (m) => agent.info(timestamped(m)),
      warning: (m) => agent.warning(m),
      beginGroup: (t) => agent.beginGroup(t),
      endGroup: () => agent.endGroup(),
      progress: (p, a) => agent.setProgress(p, a),
    },
    agent.cancellation,
  ).catch((err: unknown) => {
    // Failed before an outcome (EV2 never answered, a stage not in the rollout): still on record.
    const message = failureMessage("FollowRollout", err, agent);
    record(
      "Failed",
      message,
      { end: "error" },
      mdLines([md`### EV2 rollout ${rolloutId}: not followed`, "", md`${message}`, ""]),
    );
    throw err;
  });

  if (outcome.rollout) {
    setOutputs(agent, outcome.rollout, outcome.end === "failed" ? outcome.failure?.stage : undefined);
    agent.setOutput("newRegions", outputList(newRegionsOf(outcome.rollout, outcome.firstSeen)));
  }
  agent.setOutput(
    "verdictAt",
    outcome.end === "failed" || outcome.end === "cancelled" ? new Date().toISOString() : "",
  );
  const mitigation =
    s.rollbackOf && outcome.rollout ? await verifyRollback(agent, client, s, outcome.rollout) : undefined;
  const result = resultOf(outcome);
  record(
    result,
    outcome.message,
    {
      end: outcome.end,
      failure: outcome.failure,
      actions: outcome.actions,
      polls: outcome.polls,
      transientErrors: outcome.transientErrors,
      rollout: outcome.rollout && snapshot(outcome.rollout),
      mitigation,
    },
    summaryMarkdown(outcome, mitigation),
  );
  return { result, message: outcome.message };

  function record(
    result: TaskOutcome["result"],
    message: string,
    details: Record<string, unknown>,
    summary: string,
  ): void {
    publishRecord(
      agent,
      {
        schemaVersion: 1,
        task: "FollowRollout",
        startedAt,
        endedAt: new Date().toISOString(),
        result,
        message,
        run,
        rolloutId,
        details: { until: s.until, stageName: s.stageName, ...details },
      },
      summary,
    );
  }
}

/**
 * Following a rollback: is every region that got the bad version back on the good one, and
 * since when (EV2's times)? Reading the bad rollout may fail; the follow's own result stands.
 */
async function verifyRollback(
  agent: TaskAgent,
  client: Ev2Client,
  s: { rollbackOf?: string; timeToSafetySeconds?: number },
  rollback: Rollout,
): Promise<Mitigation | undefined> {
  let mitigation: Mitigation;
  try {
    const answer = await client.getRollout(s.rollbackOf!);
    if (answer.notModified) return undefined;
    mitigation = mitigationOf(answer.rollout, rollback, s.timeToSafetySeconds);
  } catch (err) {
    if (agent.cancellation.aborted) throw err;
    agent.warning(
      `Could not read the rolled-back rollout ${s.rollbackOf} from EV2, so mitigation is not verified: ${(err as Error).message}`,
    );
    return undefined;
  }
  agent.setOutput("mitigated", String(mitigation.mitigatedAt !== null));
  agent.setOutput("mitigatedAt", mitigation.mitigatedAt ?? "");
  agent.setOutput("timeToMitigatedSeconds", mitigation.timeToMitigatedSeconds?.toFixed(1) ?? "");
  const line = describeMitigation(mitigation);
  if (mitigation.mitigatedAt === null) agent.warning(line);
  else agent.info(line);
  return mitigation;
}

function resultOf(o: FollowOutcome): TaskOutcome["result"] {
  switch (o.end) {
    case "completed":
    case "stageCompleted":
    case "waiting":
      return "Succeeded";
    default:
      return "Failed";
  }
}

/** `failedStage`: the stage the follow failed on, which EV2 may not have marked Failed yet (onFailure: cancelRollout). */
function setOutputs(agent: TaskAgent, r: Rollout, failedStage?: string): void {
  const f = rolloutFacts(r);
  agent.setOutput("rolloutStatus", f.status);
  agent.setOutput("currentStage", f.currentStage);
  agent.setOutput("completedStages", outputList(f.completedStages));
  agent.setOutput("deployedRegions", outputList(f.deployedRegions));
  agent.setOutput("pendingRegions", outputList(f.pendingRegions));
  agent.setOutput("waitActionId", f.waitAction?.actionId ?? "");
  agent.setOutput("waitingStage", f.waitAction?.stage ?? "");
  agent.setOutput("failedStage", f.failedStage ?? failedStage ?? "");
}

function snapshot(r: Rollout) {
  return {
    status: r.status,
    currentStage: r.currentStage,
    stages: r.stages.map((st) => ({
      name: st.name,
      status: st.status,
      startTime: st.startTime,
      endTime: st.endTime,
      regions: st.regions.map((g) => ({
        name: g.name,
        status: g.status,
        startTime: g.startTime,
        endTime: g.endTime,
      })),
    })),
    waitActions: r.waitActions,
    errors: r.errors,
    dashboardUrl: r.dashboardUrl,
  };
}

const regionMark = (status: string) =>
  status === "Completed"
    ? "✅"
    : status === "Failed"
      ? "❌"
      : status === "InProgress"
        ? "⏳"
        : status === "Waiting"
          ? "⏸"
          : "·";

function summaryMarkdown(o: FollowOutcome, m?: Mitigation): string {
  const r = o.rollout;
  const lines: Array<Markdown | ""> = [
    md`### EV2 rollout ${r?.rolloutId ?? ""}: ${r?.status ?? "unknown"}`,
    "",
    md`${o.message}`,
    "",
  ];
  if (!r) return mdLines(lines);
  lines.push(
    md`${r.serviceGroupName} / ${r.serviceId} ${r.artifactVersionNumber} → ${r.environment}${r.dashboardUrl ? md` · ${mdLink("EV2 dashboard", r.dashboardUrl)}` : ""}`,
    "",
  );
  const rows = r.stages.map((st) => {
    const d = durationBetween(st.startTime, st.endTime);
    const regions = mdJoin(
      st.regions.map((g) => {
        const took = g.endTime ? durationBetween(g.startTime, g.endTime) : undefined;
        return `${g.name} ${regionMark(g.status)}${took === undefined ? "" : ` ${formatDuration(took)}`}`;
      }),
      "<br>",
      MAX_REGIONS_SHOWN,
    );
    return [st.name, st.status, st.startTime ?? "", d === undefined ? "" : formatDuration(d), regions];
  });
  lines.push(markdownTable(["Stage", "Status", "Started", "Duration", "Regions"], rows), "");
  if (r.waitActions.length) {
    lines.push(
      markdownTable(
        ["Gate", "Stage", "Status", "Decided by", "Comment"],
        r.waitActions.map((w) => [w.actionId, w.stage, w.status, w.decidedBy ?? "", w.comment ?? ""]),
      ),
      "",
    );
  }
  if (r.errors.length) {
    lines.push(
      markdownTable(
        ["Stage", "Region", "Code", "Message"],
        r.errors.map((e) => [e.stage ?? "", e.region ?? "", e.errorCode, e.message]),
      ),
      "",
    );
  }
  if (o.failure) lines.push(md`**What to do:** ${o.failure.recommendation}`, "");
  if (m) lines.push(...mitigationSummary(m));
  return mdLines(lines);
}

/** Time to safety in two halves, and where each region that got the bad version stands. */
function mitigationSummary(m: Mitigation): Array<Markdown | ""> {
  const seconds = (v: number | null) => (v === null ? "-" : `${v.toFixed(1)} s`);
  const restored = new Map(m.restored.map((r) => [r.region, r.at]));
  return [
    md`#### Rollback of ${m.rollbackOf}: ${m.mitigatedAt === null ? "not mitigated yet" : "mitigated"}`,
    "",
    markdownTable(
      ["", ""],
      [
        ["Bad version → good version", `${m.badVersion} → ${m.goodVersion}`],
        ["Rollback accepted by EV2", m.acceptedAt],
        ["Time to safety: accepted", `${seconds(m.timeToAcceptedSeconds)} (bad verdict → rollback accepted)`],
        ["Mitigated", m.mitigatedAt ?? "not yet"],
        [
          "Time to safety: mitigated",
          `${seconds(m.timeToMitigatedSeconds)} (bad verdict → every region back; ${seconds(m.rollbackSeconds)} after acceptance)`,
        ],
      ],
    ),
    "",
    markdownTable(
      ["Region that got " + m.badVersion, "Back on " + m.goodVersion],
      m.regions
        .slice(0, MAX_REGIONS_SHOWN)
        .map((g) => [
          g,
          restored.get(g) ?? (m.notCovered.includes(g) ? "not in the rollback's scope" : "not yet"),
        ]),
    ),
    "",
    md`${describeMitigation(m)}`,
    "",
  ];
}
