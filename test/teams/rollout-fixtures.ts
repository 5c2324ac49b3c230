/** Rollouts shaped like the EV2 contract's `GET /rollouts/{id}`, for card tests. */
import type { RolloutView, StageView } from "../../shared/teams/rollout-view";
import type { StressSummaryForCard } from "../../shared/teams/stress-summary";

export const t0 = Date.parse("2025-03-01T10:00:00Z");
export const iso = (offsetSeconds: number) => new Date(t0 + offsetSeconds * 1000).toISOString();

export interface RolloutShape {
  stages?: number;
  regionsPerStage?: number;
  /** Stages fully completed, from the first. */
  completed?: number;
  status?: string;
}

/** Stage i runs from i*600 s to i*600+540 s after t0; regions one after another inside it. */
export function makeRollout(shape: RolloutShape = {}): RolloutView {
  const stageCount = shape.stages ?? 4;
  const regionCount = shape.regionsPerStage ?? 3;
  const completed = shape.completed ?? 0;
  const stages: StageView[] = [];
  for (let i = 0; i < stageCount; i++) {
    const done = i < completed;
    const running = i === completed && shape.status === "InProgress";
    stages.push({
      name: `Stage${i + 1}-Ring${i}`,
      status: done ? "Completed" : running ? "InProgress" : "Pending",
      startTime: done || running ? iso(i * 600) : null,
      endTime: done ? iso(i * 600 + 540) : null,
      regions: Array.from({ length: regionCount }, (_, r) => ({
        name: `region-${i + 1}-${r + 1}`,
        status: done ? "Completed" : running && r === 0 ? "InProgress" : "Pending",
        startTime: done || (running && r === 0) ? iso(i * 600 + r * 10) : null,
        endTime: done ? iso(i * 600 + r * 10 + 100) : null,
      })),
    });
  }
  const status =
    shape.status ?? (completed === stageCount ? "Completed" : completed > 0 ? "InProgress" : "NotStarted");
  const current = stages.find((s) => s.status !== "Completed");
  return {
    rolloutId: "3f2b1c9e-0d4a-4b8e-9a51-7c6d2e8f1a00",
    serviceGroupName: "Microsoft.Contoso.Orders",
    serviceId: "orders-api",
    environment: "PPE",
    artifactVersionNumber: "1.2.3",
    stageMapName: "AppStageMap",
    stageMapVersion: "v2",
    status,
    currentStage: status === "Completed" ? null : (current?.name ?? null),
    stages,
    waitActions: [],
    errors: [],
    createdTimestamp: iso(0),
    lastUpdateTime: iso(Math.max(1, completed) * 600),
    dashboardUrl: "https://ev2.example.com/rollouts/3f2b1c9e-0d4a-4b8e-9a51-7c6d2e8f1a00",
  };
}

/** Failed in stage `at` (0-based), its second region, with `ServiceHealthCheckFailed`. */
export function failedRollout(shape: RolloutShape & { at?: number } = {}): RolloutView {
  const at = shape.at ?? 1;
  const rollout = makeRollout({ ...shape, completed: at, status: "Failed" });
  const stage = rollout.stages[at];
  stage.status = "Failed";
  stage.startTime = iso(at * 600);
  stage.endTime = iso(at * 600 + 300);
  stage.regions.forEach((region, r) => {
    region.status = r === 0 ? "Completed" : r === 1 ? "Failed" : "Cancelled";
    region.startTime = r <= 1 ? iso(at * 600 + r * 10) : null;
    region.endTime = r <= 1 ? iso(at * 600 + 300) : null;
  });
  rollout.currentStage = stage.name;
  rollout.lastUpdateTime = iso(at * 600 + 300);
  rollout.errors = [
    {
      stage: stage.name,
      region: stage.regions[1]?.name ?? null,
      timestamp: iso(at * 600 + 300),
      errorCode: "ServiceHealthCheckFailed",
      message:
        "Health check https://orders.example.com/health returned 503 for 5 minutes after the deployment.",
    },
  ];
  return rollout;
}

/** Waiting on `wait-1` before stage `at` (0-based). */
export function waitingRollout(shape: RolloutShape & { at?: number } = {}): RolloutView {
  const at = shape.at ?? 2;
  const rollout = makeRollout({ ...shape, completed: at, status: "Waiting" });
  rollout.stages[at].status = "Waiting";
  rollout.waitActions = [
    {
      actionId: "wait-1",
      stage: rollout.stages[at].name,
      reason: "ManualApproval",
      status: "Waiting",
      waitingSince: iso(at * 600),
    },
  ];
  return rollout;
}

/** Cancelled because an approver rejected `wait-1` before stage `at`. */
export function rejectedRollout(): RolloutView {
  const rollout = waitingRollout({ at: 2 });
  const stage = rollout.stages[2];
  rollout.status = "Cancelled";
  stage.status = "Cancelled";
  rollout.waitActions = [
    {
      actionId: "wait-1",
      stage: stage.name,
      reason: "ManualApproval",
      status: "Rejected",
      waitingSince: iso(1200),
      decidedBy: "release.manager@contoso.com",
      decidedAt: iso(1500),
      comment: "Error budget exhausted in westus, hold the release.",
    },
  ];
  rollout.errors = [
    {
      stage: stage.name,
      timestamp: iso(1500),
      errorCode: "RejectedAtWaitAction",
      message: "Rejected by release.manager@contoso.com",
    },
  ];
  rollout.lastUpdateTime = iso(1500);
  return rollout;
}

export function stressSummary(passed = true): StressSummaryForCard {
  return {
    passed,
    stageName: "Stage2-Ring1",
    durationSeconds: 30,
    endpoints: [
      {
        name: "GET /eastus/api/orders",
        p50Ms: 12.4,
        p95Ms: 48,
        p99Ms: 91.7,
        errorRate: passed ? 0 : 7.5,
        rps: 241.3,
      },
      {
        url: "https://orders.example.com/westus/api/orders",
        p50Ms: 3.2,
        p95Ms: 9.9,
        p99Ms: 15,
        errorRate: 0.4,
        rps: 118,
      },
    ],
    thresholds: [
      { expression: "p95 < 500ms", passed: true, observed: "48 ms" },
      { expression: "error_rate < 5%", passed, observed: passed ? "0%" : "7.50%" },
    ],
  };
}
