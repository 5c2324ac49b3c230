/**
 * Scale-out: several jobs each run a share of the load; their result documents merge into one
 * exact verdict. Counts and histograms add up (HdrHistogram buckets, so percentiles of the
 * merge are those of one combined run); throughput adds up too, since the jobs ran side by side.
 */
import * as z from "../zod";
import { checkBaselineThresholds, type BaselineSource } from "./baseline";
import { ERROR_KINDS, StressInputError, type ErrorKind } from "./errors";
import { HTTP_METHODS } from "./endpoints";
import { decodeHistogram } from "./histogram";
import { addTotals, totalsFromStats, type EndpointTotals } from "./measurements";
import {
  STRESS_RESULT_KIND,
  STRESS_RESULT_SCHEMA_VERSION,
  buildResultDocument,
  type EndpointResult,
  type StressLoadDescription,
  type StressResultDocument,
} from "./result";
import type { EarlyAbort, WindowFigures } from "./sliding-window";
import { parseThresholdLine, windowKey, type StressThreshold } from "./thresholds";

/**
 * What a result file must hold, built on the first file read (a merge, a baseline, a Teams card):
 * zod takes about 2 ms to build it, which a load run's start-up would pay for nothing.
 */
let documentSchema: ReturnType<typeof buildDocumentSchema> | undefined;

function buildDocumentSchema() {
  const count = z.number().check(z.nonnegative());
  const openModelSchema = z.object({
    requestedRate: count,
    scheduledSends: count,
    sentRequests: count,
    lateSends: count,
    droppedSends: count,
    lateToleranceMs: count,
    achievedRate: count,
  });

  const statsSchema = z.object({
    requests: count,
    requestsPerSecond: count,
    statusCodes: z.record(z.string(), count),
    errors: z.object(
      Object.fromEntries(ERROR_KINDS.map((k) => [k, count])) as Record<ErrorKind, typeof count>,
    ),
    histogram: z.string().check(z.minLength(1)),
    uncorrectedHistogram: z.optional(z.string().check(z.minLength(1))),
    openModel: z.optional(openModelSchema),
  });

  return z.object({
    schemaVersion: z.literal(STRESS_RESULT_SCHEMA_VERSION, {
      error: `schemaVersion must be ${STRESS_RESULT_SCHEMA_VERSION}; this file comes from another version of the stress test`,
    }),
    kind: z.literal(STRESS_RESULT_KIND, {
      error: `kind must be "${STRESS_RESULT_KIND}": this is not a stress-test result`,
    }),
    aborted: z.boolean(),
    startedAt: z.string(),
    finishedAt: z.string(),
    measuredSeconds: count,
    jobs: z.int().check(z.positive()),
    load: z.object({
      model: z.enum(["closed", "open"]),
      connections: count,
      rate: z.optional(count),
      pipelining: count,
      durationSeconds: count,
      requests: z.optional(count),
      warmupSeconds: count,
      timeoutMs: count,
    }),
    overall: statsSchema,
    endpoints: z
      .array(
        z.extend(statsSchema, {
          name: z.string(),
          url: z.string(),
          template: z.optional(z.string()),
          method: z.enum(HTTP_METHODS),
          expectedStatus: z.array(z.object({ min: z.int(), max: z.int() })).check(z.minLength(1)),
        }),
      )
      .check(z.minLength(1)),
    thresholdDefinitions: z.array(z.object({ line: z.int().check(z.positive()), text: z.string() })),
    // Optional (files written before they were added have none): what a merge reads of the
    // sliding windows, the early abort and each windowed verdict's figures.
    earlyAbort: z.optional(
      z.object({
        line: z.int(),
        threshold: z.string(),
        scope: z.enum(["overall", "endpoint"]),
        endpoint: z.optional(z.string()),
        windowSeconds: count,
        observed: z.number(),
        atSeconds: count,
        firstFailingSecond: count,
        timeToDetectSeconds: count,
        resultFile: z.optional(z.string()),
      }),
    ),
    thresholds: z.optional(
      z.array(
        z.object({
          line: z.int(),
          operator: z.string(),
          window: z.optional(
            z.object({
              seconds: count,
              abort: z.boolean(),
              windows: count,
              observed: z.nullable(z.number()),
              endedAtSeconds: z.nullable(count),
              partialSeconds: z.optional(count),
              breach: z.optional(
                z.object({
                  observed: z.number(),
                  atSeconds: count,
                  firstFailingSecond: count,
                  timeToDetectSeconds: count,
                }),
              ),
            }),
          ),
        }),
      ),
    ),
    // Optional: files written before it was added have none.
    notReady: z.optional(
      z.array(
        z.object({
          endpoint: z.string(),
          url: z.string(),
          message: z.string(),
          resultFile: z.optional(z.string()),
        }),
      ),
    ),
  });
}

