/**
 * `npm run pipeline -- <file.yml | release.json> [options]`: plays an Azure Pipelines YAML file,
 * or a classic release definition exported as JSON, locally with the extension's built tasks,
 * against the EV2 simulator (`--sim`) or a real EV2 (`--ev2-url`).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { PipelineFileError, readPipeline } from "./pipeline-file";
import { startLocalPlay } from "./local-play";
import { ev2NamesOf, scenarioForPipeline } from "./pipeline-world";
import { runPipeline, type PipelineRunOptions } from "./runner";
import {
  everyEv2Connection,
  simulatedReleaseManager,
  startSimulatedServices,
  type SimulatedServices,
} from "./simulated-services";
import { builtTasksDirectory } from "./task-process";
import { looksLikeReleaseDefinition } from "./classic/release-definition";
import { prepareRelease, runRelease, type ReleaseRunOptions } from "./classic/release-player";
import { simulatedRelease } from "./classic/simulated-release";
import { createTimeline } from "./timeline";

const usage = `Usage: npm run pipeline -- <file.yml | release.json> [options]

Plays an Azure Pipelines YAML file on this machine: stages, jobs, conditions, variables and
output variables as the agent handles them, and this extension's tasks run from dist/tasks
(npm run pipeline builds them first). Other steps (scripts, other tasks, templates) are listed and skipped.
A JSON file with "environments" is a classic release definition as Azure DevOps exports it:
its environments play by rank and trigger conditions, with their approvals and gates.

Where EV2 is (one of):
  --sim <scenario>       start the EV2 simulator (small, gated, failing-region, transient-failure,
                         large-50x20, or a scenario .json) and a local Azure DevOps slice; the
                         sample service and a Teams sink stand behind the pipeline's stress
                         endpoints, health probes and webhooks (hosts written into the file are
                         rewritten to them and each step's log says so)
  --sim-speed <n>        simulated seconds per real second (default 600)
  --ev2-url <url>        every EV2 service connection uses this URL and the token in $EV2_TOKEN

Environment approvals (with --sim): a stage whose deployment jobs use an environment asks for
its approval before it starts, as in Azure DevOps; a simulated release manager approves it
(timeline checkpoints and the approvals API, so GateApproval finds who and why). A classic
release's pre- and post-deployment approvals go to the release approvals API the same way.
  --approver "<name> [<e-mail>]"   who approves or rejects (default ${simulatedReleaseManager};
                                   in a release, the definition's approver when it is a person)
  --reject-approval <stage|environment|first>   reject that approval: the stage fails unrun
  --approval-comment <text>        the approver's comment
  --deploy <environment>           (a release) deploy an environment that has no trigger, as
                                   clicking Deploy does (repeatable)

Options:
  --out <dir>            output folder: logs, summaries, records, JUnit (default out/pipeline)
  --var name=value       a queue-time variable; wins over the file's value (repeatable)
  --secret name[=ENV]    a secret variable read from environment variable ENV
                         (default: the name in upper case, '.' as '_'), never printed (repeatable)
  --param name=value     a value for one of the file's parameters (repeatable)
  --build-id <n>         Build.BuildId (default: new each run; reuse one to re-run that run)
  --workdir <dir>        System.DefaultWorkingDirectory (default: the file's folder)
  --tasks <dir>          built tasks (default dist/tasks)
  --debug                System.Debug=true and show debug lines
  --no-color             plain output
  -h, --help

Exit code: 0 when the pipeline succeeded (with or without issues), 1 when it failed or was
canceled, 2 when it could not start.`;

function pairs(values: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new UsageError(`${option} ${v}: expected name=value.`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

class UsageError extends Error {}

function secrets(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    const name = eq > 0 ? v.slice(0, eq) : v;
    const envName = eq > 0 ? v.slice(eq + 1) : name.replace(/[. ]/g, "_").toUpperCase();
    const value = process.env[envName];
    if (value === undefined || value === "")
      throw new UsageError(`--secret ${name}: the environment variable ${envName} is not set.`);
    out[name] = value;
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sim: { type: "string" },
      "sim-speed": { type: "string" },
      "ev2-url": { type: "string" },
      approver: { type: "string" },
      "reject-approval": { type: "string" },
      "approval-comment": { type: "string" },
      deploy: { type: "string", multiple: true },
      out: { type: "string" },
      var: { type: "string", multiple: true },
      secret: { type: "string", multiple: true },
      param: { type: "string", multiple: true },
      "build-id": { type: "string" },
      workdir: { type: "string" },
      tasks: { type: "string" },
      debug: { type: "boolean" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("Give exactly one pipeline file.");
  const file = resolve(positionals[0]);
  if (!existsSync(file)) throw new UsageError(`${positionals[0]} does not exist.`);
  const text = readFileSync(file, "utf8");
  // A release definition is JSON with environments, whatever the file is called.
  const classic = looksLikeReleaseDefinition(text);
  if (values.deploy && !classic)
    throw new UsageError(
      "--deploy names environments of a classic release definition (JSON with environments).",
    );
  if (values.sim && values["ev2-url"]) throw new UsageError("Give --sim or --ev2-url, not both.");
  if (!values.sim && !values["ev2-url"])
    throw new UsageError("Say where EV2 is: --sim <scenario> or --ev2-url <url>.");
  const tasksDirectory = resolve(values.tasks ?? builtTasksDirectory);
  if (!existsSync(tasksDirectory))
    throw new UsageError(`No built tasks in ${tasksDirectory}: run npm run build first.`);
  const buildId = values["build-id"];
  if (buildId !== undefined && !/^\d+$/.test(buildId))
    throw new UsageError("--build-id must be a whole number.");

  const options: PipelineRunOptions & Pick<ReleaseRunOptions, "releaseApprovals" | "gateClock" | "deploy"> = {
    file,
    outputDirectory: resolve(values.out ?? "out/pipeline"),
    tasksDirectory,
    workingDirectory: values.workdir ? resolve(values.workdir) : undefined,
    parameters: pairs(values.param, "--param"),
    secretVariables: secrets(values.secret),
    debug: values.debug,
    deploy: values.deploy,
  };
  const queueVariables = pairs(values.var, "--var");

  let services: SimulatedServices | undefined;
  if (values.sim) {
    const speed = values["sim-speed"] === undefined ? 600 : Number(values["sim-speed"]);
    if (!(speed > 0)) throw new UsageError("--sim-speed must be a number above 0.");
    // The pipeline's own service group, service, stage map and environment, registered as the scenario's.
    const definition = classic
      ? prepareRelease(text, { tasksDirectory, deploy: values.deploy }).pipeline.definition
      : readPipeline(text, { parameters: options.parameters });
    const names = ev2NamesOf(definition, queueVariables);
    services = await startSimulatedServices({
      scenario: scenarioForPipeline(values.sim, names),
      clockSpeed: speed,
      buildId: buildId === undefined ? undefined : Number(buildId),
      approvals: {
        approver: values.approver,
        reject: values["reject-approval"],
        comment: values["approval-comment"],
      },
    });
    Object.assign(options, services.runOptions);
    if (classic)
      Object.assign(
        options,
        simulatedRelease(services, {
          approver: values.approver,
          reject: values["reject-approval"],
          comment: values["approval-comment"],
        }),
      );
    // The sample service behind the stress endpoints and health probes, the Teams sink behind the
    // webhooks: their variables point there unless --var / --secret give them, literal hosts are rewritten.
    const local = await startLocalPlay(definition, services.ev2.scenario);
    const simulated = services;
    services = {
      ...simulated,
      close: async () => void (await Promise.all([simulated.close(), local.close()])),
    };
    options.variables = { ...services.runOptions.variables, ...local.variables, ...queueVariables };
    options.secretVariables = { ...local.secretVariables, ...options.secretVariables };
    options.rewriteInput = local.rewriteInput;
    options.connectionHint = "Every EV2 service connection points at the simulator.";
    process.stderr.write(
      `EV2 simulator (${values.sim}) at ${services.ev2.url}; Azure DevOps slice at ${services.ado.url}; ${local.description}\n`,
    );
  } else {
    const token = process.env.EV2_TOKEN;
    if (!token)
      throw new UsageError("--ev2-url needs the EV2 API token in the environment variable EV2_TOKEN.");
    options.connections = everyEv2Connection(values["ev2-url"]!, token);
    options.connectionHint = "Only EV2 service connections are available locally (given by --ev2-url).";
    options.secrets = [token];
    options.variables = queueVariables;
    if (buildId !== undefined) options.run = { buildId };
  }

  const cancel = new AbortController();
  const onSigint = () => {
    if (cancel.signal.aborted) process.exit(130);
    process.stderr.write("\nCanceling the run (Ctrl-C again to stop at once)...\n");
    cancel.abort();
  };
  process.on("SIGINT", onSigint);
  options.signal = cancel.signal;
  options.onEvent = createTimeline({
    write: (t) => process.stdout.write(t),
    color: Boolean(process.stdout.isTTY) && !values["no-color"] && !process.env.NO_COLOR,
    debug: values.debug,
  });
  try {
    const result = classic ? await runRelease(options) : await runPipeline(options);
    return result.result === "Failed" || result.result === "Canceled" ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
    await services?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usageProblem =
      err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") === true;
    const detail = process.argv.includes("--debug") && err instanceof Error ? err.stack : undefined;
    const message = err instanceof Error ? err.message : String(err);
    const prefix = err instanceof PipelineFileError ? "The pipeline file cannot be run: " : "";
    process.stderr.write(
      `${prefix}${detail ?? message}\n${usageProblem ? "\nRun with --help for the options.\n" : ""}`,
    );
    process.exit(2);
  },
);
