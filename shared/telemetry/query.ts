/**
 * The documented request query: Application Insights requests (workspace-based, table
 * `AppRequests`) of some regions and versions in a time window, one row a request, in the
 * columns the judge reads:
 *
 *   region (string), version (string), durationMs (real), success (bool), itemCount (long)
 *
 * `itemCount` is Application Insights' `ItemCount`: how many requests a sampled row stands for.
 * Which columns name the region and the version is the user's: a column (`AppRoleName`,
 * `AppVersion`, `AppRoleInstance`) or a custom dimension (`Properties['region']`). A user's own
 * KQL must answer with the same columns (checked when the answer comes back).
 */

export const REQUEST_COLUMNS = ["region", "version", "durationMs", "success", "itemCount"] as const;

export interface RequestQueryParameters {
  /** Inclusive start and exclusive end of the window. */
  start: Date;
  end: Date;
  /** Only these regions (compared without case); empty = every region. */
  regions: readonly string[];
  /** Only these versions (`in`), or every version but these (`notIn`). */
  versions: { in: readonly string[] } | { notIn: readonly string[] };
  /** The KQL expression of the region (default `AppRoleName`). */
  regionColumn: string;
  /** The KQL expression of the version (default `AppVersion`). */
  versionColumn: string;
}

export const DEFAULT_REGION_COLUMN = "AppRoleName";
export const DEFAULT_VERSION_COLUMN = "AppVersion";

/** A column (`AppRoleName`) or a custom dimension (`Properties['region']`, `Properties.region`). */
const COLUMN =
  /^(?:[A-Za-z_][A-Za-z0-9_]*)(?:\[\s*(?:'[A-Za-z0-9_.\- ]+'|"[A-Za-z0-9_.\- ]+")\s*\]|\.[A-Za-z_][A-Za-z0-9_]*)?$/;

export const COLUMN_FORMS =
  "a column name such as AppRoleName, AppVersion or AppRoleInstance, or a custom dimension such as Properties['region']";

/** Problem with a column expression, or undefined when it is one the template accepts. */
export function columnProblem(text: string): string | undefined {
  return COLUMN.test(text.trim()) ? undefined : `must be ${COLUMN_FORMS}`;
}

/** A KQL string literal. */
export function kqlString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r/g, "\\r").replace(/\n/g, "\\n")}"`;
}

function kqlList(values: readonly string[]): string {
  return `(${values.map(kqlString).join(", ")})`;
}

/** The ISO 8601 interval the API's `timespan` takes: `start/end`. */
export function timespanOf(start: Date, end: Date): string {
  return `${start.toISOString()}/${end.toISOString()}`;
}

/** The documented query, filled in. Every value is a quoted literal; columns are checked first. */
export function requestQuery(p: RequestQueryParameters): string {
  for (const [name, column] of [
    ["regionColumn", p.regionColumn],
    ["versionColumn", p.versionColumn],
  ] as const) {
    const problem = columnProblem(column);
    if (problem) throw new RangeError(`${name} "${column}" ${problem}`);
  }
  const versions =
    "in" in p.versions
      ? `| where version in ${kqlList(p.versions.in)}`
      : p.versions.notIn.length
        ? `| where version !in ${kqlList(p.versions.notIn)}`
        : undefined;
  return [
    "AppRequests",
    `| where TimeGenerated >= datetime(${p.start.toISOString()}) and TimeGenerated < datetime(${p.end.toISOString()})`,
    `| extend region = tostring(${p.regionColumn.trim()}), version = tostring(${p.versionColumn.trim()})`,
    ...(p.regions.length ? [`| where region in~ ${kqlList(p.regions)}`] : []),
    ...(versions ? [versions] : []),
    "| project region, version, durationMs = todouble(DurationMs), success = tobool(Success), itemCount = tolong(ItemCount)",
  ].join("\n");
}

/**
 * A user's own query, with the window's bounds and the regions and versions put in where it says
 * `{start}`, `{end}`, `{regions}` and `{versions}` (a KQL list each: `("eastus", "westus")`).
 * Without placeholders it is sent as written: the API's `timespan` still bounds the window.
 */
export function customRequestQuery(
  template: string,
  p: Pick<RequestQueryParameters, "start" | "end" | "regions" | "versions">,
): string {
  const versions = "in" in p.versions ? p.versions.in : [];
  return template
    .replaceAll("{start}", `datetime(${p.start.toISOString()})`)
    .replaceAll("{end}", `datetime(${p.end.toISOString()})`)
    .replaceAll("{regions}", kqlList(p.regions))
    .replaceAll("{versions}", kqlList(versions));
}
