/**
 * What a pipeline names in EV2 (service groups, services, stage maps, environments), so the
 * simulator can play any pipeline with its own names: the chosen scenario's first service,
 * with its stage map, versions, history and failures, registered under each set of names the
 * pipeline's TriggerEv2Rollout steps use.
 */
import { loadScenario, type Scenario, type ValidScenario } from "../sim/ev2";
import type { PipelineDefinition, VariableDefinition } from "./pipeline-file";
import { expandMacros } from "./variables";

export interface Ev2Names {
  serviceGroupName: string;
  serviceId: string;
  stageMapName: string;
  environment: string;
}

/** The EV2 names of every TriggerEv2Rollout step, its `$(variables)` expanded from the file and `queued`. */
export function ev2NamesOf(definition: PipelineDefinition, queued: Record<string, string> = {}): Ev2Names[] {
  const found = new Map<string, Ev2Names>();
  for (const stage of definition.stages)
    for (const job of stage.jobs) {
      const values = variableValues([...definition.variables, ...stage.variables, ...job.variables], queued);
      for (const step of job.steps) {
        if (step.kind !== "task" || !/^TriggerEv2Rollout@/i.test(step.task)) continue;
        const input = (name: keyof Ev2Names) =>
          expandMacros(step.inputs[name] ?? "", (n) => values.get(n.toLowerCase())).trim();
        const names: Ev2Names = {
          serviceGroupName: input("serviceGroupName"),
          serviceId: input("serviceId"),
          stageMapName: input("stageMapName"),
          environment: input("environment"),
        };
        // A name still holding a macro or a runtime value is not known before the run.
        if (Object.values(names).some((v) => !v || v.includes("$(") || v.includes("$["))) continue;
        found.set(JSON.stringify(names), names);
      }
    }
  return [...found.values()];
}

function variableValues(
  variables: VariableDefinition[],
  queued: Record<string, string>,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const v of variables) if (!v.value.trim().startsWith("$[")) values.set(v.name.toLowerCase(), v.value);
  for (const [name, value] of Object.entries(queued)) values.set(name.toLowerCase(), value);
  return values;
}

/**
 * The scenario with the pipeline's names registered: each set of names the scenario does not
 * know gets a copy of the scenario's first service (stage map, versions, history, failures).
 */
export function scenarioForPipeline(scenario: Scenario | string, names: Ev2Names[]): ValidScenario {
  const base = loadScenario(scenario);
  const adapted = structuredClone(base);
  const template = base.serviceGroups[0]?.services[0];
  if (!template) return base;
  for (const n of names) {
    let group = adapted.serviceGroups.find((g) => g.name === n.serviceGroupName);
    const known = group?.services.find((s) => s.id === n.serviceId);
    if (known?.stageMaps.some((m) => m.name === n.stageMapName) && known.environments.includes(n.environment))
      continue;
    if (!group) {
      group = { name: n.serviceGroupName, services: [] };
      adapted.serviceGroups.push(group);
    }
    const service = known ?? { ...structuredClone(template), history: withoutIds(template.history) };
    service.id = n.serviceId;
    if (!service.stageMaps.some((m) => m.name === n.stageMapName)) {
      const map = structuredClone(template.stageMaps[0]);
      const oldName = map.name;
      map.name = n.stageMapName;
      service.stageMaps.unshift(map);
      for (const past of service.history)
        if ((past.stageMapName ?? oldName) === oldName) past.stageMapName = n.stageMapName;
    }
    if (!service.environments.includes(n.environment)) {
      const from = template.environments[0];
      service.environments.push(n.environment);
      // The history of the template's first environment is this environment's: the last good version to roll back to.
      for (const past of withoutIds(template.history).filter((p) => p.environment === from))
        service.history.push({ ...past, environment: n.environment, stageMapName: n.stageMapName });
      for (const map of service.stageMaps)
        if (map.environments[from] && !map.environments[n.environment])
          map.environments[n.environment] = map.environments[from];
    }
    if (!known) group.services.push(service);
  }
  return loadScenario(adapted as Scenario);
}

/** History entries without their rollout ids: a copy must not collide with the original's rollouts. */
function withoutIds<T extends { rolloutId?: string }>(history: T[]): T[] {
  return history.map(({ rolloutId: _, ...rest }) => structuredClone(rest) as T);
}

/** The variables a pipeline's Teams webhooks and stress endpoints come from, for a local world to fill. */
export function serviceVariablesOf(definition: PipelineDefinition): {
  webhooks: string[];
  baseUrls: string[];
} {
  const webhooks = new Set<string>();
  const baseUrls = new Set<string>();
  const macrosIn = (text: string | undefined) =>
    [...(text ?? "").matchAll(/\$\(([^)]+)\)/g)].map((m) => m[1]);
  for (const stage of definition.stages)
    for (const job of stage.jobs)
      for (const step of job.steps) {
        if (step.kind !== "task") continue;
        if (/^TeamsNotify@/i.test(step.task))
          for (const name of macrosIn(step.inputs.webhookUrl)) webhooks.add(name);
        if (/^StressTestStage@/i.test(step.task))
          // A variable at the start of an endpoint URL is where the service is.
          for (const line of (step.inputs.endpoints ?? "").split("\n")) {
            const first = /^\s*(?:[A-Z]+\s+)?\$\(([^)]+)\)/.exec(line);
            if (first) baseUrls.add(first[1]);
          }
      }
  return { webhooks: [...webhooks], baseUrls: [...baseUrls] };
}
