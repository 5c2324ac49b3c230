import { findApprover, type ApproverFinding } from "../ado";
import { jobAccessToken, jobTokenSources } from "../agent/job-token";
import type { TaskAgent } from "../agent/agent";
import { field, readInputs, type InputValues } from "../agent/inputs";
import { failureMessage, type TaskOutcome } from "../agent/run-task";
import type { Ev2Client } from "../ev2/client";
import type { HttpClientOptions } from "../http/request";
import { checkConnection, connectEv2, connectionInputs } from "../ev2/connection";
import type { WaitAction } from "../ev2/schemas";
import { markdownTable } from "../format";
import { awaitWaitAction, type Decision } from "../gate/decide";
import {
  evidenceFileProblem,
  judgeRolloutErrors,
  judgeStressResult,
  healthProbeForms,
  parseHealthProbe,
  probeHealth,
  type EvidenceVerdict,
} from "../gate/evidence";
import { publishRecord, readRunIdentity, type RunIdentity } from "../rollout/record";
import { httpOptionsFor, pollingIntervalMs } from "./common";

export const gateInputs = {
  ...connectionInputs,
  rolloutId: field.requiredText({
    pattern: /^[A-Za-z0-9._:-]{1,128}$/,
    expected: "an EV2 rollout id such as $(trigger.rolloutId)",
    example: "$(trigger.rolloutId)",
  }),
  actionId: field.text({
    pattern: /^[A-Za-z0-9._:-]{1,128}$/,
    expected: "a wait action id such as wait-1 (or empty for the waiting one)",
  }),
  decision: field.choice(["approve", "reject", "evaluate"] as const),
  comment: field.text({ maxLength: 2000 }),
  evidence: field.lines({ check: evidenceFileProblem, max: 50 }),
  healthProbes: field.lines({
    check: (l) => (parseHealthProbe(l) ? undefined : `must be ${healthProbeForms}`),
    max: 20,
  }),
  waitTimeoutMinutes: field.integer({ min: 0, max: 1440, default: 60, unit: "minutes" }),
  onUnhealthy: field.choice(["reject", "leaveWaiting", "fail"] as const, "reject"),
};

const statusWord = { Approve: "Approved", Reject: "Rejected" } as const;

export async function runGate(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  const s = readInputs(agent, gateInputs, { check: checkConnection });
  const http = httpOptionsFor(agent);
  const client = connectEv2(agent, s, http);
  const run = readRunIdentity(agent);
  try {
    return await gate(agent, s, client, run, http, startedAt);
  } catch (err) {
    // Cancelled or failed before a result: the record still says what happened, for the evidence trail.
    const message = failureMessage("GateApproval", err, agent);
    const record = { task: "GateApproval", startedAt, endedAt: new Date().toISOString(), result: "Failed" };
    publishRecord(
      agent,
      {
        schemaVersion: 1,
        ...record,
        message,
        run,
        rolloutId: s.rolloutId,
        details: { requested: s.decision },
      },
      `### EV2 gate: failed\n\n${message}\n`,
    );
    throw err;
  }
}

