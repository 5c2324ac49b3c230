/**
 * `npm run demo [-- --scenario failing-region]`: the whole extension end to end on this
 * machine. Starts on 127.0.0.1 the EV2 simulator (fast clock), the sample orders service with
 * per-region endpoints, a Teams webhook sink and the Azure DevOps REST slice, then plays
 * examples/azure-pipelines.yml — the file users copy into Azure DevOps — through the local
 * pipeline runner, and checks the run ended as the scenario expects. `--pipeline <file>` plays
 * your own copy of it instead: does the edited pipeline still end as each scenario expects?
 * `--classic` plays examples/classic-release.json, a classic release definition, the same way.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../shared/format";
import type { DeploymentReport } from "../shared/report/deployment-report";
import { looksLikeReleaseDefinition } from "../pipeline/classic/release-definition";
import { prepareRelease, runRelease } from "../pipeline/classic/release-player";
import { simulatedRelease } from "../pipeline/classic/simulated-release";
import { readPipeline } from "../pipeline/pipeline-file";
import { startLocalPlay } from "../pipeline/local-play";
import { ev2NamesOf, scenarioForPipeline } from "../pipeline/pipeline-world";
import { runPipeline } from "../pipeline/runner";
import type { PipelineEvent, PipelineRunResult } from "../pipeline/run-events";
import { startSimulatedServices } from "../pipeline/simulated-services";
import { createTimeline, formatRunSummary } from "../pipeline/timeline";
import { startTelemetryStandIns } from "../sim/log-analytics";
import type { ReceivedTeamsMessage } from "../sim/teams-sink";
import { cardTitle, demoScenarios, type DemoCheck } from "./scenarios";

const root = resolve(__dirname, "..");
const examplePipeline = join(root, "examples", "azure-pipelines.yml");
/** The demo must be over well within two minutes, whatever happens. */
const demoTimeLimitMs = 110_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      scenario: { type: "string" },
      classic: { type: "boolean" },
      out: { type: "string", default: join(root, ".demo") },
      pipeline: { type: "string" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      `Usage: npm run demo -- [--scenario <name>] [--pipeline <file.yml>] [--classic] [--out <dir>] [--no-color]

Plays a pipeline (default examples/azure-pipelines.yml) on this machine against an EV2 simulator,
the sample service, a Teams sink and the Azure DevOps slice, all on 127.0.0.1, then checks what
happened in EV2 against the scenario. A pipeline with its own names plays too: the service groups,
services, stage maps and environments its TriggerEv2Rollout steps name are registered as the
scenario's service, the variables its stress endpoints start with point at the sample service and
its TeamsNotify webhook variables at the sink, and hosts written into its endpoints, health probes
and webhooks are rewritten to them (each step's log says "local play: <literal> -> <local>");
environment approvals are given by a simulated release manager.
--classic plays the classic release definition examples/classic-release.json (scenario
classic-release, or classic-rejection); --pipeline also takes a release definition (.json).

Scenarios: ${Object.values(demoScenarios)
        .map((d) => `\n  ${d.name.padEnd(16)} ${d.description}`)
        .join("")}
`,
    );
    return 0;
  }
  values.scenario ??= values.classic ? "classic-release" : "healthy";
  const scenario = demoScenarios[values.scenario];
  if (values.classic && scenario && !scenario.pipeline?.endsWith(".json")) {
    process.stderr.write(
      `--classic plays examples/classic-release.json: its scenarios are classic-release and classic-rejection (not ${values.scenario}).\n`,
    );
    return 2;
  }
  if (!scenario) {
    process.stderr.write(
      `Unknown scenario '${values.scenario}'. Scenarios: ${Object.keys(demoScenarios).join(", ")}.\n`,
    );
    return 2;
  }
  // Your own pipeline's relative paths (an endpoints file) start at its folder, as with npm run pipeline.
  const ownPipeline = values.pipeline !== undefined;
  values.pipeline ??= scenario.pipeline ? join(root, "examples", scenario.pipeline) : examplePipeline;
  if (!existsSync(values.pipeline)) {
    process.stderr.write(`No pipeline file at ${values.pipeline}: give --pipeline a YAML file.\n`);
    return 2;
  }
  const color = Boolean(process.stdout.isTTY) && !values["no-color"] && !process.env.NO_COLOR;
  const write = (text: string) => process.stdout.write(text);
  const bold = (t: string) => (color ? `\u001b[1m${t}\u001b[0m` : t);
  const show = (p: string) => relative(process.cwd(), p) || ".";

  const pipelineFile = resolve(values.pipeline!);
  const text = readFileSync(pipelineFile, "utf8");
  // A classic release definition (JSON with environments) plays as a release.
  const classic = looksLikeReleaseDefinition(text);
  const definition = classic ? prepareRelease(text, {}).pipeline.definition : readPipeline(text);
  // Environment approvals are asked before their stage starts; the simulated release manager
  // approves, or (human-rejection) rejects the one asked while EV2 waits at a gate.
  let ev2Waiting = (): boolean => false;
  const services = await startSimulatedServices({
    // The pipeline's own service group, service, stage map and environment, registered as the scenario's.
    scenario: scenarioForPipeline(scenario.ev2Scenario, ev2NamesOf(definition)),
    clockSpeed: 300,
    buildId: 1842,
    approvals: scenario.rejectApproval ? { reject: () => ev2Waiting() } : {},
  });
  ev2Waiting = () => services.ev2.rollouts().some((r) => r.status === "Waiting");
  const seeded = new Set(services.ev2.rollouts().map((r) => r.rolloutId));
  const lastGoodVersion = services.ev2
    .rollouts()
    .filter((r) => r.status === "Completed")
    .sort((a, b) => a.createdTimestamp.localeCompare(b.createdTimestamp))
    .at(-1)?.artifactVersionNumber;
  // The sample service and the Teams sink, behind the pipeline's variables and literal hosts.
  const local = await startLocalPlay(definition, services.ev2.scenario);
  const { target, sink } = local;
  scenario.setUp(target);
  // Production telemetry: Application Insights' query API behind the pipeline's Azure Resource
  // Manager connections, with its Entra ID token from a local Entra ID.
  const telemetry = scenario.telemetry ? await startTelemetryStandIns(scenario.telemetry) : undefined;

  write(`${bold(`EV2 rollout demo · scenario ${scenario.name}`)}\n${scenario.description}.\n\n`);
  write(
    `  EV2 simulator       ${services.ev2.url}  (its own scenario file ${scenario.ev2Scenario}.json, 300× clock)\n`,
  );
  write(`  sample service      ${target.url}/{region}/…  (${target.regions.join(", ")})\n`);
  write(`  Teams webhook sink  ${new URL(sink.url).origin}\n`);
  for (const [name, url] of Object.entries(local.variables)) write(`    $(${name}) = ${url}\n`);
  if (telemetry)
    write(
      `  Log Analytics API   ${telemetry.logs.url}  (telemetry scenario ${scenario.telemetry}.json; Entra ID ${telemetry.entra.url})\n`,
    );
  write(
    `  Azure DevOps        ${services.ado.url}  (project ${services.project.name}, repo ${services.repository.name} at ${services.commit.slice(0, 8)})\n\n`,
  );

  const timeline = createTimeline({ write, color });
  const timeLimit = AbortSignal.timeout(demoTimeLimitMs);
  let run: PipelineRunResult;
  try {
    const play = classic
      ? (options: Parameters<typeof runPipeline>[0]) =>
          runRelease({
            ...options,
            text,
            // Approvals in the release approvals API, gates on the simulator's clock.
            ...simulatedRelease(services, scenario.rejectApproval ? { reject: () => ev2Waiting() } : {}),
          })
      : runPipeline;
    run = await play({
      file: pipelineFile,
      outputDirectory: values.out!,
      workingDirectory: ownPipeline ? dirname(resolve(values.pipeline)) : root,
      ...services.runOptions,
      connections: (name, type) =>
        services.runOptions.connections?.(name, type) ?? telemetry?.connection(name, type),
      run: {
        ...services.runOptions.run,
        requestedFor: "Dana Developer",
        requestedForEmail: "dana.developer@contoso.com",
      },
      variables: {
        ...services.runOptions.variables,
        // What a user sets at queue time: where the service is, and a short stress test.
        // Where the pipeline's stress endpoints start: the sample service.
        ...local.variables,
        ordersApiBaseUrl: target.url,
        stressTestSeconds: "5",
        ...(telemetry
          ? { logAnalyticsEndpoint: telemetry.logs.url, telemetryWorkspaceId: telemetry.workspaceId }
          : {}),
      },
      // The pipeline's Teams webhooks, whatever their variables are called: the sink.
      secretVariables: {
        teamsWebhookUrl: sink.url,
        ...local.secretVariables,
      },
      // Literal hosts of stress endpoints, health probes and webhooks: the sample service and the sink.
      rewriteInput: local.rewriteInput,
      connectionHint: "The demo points every EV2 service connection at the simulator.",
      signal: timeLimit,
      // The summary comes after the cards are written, so it can list them.
      onEvent: (e: PipelineEvent) => (e.type === "runFinished" ? undefined : timeline(e)),
    });
  } finally {
    await Promise.all([local.close(), telemetry?.close()]);
  }
  const cards = writeCards(sink.received, join(run.outputDirectory, "teams-cards"));
  // Judged by what happened in EV2, whatever the pipeline's stage, job and step names.
  const started = services.ev2.rollouts().filter((r) => !seeded.has(r.rolloutId));
  const rollbacks = started.filter((r) => r.tags?.["ado.rollbackOf"]);
  const rollout = started.find((r) => !r.tags?.["ado.rollbackOf"]);
  const rollback = rollbacks[0];
  const rolloutsStarted = services.ev2.requests.filter(
    (r) => r.method === "POST" && r.path.endsWith("/rollouts") && r.status === 201,
  ).length;
  const branches = services.repository.refs.filter((r) => r.name.startsWith("refs/heads/ev2/"));
  await services.close();

  write(
    formatRunSummary(run, { color, extraFiles: [{ label: "Teams cards", paths: cards.map((c) => c.file) }] }),
  );
  write(`\n${bold("Rollout")}\n`);
  if (rollout) {
    write(`  ${rollout.rolloutId}: ${rollout.status}\n`);
    for (const stage of rollout.stages)
      write(
        `  ${stage.name.padEnd(14)} ${stage.status.padEnd(10)} ${stage.regions.map((r) => `${r.name} ${r.status}`).join(", ")}\n`,
      );
    for (const error of rollout.errors ?? []) write(`  ! ${error.errorCode}: ${error.message}\n`);
  } else {
    write("  No rollout was started.\n");
  }
  for (const b of branches)
    write(
      `  Tracking branch ${b.name.replace("refs/heads/", "")} at ${b.objectId.slice(0, 8)} in ${services.repository.name}\n`,
    );
  if (run.files.summary) write(`  Rollout summaries: ${show(run.files.summary)}\n`);
  if (run.files.report) {
    const report = JSON.parse(readFileSync(run.files.report.json, "utf8")) as DeploymentReport;
    write(`  Deployment report: ${show(run.files.report.markdown)}\n    ${report.headline}\n`);
  }
  if (rollback) {
    const safety = run.stages
      .flatMap((st) => st.jobs.flatMap((j) => j.steps))
      .find((st) => st.outputs.timeToSafetySeconds)?.outputs.timeToSafetySeconds;
    write(`\n${bold("Rollback")}\n`);
    write(
      `  ${rollback.rolloutId}: ${rollback.artifactVersionNumber}, ${rollback.status}; time to safety ${safety ?? "?"} s (bad verdict → rollback accepted by EV2)\n`,
    );
  }
  const byRegion = Object.entries(target.stats().byRegion)
    .filter(([, n]) => n > 0)
    .map(([region, n]) => [region === "*" ? "no region" : region, n]);
  write(`\n${bold("The sample service (behind the stress endpoints and health probes)")}\n`);
  write(
    `  requests by region: ${byRegion.map(([r, n]) => `${r} ${n}`).join(", ") || "none"}; errors injected ${target.stats().errorsInjected}\n`,
  );
  write(`\n${bold("Teams cards")}\n`);
  if (cards.length === 0) write("  none posted\n");
  for (const c of cards) write(`  ${c.title} → ${show(c.file)}\n`);

  const report = run.files.report
    ? (JSON.parse(readFileSync(run.files.report.json, "utf8")) as DeploymentReport)
    : undefined;
  const checks = scenario.expect({
    run,
    report,
    rollout,
    rollbacks,
    lastGoodVersion,
    rolloutsStarted,
    cards: sink.received,
    ownPipeline,
  });
  if (timeLimit.aborted)
    checks.push({
      what: `the demo finished within ${formatDuration(demoTimeLimitMs)}`,
      ok: false,
      seen: "stopped at the limit",
    });
  write(`\n${bold(`Scenario ${scenario.name}: what must have happened`)}\n`);
  for (const c of checks) write(`  ${formatCheck(c, color)}\n`);
  const ok = checks.every((c) => c.ok);
  write(
    `\n${bold(ok ? "The demo ended as the scenario expects." : "The demo did NOT end as the scenario expects.")}\n`,
  );
  return ok ? 0 : 1;
}

function formatCheck(c: DemoCheck, color: boolean): string {
  const paint = (code: string, t: string) => (color ? `\u001b[${code}m${t}\u001b[0m` : t);
  if (c.notJudged) return paint("2", `– ${c.what}: not judged (${c.notJudged})`);
  return c.ok ? paint("32", `✔ ${c.what}`) : paint("31", `✖ ${c.what} (saw ${c.seen})`);
}

/** Each card the sink received, as the JSON Teams got; titled by the card's first line. */
function writeCards(received: ReceivedTeamsMessage[], dir: string): Array<{ title: string; file: string }> {
  if (received.length > 0) mkdirSync(dir, { recursive: true });
  return received.map((message, i) => {
    const title = cardTitle(message.body) ?? `card ${i + 1}`;
    const slug = title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40);
    const file = join(dir, `${String(i + 1).padStart(2, "0")}-${slug || "card"}.json`);
    writeFileSync(file, `${JSON.stringify(message.body, null, 2)}\n`);
    return { title, file };
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
