/** A stable GUID derived from a name (so the dev GUID of a task never changes between builds). */
export function derivedGuid(name: string): string;
/** The id a task has in the dev package, from its release id. */
export function devTaskId(releaseId: string): string;
