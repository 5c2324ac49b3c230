import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { ApprovalNotFound, findAdoDecision, findApprover, type ApproverFinding } from "../ado";
import { jobAccessToken, jobTokenSources } from "../agent/job-token";
import type { TaskAgent } from "../agent/agent";
import { field, readInputs, type InputValues } from "../agent/inputs";
import { failureMessage, TaskFailure, type TaskOutcome } from "../agent/run-task";
import type { Ev2Client } from "../ev2/client";
import type { HttpClientOptions } from "../http/request";
import {
  checkConnection,
  connectEv2,
  connectionInputs,
  ev2IdInput,
  thisRunsRolloutIdInput,
} from "../ev2/connection";
import type { WaitAction } from "../ev2/schemas";
import { markdownTable, md, mdLines } from "../markdown";
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
import { checkTelemetry, telemetryInputs } from "../gate/telemetry-inputs";
import { telemetryMarkdown, type TelemetryEvidence, type TelemetryResultFile } from "../telemetry/evidence";
import { findRunRollout } from "../rollout/find-rollout";
import { publishRecord, readRunIdentity, type RunIdentity } from "../rollout/record";
import { httpOptionsFor } from "./common";

export const gateInputs = {
  ...connectionInputs,
  rolloutId: thisRunsRolloutIdInput(),
  actionId: ev2IdInput("a wait action id such as wait-1 (or empty for the waiting one)"),
  decision: field.choice(["approve", "reject", "evaluate"] as const),
  comment: field.text({ maxLength: 2000 }),
  evidence: field.lines({ check: evidenceFileProblem, max: 50 }),
  healthProbes: field.lines({
    check: (l) => (parseHealthProbe(l) ? undefined : `must be ${healthProbeForms}`),
    max: 20,
  }),
  waitTimeoutMinutes: field.number({ min: 0, max: 1440, default: 60, unit: "minutes" }),
  pollingIntervalSeconds: field.integer({ min: 1, max: 300, default: 15, unit: "seconds" }),
  onUnhealthy: field.choice(["reject", "leaveWaiting", "fail"] as const, "reject"),
  requireApproval: field.boolean(true),
  ...telemetryInputs,
};

const statusWord = { Approve: "Approved", Reject: "Rejected" } as const;

export async function runGate(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  const s = readInputs(agent, gateInputs, { check: (v) => [...checkConnection(v), ...checkTelemetry(v)] });
  const http = httpOptionsFor(agent);
  const client = connectEv2(agent, s, http);
  const run = readRunIdentity(agent);
  let rolloutId = s.rolloutId;
  try {
    rolloutId ??= (await findRunRollout(client, run, (m) => agent.info(m))).rolloutId;
    // Given or found: a later step of the job (a rollback's rollbackOf) reads it from here.
    agent.setOutput("rolloutId", rolloutId);
    return await gate(agent, { ...s, rolloutId }, client, run, http, startedAt);
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
        rolloutId,
        details: { requested: s.decision },
      },
      mdLines([
        md`
### EV2 gate: failed
        `,
        "",
        md`${message}`,
        "",
      ]),
    );
    throw err;
  }
}

