/**
 * Runs the EV2 simulator until Ctrl-C:
 *   tsx sim/cli.ts --scenario <name|file.json> [--port 0] [--speed 600] [--token T]... [--forbidden-token T]... [--seed 1]
 *                  [--telemetry <name|file.json>]   (also the Log Analytics stand-in and its Entra ID)
 */
import { parseArgs } from "node:util";
import { bundledScenarioNames, DEFAULT_TOKEN, ScenarioError, startSimulator } from "./ev2";
import { startTelemetryStandIns } from "./log-analytics";
import { teamsSinkCaFile } from "./teams-sink";

const USAGE = `Usage: tsx sim/cli.ts --scenario <name|file.json> [--port <n>] [--speed <simulated s per real s>] [--token <t>]... [--forbidden-token <t>]... [--seed <n>] [--telemetry <name|file.json>]
Bundled scenarios: ${bundledScenarioNames().join(", ")}
Admin endpoints (no auth): GET /_sim/state, GET /_sim/requests, POST|DELETE /_sim/faults, POST /_sim/clock/advance {"ms":n}, POST /_sim/clock/speed {"speed":n}`;

function numberOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new UsageError(`--${name} must be a number >= 0, got "${text}"`);
  return value;
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string" },
      port: { type: "string" },
      speed: { type: "string" },
      token: { type: "string", multiple: true },
      "forbidden-token": { type: "string", multiple: true },
      seed: { type: "string" },
      telemetry: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.scenario) throw new UsageError("--scenario is required");
  const tokens = values.token ?? [DEFAULT_TOKEN];
  const simulator = await startSimulator({
    scenario: values.scenario,
    port: numberOption("port", values.port, 0),
    clockSpeed: numberOption("speed", values.speed, 1),
    tokens,
    forbiddenTokens: values["forbidden-token"] ?? [],
    seed: numberOption("seed", values.seed, 1),
  });
  console.log(`EV2 simulator listening on ${simulator.url}`);
  console.log(
    `  scenario "${simulator.scenario.name}", speed ${simulator.clock.speed}x, token(s) ${tokens.join(", ")}; Ctrl-C to stop`,
  );
  const telemetry = values.telemetry ? await startTelemetryStandIns(values.telemetry) : undefined;
  if (telemetry) {
    const arm = telemetry.connection("arm", "AzureRM")!;
    console.log(
      `Log Analytics stand-in on ${telemetry.logs.url} (telemetry scenario "${telemetry.logs.scenario.name}")`,
    );
    console.log(
      `  workspace ${telemetry.workspaceId}; Entra ID ${telemetry.entra.url} (trust ${teamsSinkCaFile()})`,
    );
    console.log(
      `  AzureRM connection: tenant ${arm.parameters?.tenantid}, client ${arm.parameters?.serviceprincipalid}, secret ${telemetry.clientSecret}`,
    );
  }
  const stop = () => {
    Promise.all([simulator.close(), telemetry?.close()]).then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    (error instanceof Error && error.name === "TypeError" && "code" in error)
  ) {
    console.error(`${error.message}\n\n${USAGE}`);
  } else if (error instanceof ScenarioError) {
    console.error(error.message);
  } else {
    console.error(error);
  }
  process.exit(2);
});
