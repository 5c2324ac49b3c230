import * as z from "zod";

/** Response shapes of the EV2 contract. Unknown fields are ignored (forward compatible). */

const timestamp = z.string();
const nullableTime = timestamp.nullish().transform((v) => v ?? null);

export const rolloutStatuses = [
  "NotStarted",
  "InProgress",
  "Waiting",
  "Completed",
  "Failed",
  "Cancelled",
] as const;
export const terminalStatuses: ReadonlySet<string> = new Set(["Completed", "Failed", "Cancelled"]);
/**
 * The contract's stage, region and wait-action statuses. The client reads them as plain strings,
 * so a status EV2 adds later still renders; the simulator sends only these.
 */
export const stageStatuses = [
  "Pending",
  "InProgress",
  "Waiting",
  "Completed",
  "Failed",
  "Cancelled",
  "Skipped",
] as const;
export const regionStatuses = [
  "Pending",
  "InProgress",
  "Completed",
  "Failed",
  "Cancelled",
  "Skipped",
] as const;
export const waitActionStatuses = ["Waiting", "Approved", "Rejected"] as const;
export type StageStatus = (typeof stageStatuses)[number];
export type RegionStatus = (typeof regionStatuses)[number];
export type WaitActionStatus = (typeof waitActionStatuses)[number];

export const artifactVersionList = z.object({
  artifacts: z.array(
    z.object({ versionNumber: z.string(), registrationDate: timestamp.optional(), status: z.string() }),
  ),
});

export const stageMapVersionList = z.object({
  stageMaps: z.array(
    z.object({ version: z.string(), registrationDate: timestamp.optional(), status: z.string() }),
  ),
});

export const startedRollout = z.object({
  rolloutId: z.string().min(1),
  status: z.string(),
  createdTimestamp: timestamp.optional(),
});

export const rolloutSummary = z.object({
  rolloutId: z.string(),
  status: z.string(),
  environment: z.string().optional(),
  artifactVersionNumber: z.string().optional(),
  createdTimestamp: timestamp.optional(),
  tags: z.record(z.string(), z.string()).optional(),
});
export const rolloutList = z.object({ rollouts: z.array(rolloutSummary) });

const region = z.object({
  name: z.string(),
  status: z.string(),
  startTime: nullableTime,
  endTime: nullableTime,
});

const stage = z.object({
  name: z.string(),
  status: z.string(),
  startTime: nullableTime,
  endTime: nullableTime,
  regions: z.array(region).default([]),
});

const waitAction = z.object({
  actionId: z.string(),
  stage: z.string(),
  reason: z.string().optional(),
  status: z.string(),
  waitingSince: timestamp.optional(),
  decidedBy: z.string().nullish(),
  decidedAt: timestamp.nullish(),
  comment: z.string().nullish(),
});

const rolloutError = z.object({
  stage: z.string().optional(),
  region: z.string().nullish(),
  timestamp: timestamp.optional(),
  errorCode: z.string(),
  message: z.string().default(""),
});

export const rollout = z.object({
  rolloutId: z.string(),
  serviceGroupName: z.string(),
  serviceId: z.string(),
  environment: z.string(),
  artifactVersionNumber: z.string(),
  stageMapName: z.string(),
  stageMapVersion: z.string(),
  status: z.enum(rolloutStatuses),
  currentStage: z.string().nullish(),
  stages: z.array(stage),
  waitActions: z.array(waitAction).default([]),
  errors: z.array(rolloutError).default([]),
  createdTimestamp: timestamp,
  lastUpdateTime: timestamp.optional(),
  dashboardUrl: z.string().optional(),
});

export const decisionResult = z.object({
  actionId: z.string(),
  status: z.string(),
  decidedAt: timestamp.optional(),
});
export const cancelResult = z.object({
  rolloutId: z.string(),
  status: z.string(),
  timestamp: timestamp.optional(),
});
export const restartResult = z.object({ rolloutId: z.string(), status: z.string() });

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string().default(""),
    target: z.string().nullish(),
    details: z.record(z.string(), z.unknown()).nullish(),
  }),
});

export type ArtifactVersion = z.infer<typeof artifactVersionList>["artifacts"][number];
export type StageMapVersion = z.infer<typeof stageMapVersionList>["stageMaps"][number];
export type StartedRollout = z.infer<typeof startedRollout>;
export type RolloutSummary = z.infer<typeof rolloutSummary>;
export type Rollout = z.infer<typeof rollout>;
export type RolloutStatus = Rollout["status"];
export type Stage = Rollout["stages"][number];
export type Region = Stage["regions"][number];
export type WaitAction = Rollout["waitActions"][number];
export type RolloutError = Rollout["errors"][number];
export type DecisionResult = z.infer<typeof decisionResult>;
export type CancelResult = z.infer<typeof cancelResult>;
export type RestartResult = z.infer<typeof restartResult>;

export interface StartRolloutRequest {
  stageMapName: string;
  stageMapVersion: string;
  artifactVersionNumber: string;
  environment: string;
  selectionScope: string[];
  exclusionScope: string[];
  tags: Record<string, string>;
}
