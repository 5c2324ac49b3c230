/**
 * Task records shaped exactly as the tasks publish them (shared/tasks/*-task.ts `details`), for
 * the report's unit tests: a gated rollout that completes, and a rollout that fails and is
 * rolled back.
 */
import type { RunIdentity, TaskRecord } from "../../shared/rollout/record";

export const run: RunIdentity = {
  collectionId: "c0ffee00-0000-4000-8000-000000000001",
  collectionUri: "https://dev.azure.com/contoso/",
  project: "Orders",
  buildId: "4711",
  stageName: "Deploy_PPE",
  jobName: "rollout",
  attempt: "1",
  requestedFor: "Alice Example",
  runUrl: "https://dev.azure.com/contoso/Orders/_build/results?buildId=4711",
  sourceVersion: "0123456789abcdef0123456789abcdef01234567",
};

export const rolloutId = "9f1c2d3e-0000-4000-8000-00000000aaaa";
export const dashboardUrl = `https://ev2.example/rollouts/${rolloutId}`;

const record = (
  task: string,
  startedAt: string,
  endedAt: string,
  result: string,
  message: string,
  details: Record<string, unknown>,
  id: string | undefined = rolloutId,
): TaskRecord => ({
  schemaVersion: 1,
  task,
  startedAt,
  endedAt,
  result,
  message,
  run,
  rolloutId: id,
  details,
});

export function triggerRecord(
  over: { rolloutId?: string; artifactVersion?: string; at?: string; details?: Record<string, unknown> } = {},
): TaskRecord {
  const id = over.rolloutId ?? rolloutId;
  const version = over.artifactVersion ?? "1.3.2";
  const at = over.at ?? "2026-11-22T10:00:00.000Z";
  const resolution = [
    `Artifact version ${version}: the newest Active one (skipped newer 1.4.0: Deprecated).`,
    "Stage map OrdersStageMap v3: the newest Active one (skipped newer v4: Deprecated).",
    `Started rollout ${id} of orders-api ${version} to PPE (stage map OrdersStageMap v3).`,
  ];
  return record(
    "TriggerEv2Rollout",
    at,
    new Date(Date.parse(at) + 1200).toISOString(),
    "Succeeded",
    resolution[2],
    {
      outcome: "started",
      serviceGroupName: "Microsoft.Contoso.Orders",
      serviceId: "orders-api",
      environment: "PPE",
      stageMapName: "OrdersStageMap",
      artifactVersion: version,
      stageMapVersion: "v3",
      selectionScope: ["regions(*).steps(*).stamps(*).actions(*)"],
      exclusionScope: [],
      idempotencyKey: "ado:3f2a",
      dashboardUrl: `https://ev2.example/rollouts/${id}`,
      trackingBranch: `ev2/PPE/${version}-4711`,
      resolution,
      ...over.details,
    },
    id,
  );
}

const region = (name: string, status: string, startTime: string | null, endTime: string | null) => ({
  name,
  status,
  startTime,
  endTime,
});

/** The rollout snapshot FollowRollout records (follow-task.ts `snapshot`). */
export function snapshot(phase: "waiting" | "completed" | "failed") {
  const done = phase !== "waiting";
  return {
    status: phase === "waiting" ? "Waiting" : phase === "completed" ? "Completed" : "Failed",
    currentStage: phase === "waiting" ? "Stage3-Broad" : null,
    stages: [
      {
        name: "Stage1-Canary",
        status: "Completed",
        startTime: "2026-11-22T10:00:10Z",
        endTime: "2026-11-22T10:06:10Z",
        regions: [
          region("eastus2euap", "Completed", "2026-11-22T10:00:10Z", "2026-11-22T10:05:10Z"),
          region("centraluseuap", "Completed", "2026-11-22T10:00:10Z", "2026-11-22T10:06:10Z"),
        ],
      },
      {
        name: "Stage2-Pilot",
        status: phase === "failed" ? "Failed" : "Completed",
        startTime: "2026-11-22T10:06:10Z",
        endTime: phase === "failed" ? "2026-11-22T10:08:10Z" : "2026-11-22T10:12:10Z",
        regions: [
          region("westcentralus", "Completed", "2026-11-22T10:06:10Z", "2026-11-22T10:12:10Z"),
          phase === "failed"
            ? region("uksouth", "Failed", "2026-11-22T10:06:10Z", "2026-11-22T10:08:10Z")
            : region("uksouth", "Completed", "2026-11-22T10:06:10Z", "2026-11-22T10:11:10Z"),
        ],
      },
      {
        name: "Stage3-Broad",
        status: phase === "completed" ? "Completed" : phase === "waiting" ? "Waiting" : "Pending",
        startTime: phase === "completed" ? "2026-11-22T10:20:00Z" : null,
        endTime: phase === "completed" ? "2026-11-22T10:26:00Z" : null,
        regions: [
          region("eastus", done && phase === "completed" ? "Completed" : "Pending", null, null),
          region("westeurope", done && phase === "completed" ? "Completed" : "Pending", null, null),
        ],
      },
    ],
    waitActions:
      phase === "failed"
        ? []
        : [
            {
              actionId: "wait-1",
              stage: "Stage3-Broad",
              reason: "ManualApproval",
              status: phase === "waiting" ? "Waiting" : "Approved",
              waitingSince: "2026-11-22T10:12:10Z",
              ...(phase === "completed"
                ? {
                    decidedBy: "Alice Approver <alice@contoso.com>",
                    decidedAt: "2026-11-22T10:19:58Z",
                    comment: "Canary metrics look good (Azure DevOps approval, https://dev.azure.com/...)",
                  }
                : {}),
            },
          ],
    errors:
      phase === "failed"
        ? [
            {
              stage: "Stage2-Pilot",
              region: "uksouth",
              timestamp: "2026-11-22T10:08:10Z",
              errorCode: "ServiceHealthCheckFailed",
              message: "Health check of orders-api in uksouth failed: 5 of 12 probes returned 503",
            },
          ]
        : [],
    dashboardUrl,
  };
}