async function gate(
  agent: TaskAgent,
  s: InputValues<typeof gateInputs>,
  client: Ev2Client,
  run: RunIdentity,
  http: HttpClientOptions,
  startedAt: string,
): Promise<TaskOutcome> {
  const { rollout, action } = await awaitWaitAction(client, s.rolloutId, s.actionId, {
    timeoutMs: s.waitTimeoutMinutes * 60_000,
    pollingMs: pollingIntervalMs(agent, 15_000, client.baseUrl),
    signal: agent.cancellation,
    onWait: (m) => agent.info(m),
    decidedByThisStep: (w) => !!run.runUrl && (w.comment ?? "").includes(stepTag(run)),
  });
  agent.info(`Wait action ${action.actionId} before stage ${action.stage}: ${action.status}.`);

  const evidence: EvidenceVerdict[] = [];
  let decision: Decision | undefined;
  let decidedBy: string;
  let comment: string;
  let approver: ApproverFinding | undefined;

  if (action.status !== "Waiting") {
    // A re-run after the decision: report it, decide nothing.
    return finish(alreadyDecided(action, s.decision));
  }
  if (s.decision === "evaluate") {
    for (const file of s.evidence) evidence.push(judgeStressResult(file));
    evidence.push(judgeRolloutErrors(rollout));
    for (const line of s.healthProbes) evidence.push(await probeHealth(parseHealthProbe(line)!, http));
    for (const e of evidence) agent.info(`${e.passed ? "PASS" : "FAIL"} ${e.kind} ${e.source}: ${e.detail}`);
    const failed = evidence.filter((e) => !e.passed);
    decidedBy = `Automatic gate (${run.runUrl ?? "Azure Pipelines"}${run.requestedFor ? `, run requested by ${run.requestedFor}` : ""})`;
    const because = failed.length
      ? failed.map((e) => `${e.source}: ${e.detail}`).join("; ")
      : `${evidence.length} piece(s) of evidence held`;
    comment = [s.comment, `Evaluated: ${because}.`, `(${stepTag(run)})`].filter(Boolean).join(" ");
    if (failed.length === 0) decision = "Approve";
    else if (s.onUnhealthy === "reject") decision = "Reject";
    else {
      const message = `The evidence did not hold (${because}); wait action ${action.actionId} was left waiting (onUnhealthy: ${s.onUnhealthy}).`;
      return finish({
        result: s.onUnhealthy === "fail" ? "Failed" : "SucceededWithIssues",
        message,
        decision: "leftWaiting",
        decidedBy: "",
      });
    }
  } else {
    decision = s.decision === "approve" ? "Approve" : "Reject";
    approver = await lookUpApprover(agent, run);
    if (approver.note) agent.info(approver.note);
    decidedBy = approver.decidedBy.uniqueName
      ? `${approver.decidedBy.displayName} <${approver.decidedBy.uniqueName}>`
      : approver.decidedBy.displayName;
    const source = approver.source === "requester" ? "the run's requester" : "Azure DevOps approval";
    comment = [approver.comment, s.comment, `(${source}, ${stepTag(run)})`].filter(Boolean).join(" ");
  }

  const result = await client.decideWaitAction(s.rolloutId, action.actionId, {
    decision,
    comment,
    decidedBy,
  });
  const verb = statusWord[decision].toLowerCase();
  const message = result.alreadyDecided
    ? `Wait action ${action.actionId} was already ${verb}; nothing changed.`
    : `Wait action ${action.actionId} before stage ${action.stage} ${verb} as ${decidedBy}.`;
  // An automatic rejection is a bad verdict: fail, so `condition: failed()` steps (rollback, notify) run.
  const failedGate = s.decision === "evaluate" && decision === "Reject";
  return finish({
    result: failedGate ? "Failed" : "Succeeded",
    message,
    decision: decision === "Approve" ? "approved" : "rejected",
    decidedBy,
  });

  function finish(o: {
    result: TaskOutcome["result"];
    message: string;
    decision: string;
    decidedBy: string;
  }): TaskOutcome {
    agent.setOutput("decision", o.decision);
    agent.setOutput("actionId", action.actionId);
    agent.setOutput("decidedBy", o.decidedBy);
    agent.setOutput("verdictAt", o.decision === "approved" ? "" : new Date().toISOString());
    const summary = [
      `### EV2 gate ${action.actionId} (before ${action.stage}): ${o.decision}`,
      "",
      o.message,
      "",
      ...(evidence.length
        ? [
            markdownTable(
              ["Evidence", "Source", "Verdict", "Detail"],
              evidence.map((e) => [e.kind, e.source, e.passed ? "✅ pass" : "❌ fail", e.detail]),
            ),
            "",
          ]
        : []),
      ...(approver
        ? [
            `Decided by ${o.decidedBy} (source: ${approver.source}${approver.note ? `; ${approver.note}` : ""}).`,
            "",
          ]
        : []),
    ].join("\n");
    publishRecord(
      agent,
      {
        schemaVersion: 1,
        task: "GateApproval",
        startedAt,
        endedAt: new Date().toISOString(),
        result: o.result,
        message: o.message,
        run,
        rolloutId: s.rolloutId,
        details: {
          actionId: action.actionId,
          stage: action.stage,
          requested: s.decision,
          decision: o.decision,
          decidedBy: o.decidedBy,
          approverSource: approver?.source,
          approverNote: approver?.note,
          evidence,
        },
      },
      summary,
    );
    return { result: o.result, message: o.message };
  }
}

/** Names the run and stage in the decision's comment: people see where it came from, re-runs find it. */
function stepTag(run: RunIdentity): string {
  return [run.runUrl ?? "Azure Pipelines", run.stageName && `stage ${run.stageName}`]
    .filter(Boolean)
    .join(", ");
}

function alreadyDecided(action: WaitAction, requested: "approve" | "reject" | "evaluate") {
  const decision = action.status === "Approved" ? "approved" : "rejected";
  const by = action.decidedBy ?? "";
  const conflicting =
    (requested === "approve" && action.status !== "Approved") ||
    (requested === "reject" && action.status !== "Rejected");
  if (conflicting) {
    return {
      result: "Failed" as const,
      message: `Wait action ${action.actionId} was already ${action.status}${by ? ` by ${by}` : ""}${action.decidedAt ? ` at ${action.decidedAt}` : ""}; it cannot be ${requested === "approve" ? "approved" : "rejected"} now.`,
      decision,
      decidedBy: by,
    };
  }
  return {
    result:
      requested === "evaluate" && action.status === "Rejected" ? ("Failed" as const) : ("Succeeded" as const),
    message: `Wait action ${action.actionId} was already ${action.status}${by ? ` by ${by}` : ""}; nothing changed.`,
    decision,
    decidedBy: by,
  };
}

async function lookUpApprover(agent: TaskAgent, run: RunIdentity): Promise<ApproverFinding> {
  const requestedFor = { displayName: run.requestedFor ?? "the pipeline run's requester" };
  const token = jobAccessToken(agent);
  if (!token || !run.collectionUri || !run.project) {
    return {
      decidedBy: requestedFor,
      source: "requester",
      note: `The job has no Azure DevOps token (${jobTokenSources}), so the Azure DevOps approval was not looked up; the run's requester is recorded instead.`,
    };
  }
  const releaseId = Number(run.releaseId);
  return findApprover({
    collectionUrl: run.collectionUri,
    project: run.project,
    token,
    requestedFor,
    signal: agent.cancellation,
    release: run.releaseId
      ? {
          releaseId,
          environmentId: Number(run.releaseEnvironmentId) || undefined,
          environmentName: agent.getVariable("Release.EnvironmentName"),
        }
      : undefined,
    yaml: run.buildId && run.stageName ? { buildId: Number(run.buildId), stage: run.stageName } : undefined,
  });
}