async function gate(
  agent: TaskAgent,
  s: InputValues<typeof gateInputs> & { rolloutId: string },
  client: Ev2Client,
  run: RunIdentity,
  http: HttpClientOptions,
  startedAt: string,
): Promise<TaskOutcome> {
  const { rollout, action } = await awaitWaitAction(client, s.rolloutId, s.actionId, {
    timeoutMs: s.waitTimeoutMinutes * 60_000,
    pollingMs: s.pollingIntervalSeconds * 1000,
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
  let telemetry: TelemetryEvidence | undefined;

  if (action.status !== "Waiting") {
    // A re-run after the decision: report it, decide nothing.
    return finish(alreadyDecided(action, s.decision));
  }
  if (s.decision === "evaluate") {
    for (const file of s.evidence) evidence.push(judgeStressResult(file));
    evidence.push(judgeRolloutErrors(rollout));
    for (const line of s.healthProbes) evidence.push(await probeHealth(parseHealthProbe(line)!, http));
    if (s.telemetryWorkspaceId) {
      // The query client and the judge are loaded only by runs that read telemetry.
      const { judgeTelemetry } = await import("../gate/telemetry");
      telemetry = await judgeTelemetry(
        agent,
        { ...s, telemetryWorkspaceId: s.telemetryWorkspaceId },
        rollout,
        http,
      );
      evidence.push({
        kind: "telemetry",
        // The workspace is in the record; EV2's comment (and the card showing it) keeps to the figures.
        source: "production telemetry",
        passed: telemetry.verdict === "Pass",
        ...(telemetry.verdict === "Inconclusive" ? { inconclusive: true } : {}),
        ...(telemetry.enforced ? {} : { notEnforced: true }),
        detail: `${telemetry.enforced ? "" : "shadow mode, not enforced: "}${telemetry.summary}`,
      });
    }
    for (const e of evidence)
      agent.info(
        `${e.inconclusive ? "INCONCLUSIVE" : e.passed ? "PASS" : "FAIL"} ${e.kind} ${e.source}: ${e.detail}`,
      );
    // Shadow mode: the telemetry verdict is recorded and shown, and decides nothing.
    const counted = evidence.filter((e) => !e.notEnforced);
    const failed = counted.filter((e) => !e.passed && !e.inconclusive);
    const open = counted.filter((e) => e.inconclusive);
    decidedBy = `Automatic gate (${run.runUrl ?? "Azure Pipelines"}${run.requestedFor ? `, run requested by ${run.requestedFor}` : ""})`;
    const describe = (list: EvidenceVerdict[]) =>
      // A result file by its name: the agent's temp folder means nothing in EV2.
      list.map((e) => `${e.kind === "stressResult" ? basename(e.source) : e.source}: ${e.detail}`).join("; ");
    const because = failed.length
      ? describe(failed)
      : open.length
        ? describe(open)
        : `${counted.length} piece(s) of evidence held`;
    comment = [s.comment, `Evaluated: ${because}.`, `(${stepTag(run)})`].filter(Boolean).join(" ");
    if (failed.length === 0 && open.length === 0) decision = "Approve";
    else if (failed.length === 0 && s.onInconclusive !== "wait")
      decision = s.onInconclusive === "approve" ? "Approve" : "Reject";
    else if (failed.length === 0) {
      const message = `The evidence was inconclusive (${because}); wait action ${action.actionId} was left waiting for a person to decide (onInconclusive: wait).`;
      return finish({ result: "SucceededWithIssues", message, decision: "leftWaiting", decidedBy: "" });
    } else if (s.onUnhealthy === "reject") decision = "Reject";
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
    approver = await lookUpApprover(agent, run, decision, s.requireApproval, action);
    if (approver.note) agent.info(approver.note);
    decidedBy = approver.decidedBy.uniqueName
      ? `${approver.decidedBy.displayName} <${approver.decidedBy.uniqueName}>`
      : approver.decidedBy.displayName;
    const source =
      approver.source === "requester"
        ? "the run's requester (requireApproval: false)"
        : decision === "Approve"
          ? "Azure DevOps approval"
          : "Azure DevOps rejection";
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
    if (s.telemetryWorkspaceId) {
      agent.setOutput("telemetryVerdict", telemetry?.verdict ?? "");
      agent.setOutput(
        "telemetryResultFile",
        telemetry ? writeTelemetryResult(agent, telemetry, action.actionId, o.decision) : "",
      );
    }
    const summary = mdLines([
      md`### EV2 gate ${action.actionId} (before ${action.stage}): ${o.decision}`,
      "",
      md`${o.message}`,
      "",
      ...(evidence.length
        ? [
            markdownTable(
              ["Evidence", "Source", "Verdict", "Detail"],
              evidence.map((e) => [e.kind, e.source, evidenceMark(e), e.detail]),
            ),
            "" as const,
          ]
        : []),
      ...(telemetry ? telemetryMarkdown(telemetry) : []),
      ...(approver
        ? [
            md`Decided by ${o.decidedBy} (source: ${approver.source}${approver.note ? `; ${approver.note}` : ""}).`,
            "" as const,
          ]
        : []),
    ]);
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
          ...(telemetry ? { telemetry } : {}),
        },
      },
      summary,
    );
    return { result: o.result, message: o.message };
  }
}

