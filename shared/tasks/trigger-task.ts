import type { TaskAgent } from "../agent/agent";
import { jobAccessToken, jobTokenSources } from "../agent/job-token";
import { field, readInputs } from "../agent/inputs";
import type { TaskOutcome } from "../agent/run-task";
import { BranchTemplateError, createTrackingBranch, renderBranchTemplate } from "../ado";
import type { TaskAgent as Agent } from "../agent/agent";
import { checkConnection, connectEv2, connectionInputs, ev2IdInput } from "../ev2/connection";
import { Ev2Error } from "../ev2/errors";
import { checkScope, scopeExample } from "../ev2/scope";
import { markdownTable, md, mdJoin, mdLines, mdLink } from "../markdown";
import { publishRecord, readRunIdentity } from "../rollout/record";
import { idempotencyKeyPattern, triggerRollout } from "../rollout/trigger";
import { httpOptionsFor } from "./common";

const name = { pattern: /^[A-Za-z0-9._-]+$/, expected: "letters, digits, '.', '_' or '-'" };

export const triggerInputs = {
  ...connectionInputs,
  serviceGroupName: field.requiredText({ ...name, example: "Microsoft.Contoso.Orders", maxLength: 256 }),
  serviceId: field.requiredText({ ...name, example: "orders-api", maxLength: 256 }),
  stageMapName: field.requiredText({ ...name, example: "OrdersStageMap", maxLength: 256 }),
  environment: field.requiredText({ ...name, example: "PPE", maxLength: 64 }),
  artifactVersion: field.text({
    default: "latest",
    pattern: /^[A-Za-z0-9._+-]+$/,
    expected: "latest, lastSucceeded, previous or a version such as 1.2.3",
  }),
  stageMapVersion: field.text({
    default: "latest",
    pattern: /^[A-Za-z0-9._+-]+$/,
    expected: "latest or a version such as v2",
  }),
  selectionScope: field.lines({ check: (l) => scopeProblem(l) }),
  exclusionScope: field.lines({ check: (l) => scopeProblem(l) }),
  onConcurrentRollout: field.choice(["fail", "follow"] as const, "fail"),
  idempotencyKey: field.text({
    pattern: idempotencyKeyPattern,
    expected: "1 to 128 characters of A-Z a-z 0-9 . _ : / -",
  }),
  createTrackingBranch: field.boolean(false),
  trackingBranch: field.text({ default: "ev2/{environment}/{artifactVersion}-{buildId}" }),
  repository: field.text(),
  rollbackOf: ev2IdInput("the rollout id to cancel, e.g. $(trigger.rolloutId)"),
  badVerdictAt: field.text({
    pattern: /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/,
    expected: "an ISO 8601 time such as 2026-11-22T10:15:00Z",
  }),
};

function scopeProblem(line: string): string | undefined {
  const problem = checkScope(line);
  return problem ? `${problem}; a valid scope looks like ${scopeExample}` : undefined;
}

const sampleTokens = {
  environment: "PPE",
  serviceGroup: "sg",
  artifactVersion: "1.0.0",
  buildId: "1",
  date: new Date(0),
  rolloutId: "r",
};

function checkBranchTemplate(template: string | undefined): Array<[string, string]> {
  try {
    renderBranchTemplate(template ?? "", sampleTokens);
    return [];
  } catch (err) {
    return [["trackingBranch", err instanceof BranchTemplateError ? err.message : String(err)]];
  }
}

/** What creating the branch needs from the run; checked before anything is sent. */
function branchContext(agent: Agent, repository: string | undefined): Array<[string, string]> {
  const missing = [
    [jobTokenSources, jobAccessToken(agent)],
    ["Build.SourceVersion", agent.getVariable("Build.SourceVersion")],
    [
      "System.CollectionUri",
      agent.getVariable("System.CollectionUri") ?? agent.getVariable("System.TeamFoundationCollectionUri"),
    ],
    ["System.TeamProject", agent.getVariable("System.TeamProject")],
  ].filter(([, v]) => !v);
  const problems: Array<[string, string]> = missing.map(([name]) => [
    "createTrackingBranch",
    name === jobTokenSources
      ? `needs the job's Azure DevOps token, ${jobTokenSources}, which this run does not have (run it in an Azure Pipelines job)`
      : `needs the pipeline variable ${name}, which this run does not have (run it in an Azure Pipelines job)`,
  ]);
  if (!repository && !agent.getVariable("Build.Repository.ID"))
    problems.push([
      "repository",
      "is required when the pipeline has no repository of its own (Build.Repository.ID is empty)",
    ]);
  return problems;
}

