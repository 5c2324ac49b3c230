/**
 * No module imports itself round a circle, type imports included: a circle means two modules
 * that cannot be read, tested or moved apart, and at run time an import that may still be
 * undefined. A small scan of the relative imports (no dependency needed for it).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(__dirname, "..");
const folders = ["shared", "tasks", "sim", "pipeline", "bench", "demo", "test", "scripts"];

function sourceFiles(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (name === "node_modules" || name === "dist") return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const importPattern = /^\s*(?:import|export)\s[^;]*?\sfrom\s+["'](\.[^"']+)["']/gm;

/** Module → the modules it imports (relative imports resolved to files). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = [...readFileSync(file, "utf8").matchAll(importPattern)].flatMap(([, spec]) => {
      const base = resolve(dirname(file), spec);
      const found = [`${base}.ts`, join(base, "index.ts"), base.replace(/\.js$/, ".ts")].find(
        (c) => existsSync(c) && statSync(c).isFile(),
      );
      return found ? [found] : [];
    });
    graph.set(file, targets);
  }
  return graph;
}

/** The strongly connected groups of more than one module (Tarjan), each a circle. */
export function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || graph.get(v)?.includes(v)) circles.push(group);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}

describe("imports", () => {
  it("finds a circle when there is one (the scan itself)", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    assert.deepEqual(
      importCircles(graph).map((c) => c.sort()),
      [["a", "b", "c"]],
    );
  });

  it("go round no circle in the project, type imports included", () => {
    const files = folders.flatMap((f) => sourceFiles(join(root, f)));
    const graph = importGraph(files);
    assert.ok(graph.size > 100, `${graph.size} modules read`);
    assert.ok(
      [...graph.values()].some((targets) => targets.length > 0),
      "imports are found",
    );
    const circles = importCircles(graph).map((c) => c.map((f) => relative(root, f)).join(" → "));
    assert.deepEqual(circles, []);
  });
});
