import * as z from "../zod";

/** Response shapes of the EV2 contract. Unknown fields are ignored (forward compatible). */

/**
 * What an EV2 id (of a rollout or a wait action) looks like, whether a user types it or EV2 answers
 * it: letters, digits and `._:-`, at most 128. The tasks put ids in URL paths and output variables,
 * which pipelines paste into later steps, scripts included: an id EV2 answers in another form is
 * refused as a broken answer, never passed on.
 */
export const EV2_ID = /^[A-Za-z0-9._:-]{1,128}$/;
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

/**
 * Every schema is built on its first use (z.lazy), not when the module loads: zod takes about
 * 0.1 ms a node to build one, 4-7 ms for all of them, which every task's start-up paid before its
 * first request, and most runs use two or three of them. The shared parts are built once, with the
 * first schema that needs them.
 */
let builtParts: ReturnType<typeof buildParts> | undefined;
const parts = () => (builtParts ??= buildParts());

function buildParts() {
  const ev2Id = z.string().check(z.regex(EV2_ID, "not an EV2 id (letters, digits and . _ : -, at most 128)"));

  const timestamp = z.string();
  const nullableTime = z.pipe(
    z.nullish(timestamp),
    z.transform((v) => v ?? null),
  );

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
    regions: z._default(z.array(region), []),
  });

  const waitAction = z.object({
    actionId: ev2Id,
    stage: z.string(),
    reason: z.optional(z.string()),
    status: z.string(),
    waitingSince: z.optional(timestamp),
    decidedBy: z.nullish(z.string()),
    decidedAt: z.nullish(timestamp),
    comment: z.nullish(z.string()),
  });

  const rolloutError = z.object({
    stage: z.optional(z.string()),
    region: z.nullish(z.string()),
    timestamp: z.optional(timestamp),
    errorCode: z.string(),
    message: z._default(z.string(), ""),
  });

  return { ev2Id, timestamp, region, stage, waitAction, rolloutError };
}

export const artifactVersionList = z.lazy(() =>
  z.object({
    artifacts: z.array(
      z.object({
        versionNumber: z.string(),
        registrationDate: z.optional(parts().timestamp),
        status: z.string(),
      }),
    ),
  }),
);

export const stageMapVersionList = z.lazy(() =>
  z.object({
    stageMaps: z.array(
      z.object({ version: z.string(), registrationDate: z.optional(parts().timestamp), status: z.string() }),
    ),
  }),
);

export const startedRollout = z.lazy(() =>
  z.object({
    rolloutId: parts().ev2Id,
    status: z.string(),
    createdTimestamp: z.optional(parts().timestamp),
  }),
);

export const rolloutSummary = z.lazy(() =>
  z.object({
    rolloutId: parts().ev2Id,
    status: z.string(),
    environment: z.optional(z.string()),
    artifactVersionNumber: z.optional(z.string()),
    createdTimestamp: z.optional(parts().timestamp),
    tags: z.optional(z.record(z.string(), z.string())),
  }),
);
export const rolloutList = z.lazy(() => z.object({ rollouts: z.array(rolloutSummary) }));

/** A stage and a region of a rollout (shared/ev2/rollout-answer.ts reads them without zod). */
export const stage = z.lazy(() => parts().stage);
export const region = z.lazy(() => parts().region);

export const rollout = z.lazy(() => {
  const { ev2Id, timestamp, stage, waitAction, rolloutError } = parts();
  return z.object({
    rolloutId: ev2Id,
    serviceGroupName: z.string(),
    serviceId: z.string(),
    environment: z.string(),
    artifactVersionNumber: z.string(),
    stageMapName: z.string(),
    stageMapVersion: z.string(),
    status: z.enum(rolloutStatuses),
    currentStage: z.nullish(z.string()),
    stages: z.array(stage),
    waitActions: z._default(z.array(waitAction), []),
    errors: z._default(z.array(rolloutError), []),
    createdTimestamp: timestamp,
    lastUpdateTime: z.optional(timestamp),
    dashboardUrl: z.optional(z.string()),
  });
});

export const decisionResult = z.lazy(() =>
  z.object({
    actionId: parts().ev2Id,
    status: z.string(),
    decidedAt: z.optional(parts().timestamp),
  }),
);
export const cancelResult = z.lazy(() =>
  z.object({
    rolloutId: parts().ev2Id,
    status: z.string(),
    timestamp: z.optional(parts().timestamp),
  }),
);
export const restartResult = z.lazy(() => z.object({ rolloutId: parts().ev2Id, status: z.string() }));

export const errorBody = z.lazy(() =>
  z.object({
    error: z.object({
      code: z.string(),
      message: z._default(z.string(), ""),
      target: z.nullish(z.string()),
      details: z.nullish(z.record(z.string(), z.unknown())),
    }),
  }),
);

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
