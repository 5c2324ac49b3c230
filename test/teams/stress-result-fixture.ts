/** Real StressTestStage result documents, built by the stress library from recorded requests. */
import { completeEndpoint } from "../../shared/stress/endpoints";
import { EndpointRecorder } from "../../shared/stress/measurements";
import { buildResultDocument, type StressResultDocument } from "../../shared/stress/result";
import { parseThresholds } from "../../shared/stress/thresholds";

export interface RecordedEndpoint {
  name: string;
  url: string;
  /** Latencies in ms of answered requests, status 200 unless `failures` says otherwise. */
  latenciesMs: number[];
  /** How many of the requests answered 500. */
  failures?: number;
}

export function stressResultDocument(
  endpoints: RecordedEndpoint[],
  thresholds: string,
  options: { seconds?: number; aborted?: boolean } = {},
): StressResultDocument {
  const seconds = options.seconds ?? 30;
  const specs = endpoints.map((e) => completeEndpoint({ name: e.name, url: e.url }));
  const totals = endpoints.map((e, i) => {
    const recorder = new EndpointRecorder(specs[i].expectedStatus, false);
    e.latenciesMs.forEach((ms, n) => recorder.recordResponse(n < (e.failures ?? 0) ? 500 : 200, ms, ms));
    return recorder.totals(seconds);
  });
  return buildResultDocument({
    endpoints: specs,
    totals,
    thresholds: parseThresholds(thresholds),
    load: {
      model: "closed",
      connections: 10,
      pipelining: 1,
      durationSeconds: seconds,
      warmupSeconds: 0,
      timeoutMs: 10_000,
    },
    aborted: options.aborted ?? false,
    startedAt: "2025-03-01T10:00:00.000Z",
    finishedAt: new Date(Date.parse("2025-03-01T10:00:00.000Z") + seconds * 1000).toISOString(),
    measuredSeconds: seconds,
    jobs: 1,
  });
}

/** 1..100 ms, one request each: p50 50 ms, p95 95 ms, p99 99 ms. */
export const oneToHundredMs = Array.from({ length: 100 }, (_, i) => i + 1);
