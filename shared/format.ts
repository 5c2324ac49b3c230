/** Human-readable pieces shared by logs, summaries and cards. */

/**
 * A duration the way people read it, in logs, summaries and cards: the two largest units,
 * rounded down. `4m 10s`, `1h 23m`, `2d 5h`; under a second in tenths (`0.4s`: retry waits are
 * that short); negative (clock skew between the agent and EV2) → `0s`; unknown (NaN, ∞) → `-`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${Math.floor(ms / 100) / 10}s`;
  const totalSeconds = Math.floor(ms / 1000);
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${seconds}s`;
  return `${seconds}s`;
}

export function durationBetween(
  start: string | null | undefined,
  end: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!start) return undefined;
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : now;
  return Number.isNaN(a) || Number.isNaN(b) ? undefined : Math.max(0, b - a);
}

/** "a, b, c and 12 more" */
export function listWithMore(items: string[], max: number): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/**
 * The most characters of a list an output variable carries. The agent passes every variable to
 * later steps in their environment, which has a limit (32 767 characters a variable on Windows,
 * and the whole block shared); the whole list is in the task's record.
 */
export const MAX_OUTPUT_LIST_CHARS = 2000;

/** "a,b,c" while it fits in `maxChars`, else the first items and ",+12 more". */
export function outputList(items: string[], maxChars = MAX_OUTPUT_LIST_CHARS): string {
  const whole = items.join(",");
  if (whole.length <= maxChars) return whole;
  const kept: string[] = [];
  let length = 0;
  for (const item of items) {
    const more = `,+${items.length - kept.length - 1} more`;
    if (length + (kept.length ? 1 : 0) + item.length + more.length > maxChars) break;
    length += (kept.length ? 1 : 0) + item.length;
    kept.push(item);
  }
  return `${kept.join(",")}${kept.length ? "," : ""}+${items.length - kept.length} more`;
}
