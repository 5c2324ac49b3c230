import assert from "node:assert/strict";
import { startSimulator, type Scenario, type Simulator } from "../../sim/ev2";
import { call, getRollout, SECOND, SERVICE_PATH, startRollout } from "./ev2-http";

/** Two stages of one region each; stage map features are added per test. */
function scenarioWith(stageMapExtra: Record<string, unknown>): Scenario {
  return {
    name: "features",
    startDelaySeconds: 0,
    serviceGroups: [
      {
        name: "Microsoft.Contoso.Orders",
        services: [
          {
            id: "orders-api",
            environments: ["PPE", "Prod"],
            artifactVersions: [{ versionNumber: "1.3.2", registrationDate: "2025-01-01T00:00:00Z" }],
            stageMaps: [
              {
                name: "OrdersStageMap",
                versions: [{ version: "v3", registrationDate: "2025-01-01T00:00:00Z" }],
                stages: [
                  { name: "S1", regions: [{ name: "eastus", durationSeconds: 100 }] },
                  { name: "S2", regions: [{ name: "westus", durationSeconds: 100 }] },
                ],
                ...stageMapExtra,
              },
            ],
          },
        ],
      },
    ],
  };
}

describe("EV2 simulator: scenario features", () => {
  let sim: Simulator;
  afterEach(() => sim?.close());

  it("with no start delay a rollout answers InProgress right away", async () => {
    sim = await startSimulator({ scenario: scenarioWith({}), clockSpeed: 0 });
    const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
      body: {
        stageMapName: "OrdersStageMap",
        stageMapVersion: "v3",
        artifactVersionNumber: "1.3.2",
        environment: "PPE",
      },
      headers: { "idempotency-key": "no-delay" },
    });
    assert.equal(answer.body.status, "InProgress");
  });

  it("a wait action before the first stage holds the rollout from its start", async () => {
    sim = await startSimulator({
      scenario: scenarioWith({ waitActions: [{ actionId: "first-gate", beforeStage: "S1" }] }),
      clockSpeed: 0,
    });
    const id = await startRollout(sim);
    const rollout = await getRollout(sim, id);
    assert.equal(rollout.status, "Waiting");
    assert.equal(rollout.waitActions[0].waitingSince, rollout.createdTimestamp);
  });

  it("a failure's afterSeconds sets when the region fails; the stage fails when its regions are done", async () => {
    sim = await startSimulator({
      scenario: scenarioWith({
        failures: [
          {
            stage: "S1",
            region: "eastus",
            errorCode: "QuotaExceeded",
            message: "no cores",
            restartable: true,
            afterSeconds: 30,
          },
        ],
      }),
      clockSpeed: 0,
    });
    const id = await startRollout(sim);
    sim.clock.advance(30 * SECOND);
    const rollout = await getRollout(sim, id);
    assert.equal(rollout.status, "Failed");
    assert.equal(rollout.stages[0].regions[0].status, "Failed");
    assert.equal(rollout.errors[0].timestamp, rollout.stages[0].endTime);
    assert.equal(Date.parse(rollout.errors[0].timestamp) - Date.parse(rollout.createdTimestamp), 30 * SECOND);
  });

  it("environment overrides replace wait actions and failures and scale durations", async () => {
    sim = await startSimulator({
      scenario: scenarioWith({
        failures: [
          {
            stage: "S2",
            region: "westus",
            errorCode: "ServiceHealthCheckFailed",
            message: "m",
            restartable: false,
          },
        ],
        environments: {
          Prod: {
            durationScale: 3,
            failures: [],
            waitActions: [{ actionId: "prod-gate", beforeStage: "S2" }],
          },
        },
      }),
      clockSpeed: 0,
    });
    const ppe = await startRollout(sim, { environment: "PPE" });
    const prod = await startRollout(sim, { environment: "Prod" });
    sim.clock.advance(200 * SECOND);
    assert.equal((await getRollout(sim, ppe)).status, "Failed");
    const prodRollout = await getRollout(sim, prod);
    assert.equal(prodRollout.status, "InProgress", "S1 takes 300 s in Prod");
    sim.clock.advance(100 * SECOND);
    const gated = await getRollout(sim, prod);
    assert.equal(gated.status, "Waiting");
    assert.equal(gated.waitActions[0].actionId, "prod-gate");
  });

  it("a stage whose regions are all left out is Skipped, its wait action with it", async () => {
    sim = await startSimulator({
      scenario: scenarioWith({ waitActions: [{ actionId: "wait-1", beforeStage: "S2" }] }),
      clockSpeed: 0,
    });
    const id = await startRollout(sim, { exclusionScope: ["regions(westus).steps(*).stamps(*).actions(*)"] });
    sim.clock.advance(100 * SECOND);
    const rollout = await getRollout(sim, id);
    assert.equal(rollout.status, "Completed");
    assert.deepEqual(
      rollout.stages.map((stage: { status: string }) => stage.status),
      ["Completed", "Skipped"],
    );
    assert.deepEqual(rollout.waitActions, []);
    assert.equal(rollout.currentStage, "S1");
  });
});
