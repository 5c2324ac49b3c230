import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { devTaskId } from "../../../scripts/derived-guid.mjs";
import {
  looksLikeReleaseDefinition,
  readReleaseDefinition,
} from "../../../pipeline/classic/release-definition";
import { releasePipeline, type ReleaseIdentity } from "../../../pipeline/classic/release-pipeline";
import { evaluateCondition, type RunResult } from "../../../pipeline/expressions";
import { PipelineFileError, type TaskStepDefinition } from "../../../pipeline/pipeline-file";
import { TaskCatalog } from "../../../pipeline/task-catalog";

const root = join(__dirname, "..", "..", "..");
const example = readFileSync(join(root, "examples", "classic-release.json"), "utf8");
// The source manifests are enough to know the tasks by id (nothing is run here).
const catalog = TaskCatalog.load(join(root, "tasks"));
const taskId = (name: string) =>
  (JSON.parse(readFileSync(join(root, "tasks", name, "task.json"), "utf8")) as { id: string }).id;
const identity: ReleaseIdentity = {
  releaseId: 77,
  releaseName: "Release-77",
  definitionId: 14,
  definitionName: "orders",
  requestedFor: "Ana Dev",
  requestedForId: "ana",
  attempt: 1,
};

/** A one-environment definition with the given parts, as JSON text. */
function definition(parts: { environments?: unknown[]; variables?: unknown } = {}): string {
  return JSON.stringify({
    id: 3,
    name: "r",
    variables: parts.variables ?? {},
    environments: parts.environments ?? [
      environment("E1", 1, [{ name: "ReleaseStarted", conditionType: 1 }]),
    ],
  });
}

function environment(name: string, rank: number, conditions: unknown[], tasks: unknown[] = [], extra = {}) {
  return {
    id: rank,
    name,
    rank,
    conditions,
    deployPhases: [{ name: "Agent job", rank: 1, phaseType: 1, workflowTasks: tasks }],
    ...extra,
  };
}

function task(id: string, extra: Record<string, unknown> = {}) {
  return { taskId: id, version: "1.*", name: "t", enabled: true, inputs: {}, ...extra };
}