/**
 * Reads a result file, checking what a merge (or a comparison) relies on. `source` (the file
 * name) starts every error message; `input` is the task input the file came from. The document
 * is returned as read, with every field it had.
 */
export function parseResultDocument(
  text: string,
  source: string,
  input = "resultFiles",
): StressResultDocument {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StressInputError(`result file ${source}: not JSON: ${(err as Error).message}`, input);
  }
  const parsed = (documentSchema ??= buildDocumentSchema()).safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StressInputError(
      `result file ${source}: ${issue.path.join(".") || "document"}: ${issue.message}`,
      input,
    );
  }
  for (const [where, stats] of [
    ["overall", parsed.data.overall],
    ...parsed.data.endpoints.map((e) => [e.name, e] as const),
  ] as const) {
    try {
      decodeHistogram(stats.histogram);
      if (stats.uncorrectedHistogram) decodeHistogram(stats.uncorrectedHistogram);
    } catch (err) {
      throw new StressInputError(
        `result file ${source}: ${where}: histogram cannot be read: ${(err as Error).message}`,
        input,
      );
    }
  }
  return data as StressResultDocument;
}

function mergeLoad(docs: readonly StressResultDocument[]): StressLoadDescription {
  const models = new Set(docs.map((d) => d.load.model));
  if (models.size > 1) {
    throw new StressInputError(
      "result files mix closed-model and open-model runs; merge runs of one model",
      "resultFiles",
    );
  }
  const sum = (pick: (l: StressLoadDescription) => number | undefined) => {
    const values = docs.map((d) => pick(d.load)).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0);
  };
  const max = (pick: (l: StressLoadDescription) => number) => Math.max(...docs.map((d) => pick(d.load)));
  const rate = sum((l) => l.rate);
  const requests = sum((l) => l.requests);
  return {
    model: docs[0].load.model,
    connections: sum((l) => l.connections) ?? 0,
    ...(rate === undefined ? {} : { rate }),
    pipelining: max((l) => l.pipelining),
    durationSeconds: max((l) => l.durationSeconds),
    ...(requests === undefined ? {} : { requests }),
    warmupSeconds: max((l) => l.warmupSeconds),
    timeoutMs: max((l) => l.timeoutMs),
  };
}

function thresholdsOf(docs: readonly StressResultDocument[]): StressThreshold[] {
  const key = (d: StressResultDocument) => JSON.stringify(d.thresholdDefinitions);
  if (docs.some((d) => key(d) !== key(docs[0]))) {
    throw new StressInputError(
      "result files were judged by different thresholds; give the thresholds to judge the merged result by",
      "thresholds",
    );
  }
  return docs[0].thresholdDefinitions.flatMap(({ line, text }) => {
    const t = parseThresholdLine(text, line);
    return t ? [t] : [];
  });
}

/**
 * Sliding windows of parallel jobs cannot be lined up in time, so a windowed line is judged per
 * job and the merge keeps the worst: a breach in any job (the earliest), else the worst window.
 */