export function followRecord(
  phase: "waiting" | "completed" | "failed",
  at: string,
  endedAt: string,
  id = rolloutId,
): TaskRecord {
  const failure =
    phase === "failed"
      ? {
          stage: "Stage2-Pilot",
          region: "uksouth",
          errorCode: "ServiceHealthCheckFailed",
          message: "Health check of orders-api in uksouth failed: 5 of 12 probes returned 503",
          recommendation:
            "The deployed service failed its health checks: look at its health signals and logs in the failing region, then fix forward with a new artifact version or roll back (trigger the last good one), and restart the failed regions once it is healthy.",
        }
      : undefined;
  return record(
    "FollowRollout",
    at,
    endedAt,
    phase === "failed" ? "Failed" : "Succeeded",
    phase === "waiting"
      ? `Rollout ${id} is waiting at gate wait-1 before stage Stage3-Broad.`
      : phase === "completed"
        ? `Rollout ${id} completed: 3 stages in 26m 0s.`
        : `Stage Stage2-Pilot in uksouth failed: ServiceHealthCheckFailed: Health check of orders-api in uksouth failed: 5 of 12 probes returned 503 ${failure!.recommendation}`,
    {
      until: phase === "waiting" ? "waitAction" : "completion",
      end: phase === "waiting" ? "waiting" : phase,
      failure,
      actions: [],
      polls: 12,
      transientErrors: 0,
      rollout: { ...snapshot(phase), status: snapshot(phase).status },
    },
    id,
  );
}

export function gateRecord(at: string, endedAt: string): TaskRecord {
  return record(
    "GateApproval",
    at,
    endedAt,
    "Succeeded",
    "Wait action wait-1 before stage Stage3-Broad approved as Alice Approver <alice@contoso.com>.",
    {
      actionId: "wait-1",
      stage: "Stage3-Broad",
      requested: "approve",
      decision: "approved",
      decidedBy: "Alice Approver <alice@contoso.com>",
      approverSource: "yamlApproval",
      approverNote: undefined,
      evidence: [],
    },
  );
}

export function stressRecord(
  at: string,
  endedAt: string,
  passed: boolean,
  extra: Record<string, unknown> = {},
): TaskRecord {
  return record(
    "StressTestStage",
    at,
    endedAt,
    passed ? "Succeeded" : "Failed",
    passed
      ? "Every threshold held (2 checks; 1200 requests, error rate 0.5%, p95 120.0 ms)."
      : "1 of 2 threshold checks failed: overall: p95 < 100ms (p95 was 180.0 ms).",
    {
      mode: "run",
      region: "westcentralus",
      stage: "Stage2-Pilot",
      passed,
      aborted: false,
      verdictAt: passed ? undefined : endedAt,
      load: {
        model: "closed",
        connections: 10,
        pipelining: 1,
        durationSeconds: 30,
        warmupSeconds: 0,
        timeoutMs: 10000,
      },
      jobs: 1,
      outputs: {
        passed,
        errorRate: 0.5,
        p50Ms: 40.2,
        p95Ms: passed ? 120 : 180,
        p99Ms: 250.4,
        requestsPerSecond: 40,
      },
      endpoints: [
        { name: "orders", method: "GET", url: "https://orders-westcentralus.contoso.com/api/orders" },
      ],
      failedThresholds: passed ? [] : ["overall: p95 < 100ms (p95 was 180.0 ms)"],
      onThresholdFailure: "fail",
      resultFile: "/agent/_temp/stress/rollout-stress.json",
      junitFile: "/agent/_temp/stress/rollout-stress.xml",
      baseline: {
        source: "baseline/baseline.json",
        startedAt: "2026-11-21T10:00:00Z",
        distribution: {
          verdict: passed ? "same" : "slower",
          cliffsDelta: passed ? 0.02 : 0.41,
          pSlower: 0.001,
        },
      },
      ...extra,
    },
  );
}

