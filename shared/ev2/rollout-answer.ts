import * as schema from "./schemas";
import type { Region, Rollout, Stage } from "./schemas";

/**
 * A rollout answer (already JSON-parsed) read as `schema.rollout` reads it, with the same result
 * and the same words for a bad answer, but without zod's per-node work on its bulk: zod's
 * validation allocates about ten times the answer's size (10 MB a poll at 10,000 regions), which
 * is what a long follow's memory was made of. Stages and regions are checked and copied here,
 * field for field as zod copies them (unknown fields left out, missing times as null, missing
 * regions as []); zod reads the rest. Anything this check does not accept goes to zod whole, so
 * an answer outside the contract gets zod's own message, as every other answer does.
 *
 * A stage or region equal to the one at the same place in `previous` (an earlier answer) is
 * that same object: a poll then keeps only what changed, and the rollouts a follow holds share
 * the rest.
 */
export function parseRolloutAnswer(
  json: unknown,
  previous?: Rollout,
): ReturnType<typeof schema.rollout.safeParse> {
  if (!isObject(json)) return schema.rollout.safeParse(json);
  const stages = copyStages(json.stages, previous?.stages ?? []);
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
function copyStages(value: unknown, before: readonly Stage[]): Stage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const stages: Stage[] = [];
  for (let i = 0; i < value.length; i++) {
    const s: unknown = value[i];
    const was = before[i] as Stage | undefined;
    const head = namedTimes(s, was);
    if (!head) return undefined;
    const listed = (s as Record<string, unknown>).regions;
    const regions = copyRegions(listed === undefined ? [] : listed, was?.regions ?? []);
    if (!regions) return undefined;
    stages.push(head === was && regions === was.regions ? was : { ...head, regions });
  }
  return stages;
}

/** The regions, or `before` itself when every one is the same as there. */
function copyRegions(value: unknown, before: readonly Region[]): Region[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const regions: Region[] = [];
  let same = value.length === before.length;
  for (let i = 0; i < value.length; i++) {
    const region = namedTimes(value[i], before[i] as Region | undefined);
    if (!region) return undefined;
    same &&= region === before[i];
    regions.push(region);
  }
  return same ? (before as Region[]) : regions;
}

/**
 * What a stage and a region share (a region is no more): name, status, start and end; `was`
 * itself when it has the same.
 */
function namedTimes(v: unknown, was: Region | undefined): Region | undefined {
  if (!isObject(v)) return undefined;
  const { name, status } = v;
  const startTime = timeOf(v.startTime);
  const endTime = timeOf(v.endTime);
  if (typeof name !== "string" || typeof status !== "string") return undefined;
  if (startTime === undefined || endTime === undefined) return undefined;
  if (was?.name === name && was.status === status && was.startTime === startTime && was.endTime === endTime)
    return was;
  return { name, status, startTime, endTime };
}

/**
 * `JSON.parse` for a rollout answer, keeping of each rollout, stage and region only the fields
 * the contract names (zod leaves the others out anyway). Each region, and each field of a stage
 * or of the rollout, is parsed on its own and what is not kept is dropped at once, so what EV2
 * adds (steps, resource groups, long descriptions...) never sits in memory as one tree: memory
 * follows the contract's part of the answer, not the answer's size. Text this reader does not
 * follow goes to JSON.parse whole, which reads it or refuses it; this reader refuses nothing
 * that JSON.parse reads and reads nothing that it refuses (each part goes through JSON.parse, and
 * the brackets, colons and commas between them are checked here).
 */
export function readRolloutJson(text: string): unknown {
  try {
    return new RolloutText(text).read();
  } catch {
    return JSON.parse(text);
  }
}

/**
 * The fields schemas.ts names for a rollout, a stage and a region (a test holds them to the
 * schemas; listed here so that reading an answer builds no zod schema).
 */
export const rolloutKeys: ReadonlySet<string> = new Set([
  "rolloutId",
  "serviceGroupName",
  "serviceId",
  "environment",
  "artifactVersionNumber",
  "stageMapName",
  "stageMapVersion",
  "status",
  "currentStage",
  "stages",
  "waitActions",
  "errors",
  "createdTimestamp",
  "lastUpdateTime",
  "dashboardUrl",
]);
export const stageKeys: ReadonlySet<string> = new Set(["name", "status", "startTime", "endTime", "regions"]);
export const regionKeys: ReadonlySet<string> = new Set(["name", "status", "startTime", "endTime"]);

const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const QUOTE = 34;
const COMMA = 44;
const COLON = 58;
const BACKSLASH = 92;
/** The characters after a backslash that JSON allows besides u: " \ / b f n r t. */
const SIMPLE_ESCAPES: ReadonlySet<number> = new Set([34, 92, 47, 98, 102, 110, 114, 116]);
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

class RolloutText {
  private at = 0;
  constructor(private readonly text: string) {}

  read(): unknown {
    this.space();
    const rollout = this.object(rolloutKeys);
    this.space();
    if (this.at !== this.text.length) throw new SyntaxError("text after the JSON value");
    return rollout;
  }

