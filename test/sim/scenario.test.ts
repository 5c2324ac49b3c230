import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  bundledScenarioNames,
  loadScenario,
  ScenarioError,
  startSimulator,
  type Scenario,
} from "../../sim/ev2";

/** A minimal valid scenario; tests change one thing at a time. */
function minimal(): Scenario {
  return {
    name: "minimal",
    serviceGroups: [
      {
        name: "Microsoft.Contoso.Orders",
        services: [
          {
            id: "orders-api",
            environments: ["PPE", "Prod"],
            artifactVersions: [{ versionNumber: "1.0.0", registrationDate: "2025-01-01T00:00:00Z" }],
            stageMaps: [
              {
                name: "OrdersStageMap",
                versions: [{ version: "v1", registrationDate: "2025-01-01T00:00:00Z" }],
                stages: [
                  { name: "S1", regions: [{ name: "eastus", durationSeconds: 60 }] },
                  { name: "S2", regions: [{ name: "westus", durationSeconds: 60 }] },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

type Edit = (scenario: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
const service = (s: any) => s.serviceGroups[0].services[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
const stageMap = (s: any) => service(s).stageMaps[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
const SERVICE_PATH = "serviceGroups[0].services[0]";
const MAP_PATH = `${SERVICE_PATH}.stageMaps[0]`;

describe("EV2 simulator: scenarios", () => {
  describe("bundled", () => {
    it("ships small, gated, failing-region, transient-failure and large-50x20, all valid", () => {
      assert.deepEqual(bundledScenarioNames(), [
        "failing-region",
        "gated",
        "large-50x20",
        "small",
        "transient-failure",
      ]);
      for (const name of bundledScenarioNames()) assert.equal(loadScenario(name).name, name);
    });

    it("small: a deprecated newest artifact version and stage map version, 3 stages x 2 regions", () => {
      const small = loadScenario("small");
      const orders = small.serviceGroups[0].services[0];
      assert.equal(small.serviceGroups[0].name, "Microsoft.Contoso.Orders");
      assert.equal(orders.id, "orders-api");
      assert.deepEqual(orders.environments, ["PPE", "Prod"]);
      assert.equal(orders.artifactVersions[0].status, "Deprecated");
      assert.equal(orders.artifactVersions.find((v) => v.status === "Active")?.versionNumber, "1.3.2");
      const map = orders.stageMaps[0];
      assert.equal(map.name, "OrdersStageMap");
      assert.equal(map.versions[0].status, "Deprecated");
      assert.equal(map.versions.find((v) => v.status === "Active")?.version, "v3");
      assert.deepEqual(
        map.stages.map((s) => s.regions.length),
        [2, 2, 2],
      );
      assert.ok(orders.history.some((h) => h.outcome === "Completed" && h.artifactVersionNumber === "1.3.1"));
    });

    it("large-50x20 has 50 stages of 20 regions", () => {
      const stages = loadScenario("large-50x20").serviceGroups[0].services[0].stageMaps[0].stages;
      assert.equal(stages.length, 50);
      assert.ok(stages.every((stage) => stage.regions.length === 20));
    });
  });

  describe("loading", () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), "ev2-sim-"));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("loads a scenario from a JSON file path", async () => {
      const file = path.join(dir, "mine.json");
      writeFileSync(file, JSON.stringify(minimal()));
      const sim = await startSimulator({ scenario: file });
      try {
        assert.equal(sim.scenario.name, "minimal");
        assert.equal(sim.scenario.startDelaySeconds, 5, "defaults applied");
      } finally {
        await sim.close();
      }
    });

    it("names the file and the JSON problem for a file that is not JSON", () => {
      const file = path.join(dir, "broken.json");
      writeFileSync(file, "{ nope");
      assert.throws(
        () => loadScenario(file),
        (error: ScenarioError) => {
          assert.ok(error instanceof ScenarioError);
          assert.match(error.message, /broken\.json/);
          assert.match(error.issues[0], /cannot read it as JSON/);
          return true;
        },
      );
    });

    it("says a missing file is missing", () => {
      assert.throws(() => loadScenario(path.join(dir, "absent.json")), /absent\.json:\n {2}- file not found/);
    });

    it("lists the bundled scenarios for an unknown name", () => {
      assert.throws(
        () => loadScenario("tiny"),
        /no bundled scenario of that name; bundled: failing-region, gated/,
      );
    });
  });

  describe("validation errors name the field and the problem", () => {
    const cases: [string, Edit, string][] = [
      ["a missing name", (s) => delete s.name, "name: Invalid input: expected string, received undefined"],
      ["an unknown field", (s) => (s.colour = "blue"), 'Unrecognized key: "colour"'],
      [
        "no service groups",
        (s) => (s.serviceGroups = []),
        "serviceGroups: a scenario needs at least one service group",
      ],
      [
        "a stage without regions",
        (s) => (stageMap(s).stages[0].regions = []),
        `${MAP_PATH}.stages[0].regions: a stage needs at least one region`,
      ],
      [
        "a zero duration",
        (s) => (stageMap(s).stages[0].regions[0].durationSeconds = 0),
        `${MAP_PATH}.stages[0].regions[0].durationSeconds: must be > 0`,
      ],
      [
        "a region name the scope grammar cannot name",
        (s) => (stageMap(s).stages[0].regions[0].name = "east us"),
        `${MAP_PATH}.stages[0].regions[0].name: must match [A-Za-z0-9_-]+`,
      ],
      [
        "a bad registration date",
        (s) => (service(s).artifactVersions[0].registrationDate = "yesterday"),
        `${SERVICE_PATH}.artifactVersions[0].registrationDate: must be an ISO-8601 UTC date-time`,
      ],
      [
        "a bad version status",
        (s) => (service(s).artifactVersions[0].status = "Retired"),
        `${SERVICE_PATH}.artifactVersions[0].status:`,
      ],
      [
        "versions not newest first",
        (s) =>
          service(s).artifactVersions.push({
            versionNumber: "2.0.0",
            registrationDate: "2025-06-01T00:00:00Z",
          }),
        `${SERVICE_PATH}.artifactVersions[1].registrationDate: versions must be listed newest first`,
      ],
      [
        "a duplicate stage name",
        (s) => (stageMap(s).stages[1].name = "S1"),
        `${MAP_PATH}.stages[1]: duplicate stage name "S1"`,
      ],
      [
        "a wait action before an unknown stage",
        (s) => (stageMap(s).waitActions = [{ actionId: "wait-1", beforeStage: "S9" }]),
        `${MAP_PATH}.waitActions[0].beforeStage: no stage "S9" in stage map "OrdersStageMap"`,
      ],
      [
        "a failure in an unknown region",
        (s) =>
          (stageMap(s).failures = [
            { stage: "S1", region: "westus", errorCode: "X", message: "m", restartable: true },
          ]),
        `${MAP_PATH}.failures[0].region: no region "westus" in stage "S1"`,
      ],
      [
        "a failure without restartable",
        (s) => (stageMap(s).failures = [{ stage: "S1", region: "eastus", errorCode: "X", message: "m" }]),
        `${MAP_PATH}.failures[0].restartable:`,
      ],
      [
        "an override for an unknown environment",
        (s) => (stageMap(s).environments = { Test: { durationScale: 2 } }),
        `${MAP_PATH}.environments.Test: environment "Test" is not one of the service's environments (PPE, Prod)`,
      ],
      [
        "history with an unknown artifact version",
        (s) =>
          (service(s).history = [
            { environment: "PPE", artifactVersionNumber: "0.9", ageHours: 5, outcome: "Completed" },
          ]),
        `${SERVICE_PATH}.history[0].artifactVersionNumber: unknown artifact version "0.9"`,
      ],
      [
        "failed history without a failure",
        (s) =>
          (service(s).history = [
            { environment: "PPE", artifactVersionNumber: "1.0.0", ageHours: 5, outcome: "Failed" },
          ]),
        `${SERVICE_PATH}.history[0].failure: outcome "Failed" needs a failure`,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      it(`rejects ${what}`, () => {
        const scenario = minimal();
        edit(scenario);
        assert.throws(
          () => loadScenario(scenario),
          (error: ScenarioError) => {
            assert.ok(error instanceof ScenarioError, String(error));
            assert.ok(
              error.issues.some((issue) => issue.startsWith(expected) || issue.includes(expected)),
              `expected an issue like\n  ${expected}\ngot\n  ${error.issues.join("\n  ")}`,
            );
            assert.match(error.message, /^Invalid EV2 simulator scenario \(object\):\n {2}- /);
            return true;
          },
        );
      });
    }

    it("lists every problem at once", () => {
      const scenario = minimal();
      stageMap(scenario).stages[0].regions = [];
      service(scenario).environments = [];
      assert.throws(
        () => loadScenario(scenario),
        (error: ScenarioError) => error.issues.length === 2,
      );
    });

    it("rejects history that would still be running when the simulator starts", async () => {
      const scenario = minimal();
      service(scenario).history = [
        { environment: "PPE", artifactVersionNumber: "1.0.0", ageHours: 0.01, outcome: "Completed" },
      ];
      await assert.rejects(
        startSimulator({ scenario }),
        /would be InProgress when the simulator starts, not Completed; raise ageHours/,
      );
    });
  });
});
