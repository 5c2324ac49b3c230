import * as schema from "./schemas";
import type { Region, Stage } from "./schemas";

/**
 * A rollout answer (already JSON-parsed) read as `schema.rollout` reads it, with the same result
 * and the same words for a bad answer, but without zod's per-node work on its bulk: zod's
 * validation allocates about ten times the answer's size (10 MB a poll at 10,000 regions), which
 * is what a long follow's memory was made of. Stages and regions are checked and copied here,
 * field for field as zod copies them (unknown fields left out, missing times as null, missing
 * regions as []); zod reads the rest. Anything this check does not accept goes to zod whole, so
 * an answer outside the contract gets zod's own message, as every other answer does.
 */
export function parseRolloutAnswer(json: unknown): ReturnType<typeof schema.rollout.safeParse> {
  if (!isObject(json)) return schema.rollout.safeParse(json);
  const stages = copyStages(json.stages);
  if (!stages) return schema.rollout.safeParse(json);
  // With valid stages, zod finds in the rest what it would find in the whole answer.
  const parsed = schema.rollout.safeParse({ ...json, stages: [] });
  if (parsed.success) parsed.data.stages = stages;
  return parsed;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `z.nullish(z.string())` then `?? null`: a string, or null; undefined when neither. */
const timeOf = (v: unknown): string | null | undefined =>
  typeof v === "string" ? v : v === null || v === undefined ? null : undefined;

/** The stages as zod gives them, or undefined when any part is not what the contract says. */
function copyStages(value: unknown): Stage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const stages: Stage[] = [];
  for (const s of value as unknown[]) {
    const head = namedTimes(s);
    if (!head) return undefined;
    const listed = (s as Record<string, unknown>).regions;
    const regions = listed === undefined ? [] : copyRegions(listed);
    if (!regions) return undefined;
    stages.push({ ...head, regions });
  }
  return stages;
}

function copyRegions(value: unknown): Region[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const regions: Region[] = [];
  for (const g of value as unknown[]) {
    const region = namedTimes(g);
    if (!region) return undefined;
    regions.push(region);
  }
  return regions;
}

/** What a stage and a region share: name, status, start and end (a region is no more). */
function namedTimes(v: unknown): Region | undefined {
  if (!isObject(v)) return undefined;
  const { name, status } = v;
  const startTime = timeOf(v.startTime);
  const endTime = timeOf(v.endTime);
  if (typeof name !== "string" || typeof status !== "string") return undefined;
  if (startTime === undefined || endTime === undefined) return undefined;
  return { name, status, startTime, endTime };
}
