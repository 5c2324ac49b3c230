/**
 * What a pipeline's stress endpoints, health probes and Teams webhooks reach in a local run
 * with `--sim` (and in `npm run demo`): the sample service with the scenario's regions and a
 * Teams sink, both on 127.0.0.1. A variable a stress endpoint starts with or a webhook names is
 * given their URL; a literal remote host is rewritten to them (local-routes.ts).
 */
import type { ValidScenario } from "../sim/ev2";
import { startTargetService, type TargetService } from "../sim/target-service";
import { startTeamsSink, type TeamsSink } from "../sim/teams-sink";
import { localRouteRewriter, type InputRewriter } from "./local-routes";
import type { PipelineDefinition } from "./pipeline-file";
import { serviceVariablesOf } from "./pipeline-world";

export interface LocalPlay {
  target: TargetService;
  sink: TeamsSink;
  /** The variables the pipeline's stress endpoints start with, set to the sample service. */
  variables: Record<string, string>;
  /** The variables the pipeline's webhooks name, set to the sink (secret, as a webhook URL is). */
  secretVariables: Record<string, string>;
  rewriteInput: InputRewriter;
  /** One line: where the service and the sink are and what points at them. */
  description: string;
  close(): Promise<void>;
}

/** Every region of the scenario's stage maps, once each. */
export function scenarioRegions(scenario: ValidScenario): string[] {
  const regions = scenario.serviceGroups.flatMap((g) =>
    g.services.flatMap((s) =>
      s.stageMaps.flatMap((m) => m.stages.flatMap((st) => st.regions.map((r) => r.name))),
    ),
  );
  return [...new Set(regions)];
}

export async function startLocalPlay(
  definition: PipelineDefinition,
  scenario: ValidScenario,
): Promise<LocalPlay> {
  const target = await startTargetService({ regions: scenarioRegions(scenario) });
  let sink: TeamsSink;
  try {
    sink = await startTeamsSink();
  } catch (err) {
    await target.close();
    throw err;
  }
  const wiring = serviceVariablesOf(definition);
  return {
    target,
    sink,
    variables: Object.fromEntries(wiring.baseUrls.map((name) => [name, target.url])),
    secretVariables: Object.fromEntries(wiring.webhooks.map((name) => [name, sink.url])),
    rewriteInput: localRouteRewriter({
      serviceUrl: target.url,
      webhookUrl: sink.url,
      regions: target.regions,
    }),
    description: `sample service at ${target.url} (${wiring.baseUrls.join(", ") || "no base URL variable"}; literal hosts as ${target.url}/<region>/…); Teams sink at ${new URL(sink.url).origin} (${wiring.webhooks.join(", ") || "no webhook variable"}; literal webhook URLs too)`,
    close: async () => void (await Promise.all([target.close(), sink.close()])),
  };
}
