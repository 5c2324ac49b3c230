// What the built task bundles ran, mapped back onto their sources (shared/, tasks/).
//
// Tests run the tasks as the agent does: the minified bundles in dist/tasks, in child processes,
// which write their V8 coverage beside the test run's (NODE_V8_COVERAGE). Remapping a V8 range by
// its two ends (what c8 does with a source map) fails on a minified bundle: most ends land between
// mappings or in another source file, the range is dropped, and every line reads as covered. Here
// every mapping of the bundle's source map (dist/sourcemaps, built beside the bundles, never
// shipped) takes the count of the innermost V8 range around its generated position, and a source
// line counts as run when one of its mappings ran, as not run when none did. Lines without a
// mapping (comments, types) are not counted.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { TraceMap, eachMapping } from "@jridgewell/trace-mapping";

/**
 * Line coverage of the sources under `root` that the bundles in `root`/dist/tasks ran, summed over
 * every coverage file in `tempDirectory`, as istanbul coverage data (one statement per line).
 */
export function bundleCoverage(tempDirectory, root) {
  const tasksDir = join(root, "dist", "tasks");
  const mapsDir = join(root, "dist", "sourcemaps");
  /** source path → line → count */
  const counts = new Map();
  const maps = new Map();
  for (const file of readdirSync(tempDirectory)) {
    if (!file.endsWith(".json")) continue;
    let coverage;
    try {
      coverage = JSON.parse(readFileSync(join(tempDirectory, file), "utf8"));
    } catch {
      continue;
    }
    for (const script of coverage.result ?? []) {
      if (!script.url?.startsWith("file:")) continue;
      const path = fileURLToPath(script.url);
      const inTasks = relative(tasksDir, path);
      if (inTasks.startsWith("..") || !inTasks.endsWith(".js")) continue;
      const mapFile = join(mapsDir, `${inTasks}.map`);
      if (!existsSync(mapFile)) continue;
      if (!maps.has(path)) maps.set(path, loadBundle(path, mapFile));
      addCounts(counts, maps.get(path), script.functions);
    }
  }
  return toIstanbul(counts, root);
}

function loadBundle(path, mapFile) {
  const code = readFileSync(path, "utf8");
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const map = new TraceMap(readFileSync(mapFile, "utf8"), path);
  /** Every mapping: its generated offset and the source line it came from. */
  const segments = [];
  eachMapping(map, (m) => {
    if (m.source == null || m.originalLine == null) return;
    const offset = lineStarts[m.generatedLine - 1] + m.generatedColumn;
    segments.push({
      offset,
      source: resolve(m.source.startsWith("file:") ? fileURLToPath(m.source) : m.source),
      line: m.originalLine,
    });
  });
  segments.sort((a, b) => a.offset - b.offset);
  return segments;
}

/** V8 block coverage: an offset's count is that of the innermost range holding it. */
function addCounts(counts, segments, functions) {
  const ranges = functions
    .flatMap((f) => f.ranges)
    .sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  const open = [];
  let next = 0;
  for (const segment of segments) {
    while (next < ranges.length && ranges[next].startOffset <= segment.offset) {
      const range = ranges[next++];
      while (open.length && open.at(-1).endOffset <= range.startOffset) open.pop();
      open.push(range);
    }
    while (open.length && open.at(-1).endOffset <= segment.offset) open.pop();
    const count = open.at(-1)?.count ?? 0;
    let lines = counts.get(segment.source);
    if (!lines) counts.set(segment.source, (lines = new Map()));
    lines.set(segment.line, Math.max(lines.get(segment.line) ?? 0, count));
  }
}

function toIstanbul(counts, root) {
  const data = {};
  for (const [path, lines] of counts) {
    if (relative(root, path).startsWith("..") || path.split(sep).includes("node_modules")) continue;
    if (!existsSync(path)) continue;
    const text = readFileSync(path, "utf8").split("\n");
    const statementMap = {};
    const s = {};
    for (const [line, count] of [...lines].sort((a, b) => a[0] - b[0])) {
      const key = String(line - 1);
      // The shape v8-to-istanbul gives a line, so the in-process coverage of the same line merges.
      statementMap[key] = {
        start: { line, column: 0 },
        end: { line, column: (text[line - 1] ?? "").length },
      };
      s[key] = count;
    }
    data[path] = { path, statementMap, s, fnMap: {}, f: {}, branchMap: {}, b: {} };
  }
  return data;
}
