// What the task bundles were built from: a hash over the sources esbuild reads (tasks/, shared/,
// the lockfile and the build script). `npm run build` writes it to dist/build-stamp.json; the
// test harness compares it with the sources so a suite fails on a missing or stale build instead
// of skipping or testing old code.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

const sourceRoots = ["tasks", "shared", "package-lock.json", "scripts/build.mjs", "scripts/build-stamp.mjs"];

function filesUnder(root, path) {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .filter((name) => name !== "dist" && name !== "node_modules")
    .flatMap((name) => filesUnder(root, join(path, name)));
}

/** The hash of the sources the bundles are built from. */
export function sourceHash(root) {
  const hash = createHash("sha256");
  const files = sourceRoots.flatMap((r) => filesUnder(root, r)).sort();
  for (const file of files) {
    hash.update(relative(root, join(root, file)).split(sep).join("/"));
    hash.update("\0");
    hash.update(readFileSync(join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

export const stampFile = join("dist", "build-stamp.json");

/** Why the bundles cannot be tested as they are (missing or stale), or undefined when current. */
export function buildProblem(root) {
  const path = join(root, stampFile);
  if (!existsSync(path))
    return "The task bundles are not built (no dist/build-stamp.json): run `npm run build`.";
  const stamp = JSON.parse(readFileSync(path, "utf8"));
  if (stamp.sources !== sourceHash(root))
    return "The task bundles in dist/tasks are older than the sources (tasks/, shared/ changed since the last build): run `npm run build`.";
  return undefined;
}
