/** The endpoints of the stage: the `endpoints` lines and `endpointsFile`, once per region. */
import type { TaskAgent } from "../../agent/agent";
import { InputError } from "../../agent/inputs";
import { resolveEndpoints, type StressEndpoint } from "../../stress";
import { readInputFile, suppliedPath, workingDirectory, type StressSettings } from "./inputs";

/** `eastus, westus` → ["eastus", "westus"]; unset → [undefined] (one pass without a region). */
function regionList(region: string | undefined): Array<string | undefined> {
  const regions = (region ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  return regions.length === 0 ? [undefined] : [...new Set(regions)];
}

/**
 * The endpoints of the stage: with several regions (the comma-separated `deployedRegions` of
 * FollowRollout), every endpoint that uses `{region}` once per region; the others once.
 */
export async function stageEndpoints(agent: TaskAgent, s: StressSettings): Promise<StressEndpoint[]> {
  const path = suppliedPath(agent, s.endpointsFile);
  const file = path
    ? {
        name: s.endpointsFile!,
        content: readInputFile(
          "endpointsFile",
          path,
          `a JSON or YAML file of endpoints, relative to ${workingDirectory(agent)}`,
        ),
      }
    : undefined;
  const endpoints: StressEndpoint[] = [];
  for (const region of regionList(s.region)) {
    const resolved = await resolveEndpoints({
      lines: s.endpoints,
      file,
      tokens: { region, stage: s.stage },
      bearerToken: s.bearerToken,
    });
    for (const e of resolved) {
      const same = endpoints.find((x) => x.name === e.name);
      if (!same) endpoints.push(e);
      // The same request again: the endpoint does not use {region}. Loaded once.
      else if (requestOf(same) !== requestOf(e)) {
        throw new InputError(
          `Input 'endpointsFile' names endpoint "${e.name}" the same in every region while its request differs by region; put {region} in its name (e.g. name: orders-{region}).`,
        );
      }
    }
  }
  return endpoints;
}

function requestOf(e: StressEndpoint): string {
  return JSON.stringify([e.method, e.url, e.headers, e.body]);
}
