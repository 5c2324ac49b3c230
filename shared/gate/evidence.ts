import { existsSync, readFileSync } from "node:fs";
import type { Rollout } from "../ev2/schemas";
import { sendWithRetry, type HttpClientOptions } from "../http/request";

/** One piece of evidence an automatic gate weighs, and its verdict. */
export interface EvidenceVerdict {
  kind: "stressResult" | "rolloutErrors" | "healthProbe" | "telemetry";
  source: string;
  passed: boolean;
  /** Neither passed nor failed: too little to judge on (telemetry with too few requests). */
  inconclusive?: boolean;
  /** Recorded only: shadow mode (`enforce: false`), the verdict decides nothing. */
  notEnforced?: boolean;
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

/** A health probe line: `https://x/health`, or with its own latency limit, `https://x/health < 800ms`. */
export interface HealthProbe {
  url: string;
  limitMs: number;
}

const DEFAULT_PROBE_LIMIT_MS = 5000;
const PROBE_LINE = /^(https?:\/\/\S+?)(?:\s*<\s*(\d+(?:\.\d+)?)\s*(ms|s))?$/i;
export const healthProbeForms =
  "an http(s) URL such as https://orders-eastus.contoso.com/health, optionally with a latency limit (default 5 s): https://orders-eastus.contoso.com/health < 800ms";

/** The probe a line asks for, or undefined when the line is not one. */
export function parseHealthProbe(line: string): HealthProbe | undefined {
  const m = PROBE_LINE.exec(line.trim());
  if (!m) return undefined;
  const limitMs =
    m[2] === undefined ? DEFAULT_PROBE_LIMIT_MS : Number(m[2]) * (m[3].toLowerCase() === "s" ? 1000 : 1);
  return limitMs > 0 && limitMs <= 60_000 ? { url: m[1], limitMs } : undefined;
}

/**
 * A probe passes when it answers 2xx within its limit (one retry for a passing network blip;
 * the time is the answer's, the retry's wait not counted).
 */
export async function probeHealth(probe: HealthProbe, http: HttpClientOptions): Promise<EvidenceVerdict> {
  const { url, limitMs } = probe;
  const limit = `limit ${limitMs} ms`;
  let sentAt = Date.now();
  try {
    const res = await sendWithRetry(
      { method: "GET", url, operation: `health probe ${url}`, retryNetworkErrors: true },
      {
        ...http,
        timeoutMs: Math.max(limitMs, DEFAULT_PROBE_LIMIT_MS),
        retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 1000, maxTotalWaitMs: 2000 },
        onRetry: (n) => {
          http.onRetry?.(n);
          sentAt = Date.now() + n.delayMs;
        },
      },
    );
    const ms = Date.now() - sentAt;
    const ok = res.status >= 200 && res.status < 300;
    return {
      kind: "healthProbe",
      source: url,
      passed: ok && ms <= limitMs,
      detail: `HTTP ${res.status} in ${ms} ms, ${limit}${ok && ms > limitMs ? ": too slow" : ""}`,
    };
  } catch (err) {
    return {
      kind: "healthProbe",
      source: url,
      passed: false,
      detail: `${(err as Error).message} (${limit})`,
    };
  }
}
