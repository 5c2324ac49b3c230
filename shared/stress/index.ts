/**
 * The stress-test library behind StressTestStage: endpoints and thresholds from the task's
 * inputs, the load engine, the result document, its merge, JUnit XML and the markdown summary.
 */
export { ERROR_KINDS, StressInputError, StressReadinessError, classifyRequestError } from "./errors";
export type { ErrorKind, TransportErrorKind } from "./errors";
export {
  STRESS_DEFAULTS,
  STRESS_LIMITS,
  STRESS_RANGES,
  checkEndpointCount,
  checkEndpointUrl,
  validateLoadSettings,
} from "./settings";
export type { StressLoadSettings } from "./settings";
export {
  DEFAULT_EXPECTED_STATUS,
  HTTP_METHODS,
  checkUniqueNames,
  completeEndpoint,
  describeExpectedStatus,
  parseEndpointLines,
  parseEndpointsFile,
  resolveEndpoints,
  substituteTokens,
} from "./endpoints";
export type {
  EndpointSources,
  EndpointSpec,
  EndpointTokens,
  HttpMethod,
  StatusRange,
  StressEndpoint,
} from "./endpoints";
export {
  DEFAULT_THRESHOLDS_TEXT,
  THRESHOLD_FORMS,
  THRESHOLD_METRICS,
  ThresholdSyntaxError,
  MAX_WINDOW_SECONDS,
  checkThresholdScopes,
  evaluateThresholds,
  isDistributionThreshold,
  isRelativeThreshold,
  needsBaseline,
  parseThresholdLine,
  parseThresholds,
} from "./thresholds";
export type {
  BaselineFigures,
  DistributionThreshold,
  LimitThreshold,
  ScopeBaseline,
  StressThreshold,
  ThresholdMetric,
  ThresholdObservables,
  ThresholdOperator,
  ThresholdUnit,
  ThresholdVerdict,
  ThresholdWindow,
} from "./thresholds";
export { ThresholdWatch, describeEarlyAbort, isWindowed, windowFigure } from "./sliding-window";
export type { EarlyAbort, WindowBreach, WindowFigures } from "./sliding-window";
export { decodeHistogram, encodeHistogram, summarizeLatency } from "./histogram";
export type { LatencyHistogram, LatencySummary } from "./histogram";
export type { OpenModelCounters, StressStats } from "./measurements";
export { LATE_TOLERANCE_MS } from "./engine";
export type { LoadProgress } from "./engine";
export { waitUntilReady } from "./readiness";
export type { ReadinessOptions } from "./readiness";
export { STRESS_RESULT_KIND, STRESS_RESULT_SCHEMA_VERSION, describeNotReady, stressOutputs } from "./result";
export type {
  EndpointResult,
  NotReadyEndpoint,
  StressLoadDescription,
  StressOutputs,
  StressResultDocument,
} from "./result";
export { mergeResults, parseResultDocument } from "./merge";
export type { MergeOptions } from "./merge";
export { renderJUnitXml } from "./junit";
export type { JUnitOptions } from "./junit";
export { formatMs, renderMarkdownSummary } from "./summary";
export { checkStressTestOptions, notReadyResult, runStressTest } from "./stress-test";
export { COMPARED_FIGURES, checkBaselineThresholds, compareWithBaseline } from "./baseline";
export type {
  BaselineComparison,
  BaselineSource,
  ComparedFigure,
  FigureChange,
  ScopeComparison,
} from "./baseline";
export {
  DISTRIBUTION_ALPHA,
  MIN_DISTRIBUTION_SAMPLES,
  NEGLIGIBLE_EFFECT,
  compareDistributions,
  describeDistribution,
} from "./distribution";
export type { DistributionComparison } from "./distribution";
export type { StressTestOptions } from "./stress-test";
