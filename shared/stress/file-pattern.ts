/**
 * The files a path pattern names: `*` and `?` within one folder, `**` across folders. The
 * result files StressTestStage merges (`resultFiles`) are found with it; no glob package needed.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";

/** A pattern segment → a regular expression over one file name; `*` and `?` do not cross folders. */
function segmentPattern(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, "[^/\\\\]*")
    .replace(/\?/g, "[^/\\\\]");
  return new RegExp(`^${body}$`, process.platform === "win32" ? "i" : "");
}

/** Files matching a path with `*`, `?` and `**` (any folders), sorted; the plain path when it has none. */
export function matchFiles(pattern: string, base: string): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(base, pattern);
  if (!/[*?]/.test(absolute)) return existsSync(absolute) && statSync(absolute).isFile() ? [absolute] : [];
  const segments = absolute.split(/[\\/]/);
  const firstWild = segments.findIndex((p) => /[*?]/.test(p));
  let current = [segments.slice(0, firstWild).join(sep) || sep];
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  for (const segment of segments.slice(firstWild)) {
    const next: string[] = [];
    for (const dir of current) {
      if (segment === "**" || /[*?]/.test(segment)) {
        // Only folders have entries to match.
        if (!isDir(dir)) continue;
      }
      if (segment === "**") {
        next.push(dir);
        for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
          const path = join(dir, entry);
          if (isDir(path)) next.push(path);
        }
      } else if (/[*?]/.test(segment)) {
        const re = segmentPattern(segment);
        for (const entry of readdirSync(dir)) if (re.test(entry)) next.push(join(dir, entry));
      } else {
        next.push(join(dir, segment));
      }
    }
    current = [...new Set(next)].filter(existsSync);
    if (current.length === 0) return [];
  }
  return current.filter((p) => statSync(p).isFile()).sort();
}