export async function runTrigger(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  const s = readInputs(agent, triggerInputs, {
    check: (v) => [
      ...checkConnection(v),
      ...(v.createTrackingBranch
        ? [...checkBranchTemplate(v.trackingBranch), ...branchContext(agent, v.repository)]
        : []),
    ],
  });
  const accessToken = s.createTrackingBranch ? jobAccessToken(agent) : undefined;
  const client = connectEv2(agent, s, httpOptionsFor(agent));
  const run = readRunIdentity(agent);
  const selectionScope = s.selectionScope.length
    ? s.selectionScope
    : ["regions(*).steps(*).stamps(*).actions(*)"];

  if (s.rollbackOf) {
    const reason = `Rolled back by ${run.runUrl ?? "an Azure Pipelines run"}: the rollout was judged unhealthy.`;
    try {
      const cancelled = await client.cancelRollout(s.rollbackOf, reason);
      agent.info(
        cancelled.alreadyCancelled
          ? `Rollout ${s.rollbackOf} was already cancelled.`
          : `Cancelled rollout ${s.rollbackOf} before rolling back.`,
      );
    } catch (err) {
      if (!(err instanceof Ev2Error && err.code === "RolloutAlreadyTerminal")) throw err;
      agent.info(
        `Rollout ${s.rollbackOf} had already ended (${String(err.details?.status ?? "terminal")}); nothing to cancel.`,
      );
    }
  }
  const outcome = await triggerRollout(
    client,
    {
      serviceGroupName: s.serviceGroupName,
      serviceId: s.serviceId,
      stageMapName: s.stageMapName,
      environment: s.environment,
      artifactVersion: s.artifactVersion!,
      stageMapVersion: s.stageMapVersion!,
      selectionScope,
      exclusionScope: s.exclusionScope,
      onConcurrentRollout: s.onConcurrentRollout,
      idempotencyKey: s.idempotencyKey,
      rollbackOf: s.rollbackOf,
    },
    run,
    { info: (m) => agent.info(m), warning: (m) => agent.warning(m) },
  );

  // The rollout runs from here on: say its id before anything else can fail.
  // A rollout attached to (a re-run, or another run's rollback) was accepted when EV2 created it.
  const created = outcome.kind === "attached" ? Date.parse(outcome.rollout?.createdTimestamp ?? "") : NaN;
  const acceptedAt = Number.isNaN(created) ? Date.now() : Math.min(Date.now(), created);
  const verdictAt = s.badVerdictAt ? Date.parse(s.badVerdictAt) : Date.parse(startedAt);
  const timeToSafetySeconds = s.rollbackOf ? Math.max(0, (acceptedAt - verdictAt) / 1000) : undefined;
  const dashboardUrl = outcome.rollout?.dashboardUrl ?? "";
  agent.setOutput("rolloutId", outcome.rolloutId);
  agent.setOutput("artifactVersion", outcome.artifactVersion);
  agent.setOutput("stageMapVersion", outcome.stageMapVersion);
  agent.setOutput("dashboardUrl", dashboardUrl);
  agent.setOutput("trackingBranch", "");
  if (dashboardUrl) agent.info(`EV2 dashboard: ${dashboardUrl}`);
  if (timeToSafetySeconds !== undefined) {
    agent.setOutput("timeToSafetySeconds", timeToSafetySeconds.toFixed(1));
    outcome.why.push(
      `Time to safety: ${timeToSafetySeconds.toFixed(1)} s from the bad verdict (${new Date(verdictAt).toISOString()}${s.badVerdictAt ? "" : ", the start of this step"}) to EV2 accepting rollback rollout ${outcome.rolloutId} of ${outcome.artifactVersion}.`,
    );
    agent.info(outcome.why[outcome.why.length - 1]);
  }

  let trackingBranch: string | undefined;
  let branchFailure: string | undefined;
  if (s.createTrackingBranch) {
    const branchName = renderBranchTemplate(s.trackingBranch!, {
      environment: s.environment,
      serviceGroup: s.serviceGroupName,
      artifactVersion: outcome.artifactVersion,
      buildId: run.buildId ?? run.releaseId ?? "0",
      date: new Date(),
      rolloutId: outcome.rolloutId,
    });
    try {
      const branch = await createTrackingBranch({
        collectionUrl: run.collectionUri!,
        project: run.project!,
        repository: s.repository ?? run.repositoryId!,
        token: accessToken!,
        branchName,
        commitId: run.sourceVersion!,
        signal: agent.cancellation,
      });
      trackingBranch = branch.name;
      agent.setOutput("trackingBranch", branch.name);
      const how = branch.reused
        ? "reused (already at this commit)"
        : branch.name !== branchName
          ? `created (${branchName} exists at another commit)`
          : "created";
      outcome.why.push(`Tracking branch ${branch.name} ${how} at ${branch.commitId.slice(0, 8)}.`);
      agent.info(outcome.why[outcome.why.length - 1]);
    } catch (err) {
      // The rollout runs whatever happens to the branch: the failure says which rollout, and
      // the record and summary of the running rollout are published all the same.
      branchFailure = `Rollout ${outcome.rolloutId} was started and is running, but the tracking branch ${branchName} could not be created: ${(err as Error).message}`;
      outcome.why.push(branchFailure);
    }
  }

  const summary = mdLines([
    md`### EV2 rollout ${outcome.kind === "started" ? "started" : outcome.kind === "attached" ? "attached (re-run)" : "already active"}`,
    "",
    markdownTable(
      ["", ""],
      [
        ["Rollout", mdLink(outcome.rolloutId, dashboardUrl)],
        ["Service", `${s.serviceGroupName} / ${s.serviceId}`],
        ["Environment", s.environment],
        ["Artifact version", outcome.artifactVersion],
        ["Stage map", `${s.stageMapName} ${outcome.stageMapVersion}`],
        ["Scope", mdJoin(selectionScope, "<br>")],
        ["Idempotency key", outcome.idempotencyKey || "-"],
        ["Tracking branch", trackingBranch ?? "-"],
        ...(s.rollbackOf
          ? [
              ["Rolled back", s.rollbackOf],
              ["Time to safety", `${timeToSafetySeconds?.toFixed(1)} s`],
            ]
          : []),
      ],
    ),
    "",
    ...outcome.why.map((w) => md`- ${w}`),
    "",
  ]);
  const result = branchFailure
    ? "Failed"
    : outcome.kind === "concurrent"
      ? "SucceededWithIssues"
      : "Succeeded";
  const message = outcome.why[outcome.why.length - 1];
  publishRecord(
    agent,
    {
      schemaVersion: 1,
      task: "TriggerEv2Rollout",
      startedAt,
      endedAt: new Date().toISOString(),
      result,
      message,
      run,
      rolloutId: outcome.rolloutId,
      details: {
        outcome: outcome.kind,
        serviceGroupName: s.serviceGroupName,
        serviceId: s.serviceId,
        environment: s.environment,
        stageMapName: s.stageMapName,
        artifactVersion: outcome.artifactVersion,
        stageMapVersion: outcome.stageMapVersion,
        selectionScope,
        exclusionScope: s.exclusionScope,
        idempotencyKey: outcome.idempotencyKey,
        dashboardUrl,
        trackingBranch,
        rollbackOf: s.rollbackOf,
        badVerdictAt: s.badVerdictAt,
        timeToSafetySeconds,
        resolution: outcome.why,
      },
    },
    summary,
  );
  return { result, message };
}