/** The verdict as a file, for a TeamsNotify step of the same job (its `telemetryResultFile`). */
function writeTelemetryResult(
  agent: TaskAgent,
  t: TelemetryEvidence,
  actionId: string,
  decision: string,
): string {
  const file = join(agent.tempDirectory(), `telemetry-verdict-${actionId}-${Date.now()}.json`);
  const doc: TelemetryResultFile = { kind: "telemetryVerdict", schemaVersion: 1, actionId, decision, ...t };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

function evidenceMark(e: EvidenceVerdict): string {
  const mark = e.inconclusive ? "❔ inconclusive" : e.passed ? "✅ pass" : "❌ fail";
  return e.notEnforced ? `${mark} (not enforced)` : mark;
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

/**
 * Who decided in Azure DevOps. Fails closed: without the approval (or rejection) that let this
 * stage run, nothing is decided in EV2 unless requireApproval is false.
 */
async function lookUpApprover(
  agent: TaskAgent,
  run: RunIdentity,
  decision: Decision,
  requireApproval: boolean,
  action: WaitAction,
): Promise<ApproverFinding> {
  const verdict = decision === "Approve" ? "approved" : "rejected";
  const requestedFor = { displayName: run.requestedFor ?? "the pipeline run's requester" };
  const token = jobAccessToken(agent);
  const noToken = `The job has no Azure DevOps token (${jobTokenSources}), so the Azure DevOps approval was not looked up.`;
  const releaseId = Number(run.releaseId);
  const lookUp = {
    collectionUrl: run.collectionUri ?? "",
    project: run.project ?? "",
    token: token ?? "",
    requestedFor,
    verdict,
    signal: agent.cancellation,
    release: run.releaseId
      ? {
          releaseId,
          environmentId: Number(run.releaseEnvironmentId) || undefined,
          environmentName: agent.getVariable("Release.EnvironmentName"),
        }
      : undefined,
    yaml: run.buildId && run.stageName ? { buildId: Number(run.buildId), stage: run.stageName } : undefined,
  } as const;
  const reachable = !!token && !!run.collectionUri && !!run.project;
  if (!requireApproval) {
    if (!reachable)
      return {
        decidedBy: requestedFor,
        source: "requester",
        note: `${noToken} The run's requester is recorded instead (requireApproval: false).`,
      };
    const found = await findApprover(lookUp);
    return found.source === "requester"
      ? { ...found, note: `${found.note} (requireApproval: false)` }
      : found;
  }
  try {
    if (!reachable) throw new ApprovalNotFound(noToken);
    return await findAdoDecision(lookUp);
  } catch (err) {
    if (!(err instanceof ApprovalNotFound)) throw err;
    const what = decision === "Approve" ? "approved" : "rejected";
    const lookedFor = run.releaseId
      ? `the ${verdict} pre-deployment approval of release ${run.releaseId}${verdict === "approved" ? `, environment ${agent.getVariable("Release.EnvironmentName") ?? run.releaseEnvironmentId ?? ""}` : ""}`
      : `the ${verdict} approval${verdict === "approved" ? ` of stage ${run.stageName ?? "(unknown)"}` : ""} in the timeline of build ${run.buildId ?? "(unknown)"}`;
    const todo =
      decision === "Approve"
        ? "Run this step in a deployment job whose environment has an approval check (or, in a classic release, give the environment pre-deployment approvers)"
        : "Run this step in a stage whose condition is the rejected stage's result, e.g. condition: failed('Broad'), after an environment approval was rejected";
    throw new TaskFailure(
      `Wait action ${action.actionId} before stage ${action.stage} was not ${what} in EV2: no Azure DevOps decision was found (looked for ${lookedFor}). ${err.message} ${todo}, or set requireApproval: false to record the run's requester instead.`,
    );
  }
}