export function teamsRecord(
  at: string,
  endedAt: string,
  over: Record<string, unknown> = {},
  id = rolloutId,
): TaskRecord {
  const kind = typeof over.kind === "string" ? over.kind : "completed";
  return record(
    "TeamsNotify",
    at,
    endedAt,
    "Succeeded",
    `Teams accepted the ${kind} card (HTTP 202).`,
    {
      notification: "auto",
      kind: "completed",
      delivered: true,
      status: 202,
      attempts: 1,
      bytes: 5120,
      failOnError: false,
      rolloutStatus: "Completed",
      ...over,
    },
    id,
  );
}

/** The records of a gated rollout that completes, in the order the steps ran. */
export function completedFlow(): TaskRecord[] {
  return [
    triggerRecord(),
    followRecord("waiting", "2026-11-22T10:00:02.000Z", "2026-11-22T10:12:12.000Z"),
    stressRecord("2026-11-22T10:12:13.000Z", "2026-11-22T10:12:45.000Z", true),
    gateRecord("2026-11-22T10:19:55.000Z", "2026-11-22T10:19:58.500Z"),
    followRecord("completed", "2026-11-22T10:20:00.000Z", "2026-11-22T10:26:05.000Z"),
    teamsRecord("2026-11-22T10:26:06.000Z", "2026-11-22T10:26:07.000Z"),
  ];
}

export const rollbackId = "9f1c2d3e-0000-4000-8000-00000000bbbb";

/** A rollout that fails in uksouth, and the rollback job's trigger in the same folder. */
export function rolledBackFlow(): TaskRecord[] {
  const rollback = triggerRecord({
    rolloutId: rollbackId,
    artifactVersion: "1.3.1",
    at: "2026-11-22T10:08:20.000Z",
    details: {
      rollbackOf: rolloutId,
      badVerdictAt: "2026-11-22T10:08:13.000Z",
      timeToSafetySeconds: 8.4,
      resolution: [
        "Artifact version 1.3.1: the version of the last Completed rollout to PPE (11111111-1111-4111-8111-111111111111, started 2026-11-19T10:00:00Z), as artifactVersion: lastSucceeded asks.",
        "Stage map OrdersStageMap v3: the newest Active one (skipped newer v4: Deprecated).",
        `Started rollout ${rollbackId} of orders-api 1.3.1 to PPE (stage map OrdersStageMap v3).`,
        `Time to safety: 8.4 s from the bad verdict (2026-11-22T10:08:13.000Z) to EV2 accepting rollback rollout ${rollbackId} of 1.3.1.`,
      ],
    },
  });
  return [
    triggerRecord(),
    followRecord("failed", "2026-11-22T10:00:02.000Z", "2026-11-22T10:08:13.000Z"),
    { ...rollback, run: { ...run, jobName: "rollback" } },
    teamsRecord(
      "2026-11-22T10:08:22.000Z",
      "2026-11-22T10:08:23.000Z",
      {
        kind: "rolledBack",
        rollbackOf: rolloutId,
        rolloutStatus: "InProgress",
      },
      rollbackId,
    ),
  ];
}

/** FollowRollout on the rollback with rollbackOf: the mitigation it recorded (follow-task.ts). */
export function rollbackFollowRecord(mitigated: boolean): TaskRecord {
  const restored = [
    { region: "eastus2euap", at: "2026-11-22T10:13:30.000Z" },
    { region: "centraluseuap", at: "2026-11-22T10:14:30.000Z" },
    { region: "westcentralus", at: "2026-11-22T10:20:30.000Z" },
    { region: "uksouth", at: "2026-11-22T10:21:30.000Z" },
  ];
  const follow = followRecord(
    mitigated ? "completed" : "waiting",
    "2026-11-22T10:08:25.000Z",
    mitigated ? "2026-11-22T10:30:00.000Z" : "2026-11-22T10:15:00.000Z",
    rollbackId,
  );
  return {
    ...follow,
    run: { ...run, jobName: "rollback" },
    details: {
      ...follow.details,
      mitigation: {
        rollbackOf: rolloutId,
        badVersion: "1.3.2",
        rolloutId: rollbackId,
        goodVersion: "1.3.1",
        rollbackStatus: mitigated ? "Completed" : "InProgress",
        regions: restored.map((r) => r.region),
        restored: mitigated ? restored : restored.slice(0, 2),
        pending: mitigated ? [] : ["westcentralus", "uksouth"],
        notCovered: [],
        acceptedAt: "2026-11-22T10:08:20.000Z",
        mitigatedAt: mitigated ? "2026-11-22T10:21:30.000Z" : null,
        rollbackSeconds: mitigated ? 790 : null,
        timeToAcceptedSeconds: 8.4,
        timeToMitigatedSeconds: mitigated ? 798.4 : null,
      },
    },
  };
}
