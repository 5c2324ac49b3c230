// The one derivation of a dev package's task GUIDs (scripts/package.mjs) that the local runner
// also needs, to recognise a classic release that names the dev tasks by id.
import { createHash } from "node:crypto";

/** A stable GUID derived from a name (so the dev GUID of a task never changes between builds). */
export function derivedGuid(name) {
  const h = createHash("sha1").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The id a task has in the dev package, from its release id. */
export function devTaskId(releaseId) {
  return derivedGuid(`${releaseId}-dev`);
}
