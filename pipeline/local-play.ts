/**
 * What a pipeline's stress endpoints, health probes and Teams webhooks reach in a local run
 * with `--sim` (and in `npm run demo`): the sample service with the scenario's regions and a
 * Teams sink, both on 127.0.0.1. A variable a stress endpoint starts with or a webhook names is
 * given their URL; a literal remote host is rewritten to them (local-routes.ts).
 */
import type { ValidScenario } from "../sim/ev2";
import { startTargetService, type TargetService } from "../sim/target-service";
import { startTeamsSink, type TeamsSink } from "../sim/teams-sink";
import {
  regionOf,
  localRouteRewriter,
  serviceUrlFor,
  type InputRewriter,
  type LocalRouteTargets,
} from "./local-routes";
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
  const routes = { serviceUrl: target.url, webhookUrl: sink.url, regions: target.regions };
  const variables = Object.fromEntries(
    wiring.baseUrls.map((name) => [name, baseUrlFor(definition, name, routes) ?? target.url]),
  );
  const variableList = Object.entries(variables).map(([name, url]) => `$(${name}) = ${url}`);
  return {
    target,
    sink,
    variables,
    secretVariables: Object.fromEntries(wiring.webhooks.map((name) => [name, sink.url])),
    rewriteInput: localRouteRewriter(routes),
    description: `sample service at ${target.url} (${variableList.join(", ") || "no base URL variable"}; literal hosts as ${target.url}/<region>/…); Teams sink at ${new URL(sink.url).origin} (${wiring.webhooks.map((n) => `$(${n})`).join(", ") || "no webhook variable"}; literal webhook URLs too)`,
    close: async () => void (await Promise.all([target.close(), sink.close()])),
  };
}

/**
 * A base URL variable the file sets to a literal URL, played where its host and path say: its
 * region (`https://orders-{region}.fabrikam.net`) and path (`…/api/orders`) kept under the sample
 * service. Undefined when the file gives no literal URL naming a region (the sample service's root then).
 */
function baseUrlFor(
  definition: PipelineDefinition,
  name: string,
  routes: LocalRouteTargets,
): string | undefined {
  const all = [
    ...definition.variables,
    ...definition.stages.flatMap((s) => [...s.variables, ...s.jobs.flatMap((j) => j.variables)]),
  ];
  const value = all
    .find((v) => v.name.toLowerCase() === name.toLowerCase() && /^https?:\/\/[^\s$]+$/i.test(v.value.trim()))
    ?.value.trim();
  // Only a value that names its region: otherwise the rest of the endpoint names it, after the root.
  if (value === undefined || !regionOf(value, routes.regions)) return undefined;
  return serviceUrlFor(value, routes).replace(/\/$/, "");
}
