/**
 * How a classic release runs its tasks and environments, played with the runner's small Echo
 * task (a real bundle in its own process): refName outputs within a phase only, conditions,
 * alwaysRun, continueOnError, enabled, Release variables, environment triggers and approvals.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runRelease, type ReleaseApprovalRequest } from "../../../pipeline/classic/release-player";
import { fakeTasksDirectory, recorder } from "../fake-tasks";

const echo = "6d1e4f55-0000-4000-8000-00000000e001";

function step(refName: string, inputs: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    taskId: echo,
    version: "1.*",
    name: refName,
    refName,
    enabled: true,
    condition: "",
    inputs,
    ...extra,
  };
}

function environment(name: string, rank: number, conditions: unknown[], tasks: unknown[], extra = {}) {
  return {
    id: rank,
    name,
    rank,
    conditions,
    deployPhases: [{ name: "Agent job", rank: 1, phaseType: 1, workflowTasks: tasks }],
    ...extra,
  };
}

const humanApproval = {
  approvals: [{ isAutomated: false, approver: { displayName: "Kim Ops", uniqueName: "kim@contoso.com" } }],
};

const release = {
  id: 9,
  name: "conditions",
  variables: { greeting: { value: "hello" } },
  environments: [
    environment(
      "First",
      1,
      [{ name: "ReleaseStarted", conditionType: 1, value: "" }],
      [
        step("make", {
          outputs: "color=blue",
          show: "Release.EnvironmentName,Release.ReleaseId,Release.ReleaseName,Release.DefinitionName,Release.AttemptNumber,System.HostType,greeting",
        }),
        step("use", { message: "color is $(make.color)" }),
        step("breaks", { result: "Failed", message: "broken on purpose" }, { continueOnError: true }),
        step("onlyIfFailed", { message: "ran" }, { condition: "failed()" }),
        step("always", { message: "ran anyway" }, { alwaysRun: true }),
        step("off", { message: "never" }, { enabled: false }),
      ],
    ),
    // First only partially succeeded (continueOnError): "4" does not start Strict, "132" starts Lenient.
    environment("Strict", 2, [{ name: "First", conditionType: 2, value: "4" }], [step("s", {})]),
    environment(
      "Lenient",
      3,
      [{ name: "First", conditionType: 2, value: "132" }],
      [step("crossing", { message: "color is $(make.color)" })],
    ),
    environment("Guarded", 4, [{ name: "Lenient", conditionType: 2, value: "4" }], [step("g", {})], {
      preDeployApprovals: humanApproval,
    }),
    environment("AfterGuarded", 5, [{ name: "Guarded", conditionType: 2, value: "4" }], [step("a", {})]),
  ],
};

describe("classic release: conditions, outputs and approvals", function () {
  this.timeout(30_000);

  it("plays tasks and environments as Azure DevOps does", async () => {
    const asked: ReleaseApprovalRequest[] = [];
    const rec = recorder();
    const result = await runRelease({
      file: "conditions.json",
      text: JSON.stringify(release),
      outputDirectory: join(mkdtempSync(join(tmpdir(), "classic-conditions-")), "out"),
      tasksDirectory: fakeTasksDirectory(),
      release: { releaseId: 501 },
      releaseApprovals: (request) => {
        asked.push(request);
        return request.environment.name === "Guarded"
          ? { verdict: "rejected", by: "Kim Ops", comment: "not today" }
          : { verdict: "approved", by: "Azure DevOps" };
      },
      onEvent: rec.onEvent,
    });
    const text = rec.text();
    const stages = Object.fromEntries(result.stages.map((s) => [s.name, s]));
    assert.deepEqual(
      result.stages.map((s) => [s.name, s.result]),
      [
        ["First", "SucceededWithIssues"],
        ["Strict", "Skipped"],
        ["Lenient", "Succeeded"],
        ["Guarded", "Failed"],
        ["AfterGuarded", "Skipped"],
      ],
    );
    const first = Object.fromEntries(stages.First.jobs[0].steps.map((s) => [s.name, s]));
    assert.deepEqual(
      Object.values(first).map((s) => [s.name, s.result]),
      [
        ["make", "Succeeded"],
        ["use", "Succeeded"],
        ["breaks", "SucceededWithIssues"],
        ["onlyIfFailed", "Skipped"],
        ["always", "Succeeded"],
        ["off", "Skipped"],
      ],
    );
    assert.equal(first.off.message, "enabled: false");
    // The release variables as the agent gives them in a release.
    assert.match(
      text,
      /Release\.EnvironmentName=First\n.*Release\.ReleaseId=501\n.*Release\.ReleaseName=Release-501\n.*Release\.DefinitionName=conditions\n.*Release\.AttemptNumber=1\n.*System\.HostType=release\n.*greeting=hello/,
    );
    // An output variable reaches later tasks of its phase, not another environment.
    assert.equal(first.use.message, "color is blue");
    assert.equal(stages.Lenient.jobs[0].steps[0].message, "color is $(make.color)");
    assert.equal(
      stages.Guarded.reason,
      'the pre-deployment approval of Guarded was rejected by Kim Ops: "not today"',
    );
    assert.deepEqual(
      asked.map((a) => [a.environment.name, a.type, a.approvers.map((p) => p.displayName)]),
      [
        ["First", "preDeploy", []],
        ["First", "postDeploy", []],
        ["Lenient", "preDeploy", []],
        ["Lenient", "postDeploy", []],
        ["Guarded", "preDeploy", ["Kim Ops"]],
      ],
    );
    assert.equal(new Set(asked.map((a) => a.environmentId)).size, 3, "each environment its own id");
  });
});
