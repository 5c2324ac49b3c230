import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineFileError, readPipeline, runOrder } from "../../pipeline/pipeline-file";

describe("reading a pipeline file", () => {
  it("a file with only steps is one job in one stage, named as Azure Pipelines names them", () => {
    const p = readPipeline(
      "steps:\n  - task: TriggerEv2Rollout@1\n    inputs:\n      serviceId: orders-api\n",
    );
    assert.deepEqual(
      p.stages.map((s) => [s.name, s.jobs.map((j) => j.name)]),
      [["__default", ["Job"]]],
    );
    const step = p.stages[0].jobs[0].steps[0];
    assert.equal(step.kind, "task");
    assert.deepEqual(step.kind === "task" && step.inputs, { serviceId: "orders-api" });
  });

  it("a file with only jobs is one stage; jobs depend on nothing unless they say so", () => {
    const p = readPipeline("jobs:\n  - job: a\n    steps: []\n  - job: b\n    dependsOn: a\n    steps: []\n");
    assert.equal(p.stages[0].name, "__default");
    assert.deepEqual(
      p.stages[0].jobs.map((j) => j.dependsOn),
      [[], ["a"]],
    );
  });

  it("stages depend on the previous stage by default; dependsOn: [] starts one at once", () => {
    const p = readPipeline(
      "stages:\n- stage: A\n  jobs: []\n- stage: B\n  jobs: []\n- stage: C\n  dependsOn: []\n  jobs: []\n- stage: D\n  dependsOn: [A, C]\n  jobs: []\n",
    );
    assert.deepEqual(
      p.stages.map((s) => s.dependsOn),
      [[], ["A"], [], ["A", "C"]],
    );
  });

  it("variables as a map and as a list (name/value, group, template) at every level", () => {
    const p = readPipeline(`
variables:
  a: 1
  flag: true
stages:
- stage: S
  variables:
  - name: b
    value: two
  - group: orders-secrets
  - template: vars.yml
  jobs:
  - job: j
    variables:
      c: $[ dependencies.x.outputs['y.z'] ]
    steps: []
`);
    assert.deepEqual(p.variables, [
      { name: "a", value: "1" },
      { name: "flag", value: "true" },
    ]);
    assert.deepEqual(p.stages[0].variables, [{ name: "b", value: "two" }]);
    assert.deepEqual(p.stages[0].jobs[0].variables, [
      { name: "c", value: "$[ dependencies.x.outputs['y.z'] ]" },
    ]);
    assert.deepEqual(
      p.notices.map((n) => n.message),
      [
        "variable group 'orders-secrets' is not available locally: give its values with --var name=value (or --secret name for secrets).",
        "variable template 'vars.yml' is not expanded locally: give its values with --var.",
      ],
    );
  });

  it("marks what it cannot run instead of dropping it; checkout: none is no step at all", () => {
    const p = readPipeline(`
jobs:
- job: j
  steps:
  - checkout: none
  - script: echo hi
  - bash: ./deploy.sh
  - pwsh: Write-Host hi
  - checkout: self
  - template: steps.yml
  - task: TriggerEv2Rollout@1
  - deployment: nonsense
- job: m
  strategy:
    matrix:
      a: { x: 1 }
  steps: []
- deployment: d
  environment: orders-ppe
  strategy:
    rolling:
      maxParallel: 2
- template: jobs.yml
`);
    const [j, m, d, t] = p.stages[0].jobs;
    assert.deepEqual(
      j.steps.map((s) => (s.kind === "task" ? `${s.index} task ${s.task}` : `${s.index} ${s.label}`)),
      [
        "1 script: echo hi",
        "2 bash: ./deploy.sh",
        "3 pwsh: Write-Host hi",
        "4 checkout: self",
        "5 template: steps.yml",
        "6 task TriggerEv2Rollout@1",
        "7 { deployment }",
      ],
    );
    assert.match(m.unsupported!, /matrix and parallel strategies are not supported/);
    assert.match(d.unsupported!, /deployment strategy 'rolling' is not supported locally \(only runOnce\)/);
    assert.match(t.unsupported!, /job templates are not expanded/);
    assert.equal(d.environment, "orders-ppe");
  });

  it("a runOnce deployment job runs its lifecycle steps in order, with on: failure/success hooks", () => {
    const p = readPipeline(`
jobs:
- deployment: deploy
  environment: { name: orders-ppe }
  strategy:
    runOnce:
      preDeploy: { steps: [ { task: A@1 } ] }
      deploy: { steps: [ { task: B@1 } ] }
      on:
        failure: { steps: [ { task: C@1 } ] }
        success: { steps: [ { task: D@1 } ] }
`);
    const job = p.stages[0].jobs[0];
    assert.equal(job.kind, "deployment");
    assert.deepEqual(
      job.steps.map((s) => `${s.kind === "task" ? s.task : ""} ${s.hook ?? "-"}`),
      ["A@1 -", "B@1 -", "C@1 onFailure", "D@1 onSuccess"],
    );
  });

  it("expands ${{ parameters.x }} and ${{ variables.x }}, with --param overrides checked against values", () => {
    const text = `
parameters:
- name: environment
  type: string
  default: PPE
  values: [PPE, Prod]
- name: createBranch
  type: boolean
  default: false
variables:
  service: orders-api
steps:
- task: TriggerEv2Rollout@1
  displayName: Roll out \${{ variables.service }} to \${{ parameters.environment }}
  inputs:
    environment: \${{ parameters.environment }}
    createTrackingBranch: \${{ parameters.createBranch }}
    note: \${{ format('{0}-{1}', lower(parameters.environment), variables.service) }}
`;
    const step = (params?: Record<string, string>) => {
      const s = readPipeline(text, { parameters: params }).stages[0].jobs[0].steps[0];
      assert.equal(s.kind, "task");
      return s;
    };
    assert.equal(step().displayName, "Roll out orders-api to PPE");
    const prod = step({ environment: "Prod", createBranch: "true" });
    assert.deepEqual(prod.kind === "task" && prod.inputs, {
      environment: "Prod",
      createTrackingBranch: "True",
      note: "prod-orders-api",
    });
    assert.throws(
      () => step({ environment: "Dev" }),
      /Parameter 'environment' must be one of PPE, Prod \(got 'Dev'\)/,
    );
    assert.throws(() => step({ createBranch: "maybe" }), /Parameter 'createBranch' is a boolean/);
    assert.throws(
      () => step({ region: "x" }),
      /--param region: the pipeline has no such parameter \(it has: environment, createBranch\)/,
    );
  });

  const errors: Array<[string, string, RegExp]> = [
    ["not YAML", "steps: [", /not valid YAML/],
    ["a duplicate key", "steps: []\nsteps: []\n", /Map keys must be unique/],
    ["nothing to run", "trigger: none\n", /no stages, jobs or steps/],
    ["extends", "extends:\n  template: x.yml\n", /'extends' templates are not supported/],
    [
      "a bad stage name",
      "stages:\n- stage: Deploy-PPE\n  jobs: []\n",
      /'Deploy-PPE' is not a valid stage name/,
    ],
    ["a bad step name", "steps:\n- task: A@1\n  name: my-step\n", /'my-step' is not a valid step name/],
    [
      "two steps with one name",
      "steps:\n- task: A@1\n  name: x\n- task: B@1\n  name: X\n",
      /two steps are named 'X'/,
    ],
    [
      "an unknown dependency",
      "jobs:\n- job: a\n  dependsOn: b\n  steps: []\n",
      /job in stage __default: a depends on 'b', which does not exist/,
    ],
    [
      "a cycle",
      "stages:\n- stage: A\n  dependsOn: B\n  jobs: []\n- stage: B\n  jobs: []\n",
      /dependsOn forms a cycle: A → B → A/,
    ],
    [
      "a conditional insertion",
      "steps:\n- ${{ if eq(1, 1) }}:\n  - task: A@1\n",
      /conditional or loop template expressions .* are not supported/,
    ],
    [
      "a bad template expression",
      "steps:\n- task: A@1\n  displayName: ${{ pipeline.name }}\n",
      /steps\[0\]\.displayName: .*Unrecognized value: 'pipeline'/,
    ],
    [
      "a non-boolean continueOnError",
      "steps:\n- task: A@1\n  continueOnError: sometimes\n",
      /continueOnError: expected true or false, got 'sometimes'/,
    ],
  ];
  for (const [what, text, message] of errors) {
    it(`refuses ${what} with a message naming the place`, () => {
      assert.throws(
        () => readPipeline(text),
        (err: Error) => err instanceof PipelineFileError && message.test(err.message),
      );
    });
  }

  it("runs dependencies first, otherwise in file order", () => {
    const order = runOrder([
      { name: "c", dependsOn: ["b"] },
      { name: "a", dependsOn: [] },
      { name: "b", dependsOn: ["a"] },
      { name: "d", dependsOn: [] },
    ]);
    assert.deepEqual(
      order.map((n) => n.name),
      ["a", "b", "c", "d"],
    );
  });

  it("reads the example pipeline users copy", () => {
    const p = readPipeline(
      readFileSync(join(__dirname, "..", "..", "examples", "azure-pipelines.yml"), "utf8"),
    );
    assert.deepEqual(
      p.stages.map(
        (s) =>
          `${s.name}: ${s.jobs.map((j) => `${j.name}(${j.steps.map((st) => st.name).join(",")})`).join(" ")}`,
      ),
      [
        "Rollout_PPE: rollout(trigger,toGate,stress,gate,notifyWaiting)",
        "Broad: broad(approve,toEnd,notify)",
        "Reject_Broad: reject(gate)",
        "Roll_back: rollback(rollback,,notify,notifyFailure)",
      ],
    );
    assert.equal(p.notices.length, 0);
  });
});
