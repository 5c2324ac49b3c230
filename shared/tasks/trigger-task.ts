import type { TaskAgent } from "../agent/agent";
import { field, readInputs } from "../agent/inputs";
import type { TaskOutcome } from "../agent/run-task";
import { checkConnection, connectEv2, connectionInputs } from "../ev2/connection";
import { checkScope, scopeExample } from "../ev2/scope";
import { markdownTable } from "../format";
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
    expected: "latest or a version such as 1.2.3",
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
};

function scopeProblem(line: string): string | undefined {
  const problem = checkScope(line);
  return problem ? `${problem}; a valid scope looks like ${scopeExample}` : undefined;
}

export async function runTrigger(agent: TaskAgent): Promise<TaskOutcome> {
  const startedAt = new Date().toISOString();
  const s = readInputs(agent, triggerInputs, { check: checkConnection });
  const client = connectEv2(agent, s, httpOptionsFor(agent));
  const run = readRunIdentity(agent);
  const selectionScope = s.selectionScope.length
    ? s.selectionScope
    : ["regions(*).steps(*).stamps(*).actions(*)"];

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
    },
    run,
    { info: (m) => agent.info(m), warning: (m) => agent.warning(m) },
  );

  // The rollout runs from here on: say its id before anything else can fail.
  const dashboardUrl = outcome.rollout?.dashboardUrl ?? "";
  agent.setOutput("rolloutId", outcome.rolloutId);
  agent.setOutput("artifactVersion", outcome.artifactVersion);
  agent.setOutput("stageMapVersion", outcome.stageMapVersion);
  agent.setOutput("dashboardUrl", dashboardUrl);
  agent.setOutput("trackingBranch", "");
  if (dashboardUrl) agent.info(`EV2 dashboard: ${dashboardUrl}`);

  const summary = [
    `### EV2 rollout ${outcome.kind === "started" ? "started" : outcome.kind === "attached" ? "attached (re-run)" : "already active"}`,
    "",
    markdownTable(
      ["", ""],
      [
        ["Rollout", dashboardUrl ? `[${outcome.rolloutId}](${dashboardUrl})` : outcome.rolloutId],
        ["Service", `${s.serviceGroupName} / ${s.serviceId}`],
        ["Environment", s.environment],
        ["Artifact version", outcome.artifactVersion],
        ["Stage map", `${s.stageMapName} ${outcome.stageMapVersion}`],
        ["Scope", selectionScope.join("<br>")],
        ["Idempotency key", outcome.idempotencyKey],
      ],
    ),
    "",
    ...outcome.why.map((w) => `- ${w}`),
    "",
  ].join("\n");
  const result = outcome.kind === "concurrent" ? "SucceededWithIssues" : "Succeeded";
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
        resolution: outcome.why,
      },
    },
    summary,
  );
  return { result, message };
}
