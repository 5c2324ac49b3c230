/** Small text pieces the cards are made of. */

/**
 * `text` on one line, cut to at most `max` characters with an ellipsis. Values come from EV2 and
 * users (error messages can be kilobytes), and the whole card must fit in 28 KB.
 */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  if (oneLine.length <= max) return oneLine;
  let cut = oneLine.slice(0, Math.max(0, max - 1));
  // Never leave half of a surrogate pair (an emoji) behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

const statusIcons: Record<string, string> = {
  Completed: "✅",
  Failed: "❌",
  InProgress: "🔄",
  Waiting: "⏸️",
  Pending: "⏳",
  NotStarted: "⏳",
  Cancelled: "🚫",
  Skipped: "⏭️",
};

export function statusIcon(status: string): string {
  return statusIcons[status] ?? "•";
}

/** `InProgress` → `in progress`. */
export function statusWords(status: string): string {
  return status.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** `InProgress` → `In progress`. */
export function statusLabel(status: string): string {
  const words = statusWords(status);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** `38 pending, 2 completed`: what a cut part of a list holds. */
export function describeStatuses(statuses: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${count} ${statusWords(status)}`).join(", ");
}

/** `null` (nothing was measured) and non-finite values read `n/a`. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "n/a";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function formatPercent(percent: number | null): string {
  if (percent === null || !Number.isFinite(percent)) return "n/a";
  return percent === 0 ? "0%" : `${percent.toFixed(2)}%`;
}

export function formatRate(rps: number): string {
  return Number.isFinite(rps) ? `${rps.toFixed(1)} rps` : "n/a";
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** An http(s) URL short enough to put on a card, else undefined: a bad link is worse than none. */
export function usableUrl(raw: string | undefined): string | undefined {
  if (!raw || raw.length > 2048) return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === "https:" || url.protocol === "http:" ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** A markdown link that survives parentheses and spaces in the URL. */
export function markdownLink(label: string, url: string): string {
  return `[${label}](${url.replace(/ /g, "%20").replace(/\(/g, "%28").replace(/\)/g, "%29")})`;
}
