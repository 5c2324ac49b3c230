import assert from "node:assert/strict";
import { readPipeline } from "../../pipeline/pipeline-file";
import { ev2NamesOf, scenarioForPipeline, serviceVariablesOf } from "../../pipeline/pipeline-world";

const pipeline = readPipeline(`
variables:
  group: Fabrikam.Payments
  baseUrl: https://payments.fabrikam.com
stages:
- stage: Deploy
  jobs:
  - job: deploy
    variables:
      rid: $[ stageDependencies.X.y.outputs['z'] ]
    steps:
    - task: TriggerEv2Rollout@1
      inputs: { serviceGroupName: $(group), serviceId: payments-api, stageMapName: PaymentsRollout, environment: $(env) }
    - task: StressTestStage@1
      inputs:
        endpoints: |
          $(baseUrl)/{region}/api/orders
          POST $(baseUrl)/{region}/api/orders
    - task: TeamsNotify@1
      inputs: { webhookUrl: $(channelHook) }
`);

describe("pipeline-world: what a pipeline names, for the simulator", () => {
  it("reads the EV2 names of every trigger step, variables expanded (queue-time ones win)", () => {
    assert.deepEqual(ev2NamesOf(pipeline), [], "an environment that is not known before the run is left out");
    assert.deepEqual(ev2NamesOf(pipeline, { env: "Staging" }), [
      {
        serviceGroupName: "Fabrikam.Payments",
        serviceId: "payments-api",
        stageMapName: "PaymentsRollout",
        environment: "Staging",
      },
    ]);
  });

  it("registers the pipeline's names as a copy of the scenario's first service, history and all", () => {
    const names = ev2NamesOf(pipeline, { env: "Staging" });
    const scenario = scenarioForPipeline("gated", names);
    const group = scenario.serviceGroups.find((g) => g.name === "Fabrikam.Payments");
    const service = group?.services[0];
    assert.equal(service?.id, "payments-api");
    assert.ok(service?.environments.includes("Staging"));
    assert.equal(service?.stageMaps[0].name, "PaymentsRollout");
    assert.equal(
      service?.stageMaps[0].waitActions.length,
      1,
      "the scenario's wait action before the last stage",
    );
    const staging = service?.history.filter((h) => h.environment === "Staging") ?? [];
    assert.ok(
      staging.some((h) => h.outcome === "Completed"),
      "a last good version to roll back to",
    );
    assert.ok(staging.every((h) => h.rolloutId === undefined && h.stageMapName === "PaymentsRollout"));
    // The scenario's own service stays as it was.
    assert.ok(scenario.serviceGroups.some((g) => g.name === "Microsoft.Contoso.Orders"));
  });

  it("finds the variables the stress endpoints start with and the webhook variables", () => {
    assert.deepEqual(serviceVariablesOf(pipeline), { webhooks: ["channelHook"], baseUrls: ["baseUrl"] });
  });
});