describe("classic release definition: reading the export", () => {
  it("reads the example: environments by rank, triggers, approvals, gates, phases and tasks", () => {
    assert.ok(looksLikeReleaseDefinition(example));
    assert.ok(!looksLikeReleaseDefinition("stages: []"));
    const r = readReleaseDefinition(example);
    assert.equal(r.name, "orders-api EV2 rollout");
    assert.deepEqual(
      r.environments.map((e) => [e.name, e.rank, e.conditions]),
      [
        ["Canary", 1, [{ kind: "releaseStarted" }]],
        ["Broad", 2, [{ kind: "environmentState", environment: "Canary", states: 4 }]],
      ],
    );
    const [canary, broad] = r.environments;
    assert.equal(canary.preApprovals.automated, true);
    assert.equal(broad.preApprovals.automated, false);
    assert.deepEqual(broad.preApprovals.approvers, [
      {
        displayName: "Sam Lead",
        uniqueName: "sam.lead@contoso.com",
        id: "2f6a0c1e-7b1d-4c55-9a0e-1d2c3b4a5f60",
        isGroup: false,
      },
    ]);
    assert.equal(broad.postApprovals.order, "afterSuccessfulGates");
    assert.equal(canary.postGates.enabled, false);
    assert.deepEqual(
      { ...broad.postGates, tasks: broad.postGates.tasks.map((t) => [t.taskId, t.inputs.rolloutId]) },
      {
        enabled: true,
        timeoutMinutes: 120,
        samplingIntervalMinutes: 5,
        stabilizationMinutes: 5,
        minimumSuccessMinutes: 0,
        tasks: [[taskId("Ev2RolloutGate"), ""]],
      },
    );
    assert.deepEqual(
      canary.phases[0].tasks.map((t) => [t.taskId, t.refName, t.version]),
      [
        [taskId("TriggerEv2Rollout"), "trigger", "1.*"],
        [taskId("FollowRollout"), "follow", "1.*"],
      ],
    );
  });

  it("reads an export saved with a byte order mark", () => {
    assert.ok(looksLikeReleaseDefinition(`\uFEFF${example}`));
    assert.equal(readReleaseDefinition(`\uFEFF${example}`).environments.length, 2);
  });

  it("accepts enums by name as well as by number", () => {
    const r = readReleaseDefinition(
      definition({
        environments: [
          environment("A", 1, [{ name: "ReleaseStarted", conditionType: "event" }]),
          environment("B", 2, [{ name: "A", conditionType: "environmentState", value: "132" }], [], {
            deployPhases: [{ name: "x", rank: 1, phaseType: "runOnServer", workflowTasks: [] }],
            postDeployApprovals: { approvals: [], approvalOptions: { executionOrder: "beforeGates" } },
          }),
        ],
      }),
    );
    assert.deepEqual(r.environments[1].conditions, [
      { kind: "environmentState", environment: "A", states: 132 },
    ]);
    assert.equal(r.environments[1].phases[0].kind, "agentless");
    assert.equal(r.environments[1].postApprovals.order, "beforeGates");
  });

  const bad: Array<[string, string, RegExp]> = [
    ["not JSON", "{", /not JSON/],
    ["no environments", JSON.stringify({ name: "r" }), /`environments` array/],
    ["an empty release", JSON.stringify({ environments: [] }), /has no environment/],
    [
      "a condition on an unknown environment",
      definition({ environments: [environment("A", 1, [{ name: "Nope", conditionType: 2, value: "4" }])] }),
      /environment 'A': its condition names environment 'Nope'/,
    ],
    [
      "a status that is not EnvironmentStatus bits",
      definition({
        environments: [
          environment("A", 1, [{ name: "ReleaseStarted", conditionType: 1 }]),
          environment("B", 2, [{ name: "A", conditionType: 2, value: "succeeded" }]),
        ],
      }),
      /conditions\[0\]\.value must be EnvironmentStatus bits such as "4"/,
    ],
    [
      "an unknown condition type",
      definition({ environments: [environment("A", 1, [{ name: "x", conditionType: 3 }])] }),
      /conditionType 3, which is not defined/,
    ],
    [
      "a task id that is not a GUID",
      definition({
        environments: [
          environment("A", 1, [{ name: "ReleaseStarted", conditionType: 1 }], [task("Trigger")]),
        ],
      }),
      /workflowTasks\[0\]\.taskId: expected the task's GUID/,
    ],
    [
      "two environments with one name",
      definition({ environments: [environment("A", 1, []), environment("a", 2, [])] }),
      /two environments are named 'a'/,
    ],
    [
      "a manual approval without an approver",
      definition({
        environments: [
          environment("A", 1, [], [], { preDeployApprovals: { approvals: [{ isAutomated: false }] } }),
        ],
      }),
      /preDeployApprovals\.approvals\[0\]: a manual approval \(isAutomated false\) names its approver/,
    ],
    [
      "gates sampled every 0 minutes",
      definition({
        environments: [
          environment("A", 1, [], [], {
            postDeploymentGates: {
              gatesOptions: { isEnabled: true, samplingInterval: 0 },
              gates: [{ tasks: [task(taskId("Ev2RolloutGate"))] }],
            },
          }),
        ],
      }),
      /postDeploymentGates\.gatesOptions\.samplingInterval: must be at least 1 minute/,
    ],
    [
      "a version that is not one",
      definition({
        environments: [environment("A", 1, [], [task(taskId("FollowRollout"), { version: "latest" })])],
      }),
      /version: expected a version such as 1\.\* or 1\.2\.0, got 'latest'/,
    ],
  ];
  for (const [what, text, message] of bad)
    it(`refuses ${what}, naming the field`, () => {
      assert.throws(
        () => readReleaseDefinition(text),
        (err: Error) => err instanceof PipelineFileError && message.test(err.message),
      );
    });
});

