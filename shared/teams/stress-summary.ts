/** What a stress-test card shows: the minimum the stress engine's result has to provide. */
export interface StressEndpointForCard {
  /** A short label; the URL is shown when absent. */
  name?: string;
  url?: string;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Percent of requests that failed, 0-100 (as the StressTestStage `errorRate` output). */
  errorRate: number;
  /** Requests per second achieved. */
  rps: number;
}

export interface StressThresholdForCard {
  /** As the user wrote it: `p95 < 500ms`. */
  expression: string;
  passed: boolean;
  /** The measured value, e.g. `412 ms` or 412. */
  observed?: string | number;
}

export interface StressSummaryForCard {
  passed: boolean;
  endpoints: StressEndpointForCard[];
  thresholds: StressThresholdForCard[];
  /** The stage whose endpoints were loaded, when known. */
  stageName?: string;
  durationSeconds?: number;
}