function mergedWindows(docs: readonly StressResultDocument[]): Map<string, WindowFigures> {
  const merged = new Map<string, WindowFigures>();
  for (const doc of docs) {
    // Files of older versions, or written by hand, may carry no verdicts.
    for (const v of doc.thresholds ?? []) {
      const w = v.window;
      const text = doc.thresholdDefinitions.find((d) => d.line === v.line)?.text;
      if (!w || text === undefined) continue;
      const key = windowKey({ text }, v.scope === "overall" ? undefined : v.endpoint);
      const seen = merged.get(key);
      if (!seen) {
        merged.set(key, { ...w });
        continue;
      }
      const lower = v.operator === "<" || v.operator === "<=";
      const worse =
        seen.observed === null ||
        (w.observed !== null && (lower ? w.observed > seen.observed : w.observed < seen.observed));
      const pick: WindowFigures =
        seen.breach || w.breach
          ? !w.breach || (seen.breach && seen.breach.atSeconds <= w.breach.atSeconds)
            ? seen
            : w
          : worse && (w.partialSeconds === undefined || seen.partialSeconds !== undefined)
            ? w
            : seen;
      merged.set(key, { ...pick, windows: seen.windows + w.windows });
    }
  }
  return merged;
}

/** The earliest early abort of the jobs, naming its result file. */
function firstEarlyAbort(
  docs: readonly StressResultDocument[],
  sources: readonly string[] | undefined,
): EarlyAbort | undefined {
  let first: EarlyAbort | undefined;
  docs.forEach((d, i) => {
    const e = d.earlyAbort;
    if (!e || (first && first.atSeconds <= e.atSeconds)) return;
    const resultFile = e.resultFile ?? sources?.[i];
    first = { ...e, ...(resultFile === undefined ? {} : { resultFile }) };
  });
  return first;
}

export interface MergeOptions {
  /** Judge the merge by these instead of the thresholds the documents carry (which must then agree). */
  thresholds?: readonly StressThreshold[];
  /** Compare the merged result with this run; required by thresholds such as `p95 < 1.2x baseline`. */
  baseline?: BaselineSource;
  /** The file each document was read from, in the same order: named for an endpoint that never became ready. */
  sources?: readonly string[];
}

/**
 * One result from several jobs' results. Endpoints are matched by name (their union is kept,
 * in first-seen order); the verdict is evaluated anew on the merged figures. A job whose
 * endpoint never became ready measured nothing, so the figures cannot show it: its `notReady`
 * is carried over (with the file it came from) and the merge does not pass.
 */
export function mergeResults(
  docs: readonly StressResultDocument[],
  options: MergeOptions = {},
): StressResultDocument {
  if (docs.length === 0) throw new StressInputError("no result files to merge", "resultFiles");
  const thresholds = options.thresholds ? [...options.thresholds] : thresholdsOf(docs);
  checkBaselineThresholds(thresholds, options.baseline);
  const byName = new Map<string, { endpoint: EndpointResult; parts: EndpointTotals[] }>();
  for (const doc of docs) {
    for (const e of doc.endpoints) {
      const entry = byName.get(e.name);
      if (entry && (entry.endpoint.url !== e.url || entry.endpoint.method !== e.method)) {
        throw new StressInputError(
          `result files disagree on endpoint "${e.name}": ${entry.endpoint.method} ${entry.endpoint.url} vs ${e.method} ${e.url}`,
          "resultFiles",
        );
      }
      const totals = totalsFromStats(e, doc.measuredSeconds);
      if (entry) entry.parts.push(totals);
      else byName.set(e.name, { endpoint: e, parts: [totals] });
    }
  }
  const entries = [...byName.values()];
  return buildResultDocument({
    endpoints: entries.map((e) => e.endpoint),
    totals: entries.map((e) => addTotals(e.parts)),
    thresholds,
    load: mergeLoad(docs),
    aborted: docs.some((d) => d.aborted),
    earlyAbort: firstEarlyAbort(docs, options.sources),
    windows: mergedWindows(docs),
    notReady: docs.flatMap((d, i) =>
      (d.notReady ?? []).map((n) => {
        const resultFile = n.resultFile ?? options.sources?.[i];
        return { ...n, ...(resultFile === undefined ? {} : { resultFile }) };
      }),
    ),
    startedAt: docs.map((d) => d.startedAt).sort()[0],
    finishedAt: docs
      .map((d) => d.finishedAt)
      .sort()
      .at(-1)!,
    measuredSeconds: Math.max(...docs.map((d) => d.measuredSeconds)),
    jobs: docs.reduce((n, d) => n + d.jobs, 0),
    baseline: options.baseline,
  });
}