describe("classic release definition: as the runner's stages", () => {
  const play = (text: string) => releasePipeline(readReleaseDefinition(text), identity, catalog);

  it("makes each environment a stage with the Release variables, each workflow task a step of its task", () => {
    const { definition: d } = play(example);
    assert.deepEqual(
      d.stages.map((s) => [s.name, s.dependsOn, s.condition]),
      [
        ["Canary", [], undefined],
        ["Broad", ["Canary"], "in(dependencies['Canary'].result, 'Succeeded')"],
      ],
    );
    const vars = (list: { name: string; value: string }[]) =>
      Object.fromEntries(list.map((v) => [v.name, v.value]));
    assert.deepEqual(vars(d.stages[1].variables), {
      "Release.EnvironmentName": "Broad",
      "Release.EnvironmentId": "7702",
      "Release.DefinitionEnvironmentId": "2",
      "Release.DeploymentId": "1000007702",
      "Release.AttemptNumber": "1",
      "Release.Deployment.RequestedFor": "Ana Dev",
      "Release.Deployment.RequestedForId": "ana",
    });
    const release = vars(d.variables);
    assert.equal(release["Release.ReleaseId"], "77");
    assert.equal(release["Release.ReleaseName"], "Release-77");
    assert.equal(release["Release.DefinitionName"], "orders");
    assert.equal(release["System.HostType"], "release");
    assert.equal(release.serviceId, "orders-api");
    const steps = d.stages[1].jobs[0].steps as TaskStepDefinition[];
    assert.equal(steps[2].condition, "and(failed(), ne(variables['follow.verdictAt'], ''))");
    assert.deepEqual(
      steps.map((s) => [s.task, s.name, s.displayName, s.inputs.rolloutId]),
      [
        ["GateApproval@1", "approve", "Approve the broad gate in EV2", ""],
        ["FollowRollout@1", "follow", "Follow the rollout to completion", ""],
        ["TriggerEv2Rollout@1", "rollback", "Roll back to the last good version", undefined],
      ],
    );
  });

  it("knows the dev package's task ids, and lists a task of another extension as not runnable", () => {
    const { definition: d } = play(
      definition({
        environments: [
          environment(
            "A",
            1,
            [{ name: "ReleaseStarted", conditionType: 1 }],
            [task(devTaskId(taskId("TriggerEv2Rollout"))), task("e213ff0f-5d5c-4791-802d-52ea3e7be1f1")],
          ),
        ],
      }),
    );
    const [dev, other] = d.stages[0].jobs[0].steps;
    assert.equal(dev.kind === "task" && dev.task, "TriggerEv2Rollout@1");
    assert.equal(other.kind, "unsupported");
    assert.match(
      other.kind === "unsupported" ? other.reason : "",
      /task e213ff0f-.* is not one of this extension's tasks/,
    );
  });

  it("takes a task's condition, else alwaysRun, and keeps enabled and continueOnError", () => {
    const id = taskId("FollowRollout");
    const { definition: d } = play(
      definition({
        environments: [
          environment(
            "A",
            1,
            [{ name: "ReleaseStarted", conditionType: 1 }],
            [
              task(id, { condition: "failed()", alwaysRun: true }),
              task(id, { alwaysRun: true }),
              task(id, { enabled: false, continueOnError: true, condition: "" }),
            ],
          ),
        ],
      }),
    );
    const steps = d.stages[0].jobs[0].steps as TaskStepDefinition[];
    assert.deepEqual(
      steps.map((s) => [s.condition, s.enabled, s.continueOnError]),
      [
        ["failed()", true, false],
        ["succeededOrFailed()", true, false],
        [undefined, false, true],
      ],
    );
  });

  it("says what it cannot play: a manual-only environment, an agentless phase, a secret without a value", () => {
    const { definition: d, secrets } = play(
      definition({
        variables: { token: { value: null, isSecret: true }, given: { value: "s3cret", isSecret: true } },
        environments: [
          environment("A", 1, [{ name: "ReleaseStarted", conditionType: 1 }], [], {
            deployPhases: [{ name: "Server", rank: 1, phaseType: 2, workflowTasks: [] }],
          }),
          environment("Manual", 2, []),
        ],
      }),
    );
    assert.match(d.stages[0].jobs[0].unsupported ?? "", /agentless phase/);
    assert.match(d.stages[1].unsupported ?? "", /no trigger/);
    assert.deepEqual(secrets, { given: "s3cret" });
    assert.deepEqual(
      d.notices.map((n) => n.message),
      [
        "secret variable token has no value in the file (an export never has one): give it with --secret token",
      ],
    );
  });

  it("deploys an environment without a trigger only when told to (--deploy), and refuses an unknown one", () => {
    const text = definition({ environments: [environment("Hotfix", 1, [])] });
    const release = readReleaseDefinition(text);
    assert.match(
      releasePipeline(release, identity, catalog).definition.stages[0].unsupported ?? "",
      /no trigger .* \(here: --deploy 'Hotfix'\)$/,
    );
    assert.equal(
      releasePipeline(release, identity, catalog, ["hotfix"]).definition.stages[0].unsupported,
      undefined,
    );
    assert.throws(
      () => releasePipeline(release, identity, catalog, ["Prod"]),
      /--deploy Prod: the release has no such environment \(Hotfix\)\./,
    );
  });

  it("gives process parameters as $(Parameters.<name>), as the release editor links them", () => {
    const { definition: d } = play(
      definition({
        environments: [
          environment("A", 1, [{ name: "ReleaseStarted", conditionType: 1, value: "", result: null }], [], {
            processParameters: {
              inputs: [
                { name: "serviceId", label: "Service", defaultValue: "orders-api", type: "string" },
                { name: "ring", defaultValue: 2, type: "string" },
              ],
            },
          }),
        ],
      }),
    );
    const vars = Object.fromEntries(d.stages[0].variables.map((v) => [v.name, v.value]));
    assert.equal(vars["Parameters.serviceId"], "orders-api");
    assert.equal(vars["Parameters.ring"], "2");
  });

  it("lets an agent phase after an agentless one run, names the artifacts' variables and lists variable groups", () => {
    const text = JSON.stringify({
      ...JSON.parse(definition()),
      variableGroups: [12],
      artifacts: [{ alias: "_orders-ci", type: "Build", isPrimary: true }],
      environments: [
        environment("A", 1, [{ name: "ReleaseStarted", conditionType: 1 }], [], {
          variableGroups: [12, 13],
          deployPhases: [
            { name: "Wait", rank: 1, phaseType: 2, workflowTasks: [] },
            {
              name: "Deploy",
              rank: 2,
              phaseType: 1,
              deploymentInput: { parallelExecution: { parallelExecutionType: 2, maxNumberOfAgents: 3 } },
              workflowTasks: [],
            },
          ],
        }),
      ],
    });
    const { definition: d } = play(text);
    assert.deepEqual(
      d.stages[0].jobs.map((j) => [j.name, j.dependsOn, Boolean(j.unsupported)]),
      [
        ["Wait", [], true],
        ["Deploy", [], false],
      ],
    );
    const vars = Object.fromEntries(d.variables.map((v) => [v.name, v.value]));
    assert.equal(vars["Release.Artifacts._orders-ci.BuildId"], "$(Build.BuildId)");
    assert.equal(vars["Release.PrimaryArtifactSourceAlias"], "_orders-ci");
    assert.deepEqual(
      d.notices.map((n) => `${n.where}: ${n.message}`),
      [
        "environment A / Deploy: a multi-configuration or multi-agent phase runs once here, on one agent",
        ...[12, 13].map(
          (id) =>
            `variable groups: variable group ${id} is not available locally: give the variables it holds with --var (or --secret)`,
        ),
      ],
    );
  });

  // EnvironmentStatus bits: 4 succeeded, 128 partially succeeded, 8 canceled, 16 rejected.
  const states: Array<[string, RunResult, boolean]> = [
    ["4", "Succeeded", true],
    ["4", "SucceededWithIssues", false],
    ["132", "SucceededWithIssues", true],
    ["4", "Failed", false],
    ["16", "Failed", true],
    ["4", "Skipped", false],
  ];
  for (const [value, result, runs] of states)
    it(`an environmentState condition "${value}" ${runs ? "runs" : "does not run"} after ${result}`, () => {
      const { definition: d } = play(
        definition({
          environments: [
            environment("Ring 0", 1, [{ name: "ReleaseStarted", conditionType: 1 }]),
            environment("Ring 1", 2, [{ name: "Ring 0", conditionType: 2, value }]),
          ],
        }),
      );
      const condition = d.stages[1].condition!;
      const verdict = evaluateCondition(condition, {
        values: { dependencies: { "Ring 0": { result, outputs: {} } } },
        status: { kind: "dependencies", results: { "Ring 0": result }, canceled: false },
      });
      assert.equal(verdict, runs, condition);
    });
});