  /** An object at `at`, keeping the `kept` keys; stages and regions are read by place. */
  private object(kept: ReadonlySet<string>): Record<string, unknown> {
    this.expect(OPEN_OBJECT);
    const object: Record<string, unknown> = {};
    this.space();
    if (this.next() === CLOSE_OBJECT) {
      this.at++;
      return object;
    }
    for (;;) {
      this.space();
      if (this.next() !== QUOTE) throw new SyntaxError("expected a key");
      const key = this.leaf() as string;
      this.space();
      this.expect(COLON);
      this.space();
      const list =
        this.next() !== OPEN_ARRAY
          ? undefined
          : kept === rolloutKeys && key === "stages"
            ? stageKeys
            : kept === stageKeys && key === "regions"
              ? regionKeys
              : undefined;
      // The last of a repeated key, as JSON.parse ("__proto__" is not among the kept keys).
      if (kept.has(key)) object[key] = list ? this.array(list) : this.leaf();
      else this.skip();
      this.space();
      const c = this.next();
      this.at++;
      if (c === CLOSE_OBJECT) return object;
      if (c !== COMMA) throw new SyntaxError("expected , or }");
    }
  }

  /** The stages (or a stage's regions): each object read keeping the `kept` keys. */
  private array(kept: ReadonlySet<string>): unknown[] {
    this.expect(OPEN_ARRAY);
    const items: unknown[] = [];
    this.space();
    if (this.next() === CLOSE_ARRAY) {
      this.at++;
      return items;
    }
    for (;;) {
      this.space();
      items.push(this.next() === OPEN_OBJECT ? this.object(kept) : this.leaf());
      this.space();
      const c = this.next();
      this.at++;
      if (c === CLOSE_ARRAY) return items;
      if (c !== COMMA) throw new SyntaxError("expected , or ]");
    }
  }

  /** Any value, parsed by JSON.parse on its own. */
  private leaf(): unknown {
    const end = valueEnd(this.text, this.at);
    const value: unknown = JSON.parse(this.text.slice(this.at, end));
    this.at = end;
    return value;
  }

  /** Past a value nothing keeps, checked as JSON.parse would check it but not built. */
  private skip(): void {
    const c = this.next();
    if (c === QUOTE) return this.skipString();
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      this.at++;
      this.space();
      if (this.next() === close) {
        this.at++;
        return;
      }
      for (;;) {
        this.space();
        if (close === CLOSE_OBJECT) {
          if (this.next() !== QUOTE) throw new SyntaxError("expected a key");
          this.skipString();
          this.space();
          this.expect(COLON);
          this.space();
        }
        this.skip();
        this.space();
        const d = this.next();
        this.at++;
        if (d === close) return;
        if (d !== COMMA) throw new SyntaxError("expected , or a closing bracket");
      }
    }
    const end = valueEnd(this.text, this.at);
    const token = this.text.slice(this.at, end);
    if (token !== "true" && token !== "false" && token !== "null" && !JSON_NUMBER.test(token))
      throw new SyntaxError("not a JSON value");
    this.at = end;
  }

  /** Past a string: no control character in it, and only the escapes JSON has. */
  private skipString(): void {
    const text = this.text;
    for (let j = this.at + 1; j < text.length; j++) {
      const c = text.charCodeAt(j);
      if (c === QUOTE) {
        this.at = j + 1;
        return;
      }
      if (c < 0x20) throw new SyntaxError("a control character in a string");
      if (c === BACKSLASH) {
        const e = text.charCodeAt(++j);
        if (e === 117 /* u */) {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(j + 1, j + 5))) throw new SyntaxError("a bad \\u escape");
          j += 4;
        } else if (!SIMPLE_ESCAPES.has(e)) throw new SyntaxError("a bad escape");
      }
    }
    throw new SyntaxError("a string that does not end");
  }

  private next(): number {
    return this.text.charCodeAt(this.at);
  }

  private expect(c: number): void {
    if (this.next() !== c) throw new SyntaxError(`expected ${String.fromCharCode(c)}`);
    this.at++;
  }

  private space(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.at);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return;
      this.at++;
    }
  }
}

/**
 * Where the value starting at `start` ends: after its closing quote or bracket (strings inside
 * skipped), or at the next delimiter for a number or literal. Whether it is JSON is JSON.parse's
 * to say.
 */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let j = start; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === QUOTE) {
      j = stringEnd(text, j) - 1;
      if (depth === 0) return j + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT || (depth === 0 && (c === COMMA || c === COLON))) {
      if (depth === 0) return j;
      if (--depth === 0) return j + 1;
    } else if (depth === 0 && (c === 32 || c === 10 || c === 13 || c === 9)) return j;
  }
  return text.length;
}

/** Index after the string whose opening quote is at `start` (the text's end when it has none). */
function stringEnd(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92) j++;
    else if (c === QUOTE) return j + 1;
  }
  return text.length;
}
