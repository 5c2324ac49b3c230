import { existsSync, readFileSync } from "node:fs";
import type { Rollout } from "../ev2/schemas";
import { sendWithRetry, type HttpClientOptions } from "../http/request";

/** One piece of evidence an automatic gate weighs, and its verdict. */
export interface EvidenceVerdict {
  kind: "stressResult" | "rolloutErrors" | "healthProbe";
  source: string;
  passed: boolean;
  detail: string;
}

/** Problem with an evidence file, or undefined when it can be read as a StressTestStage result. */
export function evidenceFileProblem(path: string): string | undefined {
  if (!existsSync(path))
    return `file ${JSON.stringify(path)} does not exist (give the resultFile output of a StressTestStage step)`;
  try {
    readStressResult(path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

interface StressResultEvidence {
  passed: boolean;
  aborted?: boolean;
  thresholds?: Array<{ passed: boolean; message?: string; threshold?: string; endpoint?: string }>;
}

function readStressResult(path: string): StressResultEvidence {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new Error(`file ${JSON.stringify(path)} is not JSON: expected a StressTestStage result file`);
  }
  const d = doc as { kind?: unknown; schemaVersion?: unknown; passed?: unknown };
  if (d?.kind !== "stressTestResult" || d.schemaVersion !== 1 || typeof d.passed !== "boolean") {
    throw new Error(
      `file ${JSON.stringify(path)} is not a StressTestStage result (kind stressTestResult, schemaVersion 1)`,
    );
  }
  return doc as StressResultEvidence;
}

export function judgeStressResult(path: string): EvidenceVerdict {
  const doc = readStressResult(path);
  const failed = (doc.thresholds ?? [])
    .filter((t) => !t.passed)
    .map((t) => `${t.endpoint ? `${t.endpoint}: ` : ""}${t.message ?? t.threshold}`);
  const detail = doc.aborted
    ? "the stress test was cancelled before it finished"
    : failed.length
      ? `failed: ${failed.join("; ")}`
      : "every threshold held";
  return { kind: "stressResult", source: path, passed: doc.passed && !doc.aborted, detail };
}

export function judgeRolloutErrors(r: Rollout): EvidenceVerdict {
  const last = r.errors[r.errors.length - 1];
  return {
    kind: "rolloutErrors",
    source: `rollout ${r.rolloutId}`,
    passed: r.errors.length === 0,
    detail:
      r.errors.length === 0
        ? "no errors"
        : `${r.errors.length} error(s), last ${last.errorCode} in ${last.stage ?? "?"}${last.region ? `/${last.region}` : ""}: ${last.message}`,
  };
}

/** A probe passes when it answers 2xx within 5 s (one retry for a passing network blip). */
export async function probeHealth(url: string, http: HttpClientOptions): Promise<EvidenceVerdict> {
  const started = Date.now();
  try {
    const res = await sendWithRetry(
      { method: "GET", url, operation: `health probe ${url}`, retryNetworkErrors: true },
      {
        ...http,
        timeoutMs: 5000,
        retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 1000, maxTotalWaitMs: 2000 },
      },
    );
    const ms = Date.now() - started;
    const passed = res.status >= 200 && res.status < 300;
    return { kind: "healthProbe", source: url, passed, detail: `HTTP ${res.status} in ${ms} ms` };
  } catch (err) {
    return { kind: "healthProbe", source: url, passed: false, detail: (err as Error).message };
  }
}
