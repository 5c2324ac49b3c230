/**
 * The rollout scope grammar of the contract:
 * `regions(<list>|*).steps(<list>|*).stamps(<list>|*).actions(<list>|*)`,
 * each list comma-separated names of `[A-Za-z0-9_-]`.
 */
export type ScopeList = "*" | readonly string[];

export interface RolloutScope {
  regions: ScopeList;
  steps: ScopeList;
  stamps: ScopeList;
  actions: ScopeList;
}

const LIST = String.raw`(\*|[A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+)*)`;
const SCOPE_PATTERN = new RegExp(
  String.raw`^regions\(${LIST}\)\.steps\(${LIST}\)\.stamps\(${LIST}\)\.actions\(${LIST}\)$`,
);

export const SCOPE_EXAMPLE = "regions(eastus,westus).steps(*).stamps(*).actions(*)";

/** Parses one scope string; `undefined` when it does not follow the grammar. */
export function parseScope(text: string): RolloutScope | undefined {
  const match = SCOPE_PATTERN.exec(text);
  if (!match) return undefined;
  const [, regions, steps, stamps, actions] = match;
  return { regions: toList(regions), steps: toList(steps), stamps: toList(stamps), actions: toList(actions) };
}

function toList(text: string): ScopeList {
  return text === "*" ? "*" : text.split(",");
}

function listIncludes(list: ScopeList, name: string): boolean {
  return list === "*" || list.some((item) => item.toLowerCase() === name.toLowerCase());
}

/**
 * Whether a region takes part in a rollout. The simulator models regions only: a region runs
 * when some selection scope names it (or no selection scope is given), and is skipped when an
 * exclusion scope names it with every other part `*` (a narrower exclusion removes only some
 * steps of the region, which still runs).
 */
export function isRegionSelected(
  region: string,
  selection: RolloutScope[],
  exclusion: RolloutScope[],
): boolean {
  const selected = selection.length === 0 || selection.some((scope) => listIncludes(scope.regions, region));
  const excluded = exclusion.some(
    (scope) =>
      listIncludes(scope.regions, region) &&
      scope.steps === "*" &&
      scope.stamps === "*" &&
      scope.actions === "*",
  );
  return selected && !excluded;
}
