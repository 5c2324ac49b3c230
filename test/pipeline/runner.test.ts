import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineRunResult, StepRecord } from "../../pipeline/run-events";
import { runPipeline, type PipelineRunOptions } from "../../pipeline/runner";
import { fakeTasksDirectory, recorder } from "./fake-tasks";

const tasksDirectory = fakeTasksDirectory();

async function play(yaml: string, options: Partial<PipelineRunOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pipeline-run-"));
  const file = join(dir, "azure-pipelines.yml");
  writeFileSync(file, yaml);
  const rec = recorder();
  const result = await runPipeline({
    file,
    outputDirectory: join(dir, "out"),
    tasksDirectory,
    run: { buildId: "77" },
    onEvent: rec.onEvent,
    ...options,
  });
  return { result, text: rec.text(), events: rec.events, dir };
}

function step(result: PipelineRunResult, stage: string, job: string, name: string): StepRecord {
  const found = result.stages
    .find((s) => s.name === stage)
    ?.jobs.find((j) => j.name === job)
    ?.steps.find((s) => s.name === name);
  assert.ok(found, `no step ${stage}/${job}/${name}`);
  return found;
}

const logOf = (s: StepRecord) => readFileSync(s.logFile!, "utf8");

describe("local pipeline runner (small built tasks)", function () {
  this.timeout(30_000);

  it("carries output variables to later steps, jobs (dependencies) and stages (stageDependencies)", async () => {
    const { result } = await play(`
variables:
  greeting: hello
stages:
- stage: Build
  jobs:
  - job: produce
    steps:
    - task: Echo@1
      name: make
      inputs:
        outputs: |
          version=1.2.$(Build.BuildId)
          region=eastus
    - task: Echo@1
      name: sameJob
      inputs:
        show: make.version,greeting,System.JobName,System.StageName
  - job: consume
    dependsOn: produce
    variables:
      version: $[ dependencies.produce.outputs['make.version'] ]
    steps:
    - task: Echo@1
      name: use
      inputs:
        show: version
- stage: Deploy
  condition: and(succeeded(), eq(dependencies.Build.outputs['produce.make.region'], 'eastus'))
  jobs:
  - job: deploy
    variables:
      fromBuild: $[ stageDependencies.Build.produce.outputs['make.version'] ]
    steps:
    - task: Echo@1
      name: use
      inputs:
        show: fromBuild
`);
    assert.equal(result.result, "Succeeded");
    assert.deepEqual(step(result, "Build", "produce", "make").outputs, {
      version: "1.2.77",
      region: "eastus",
    });
    assert.match(
      logOf(step(result, "Build", "produce", "sameJob")),
      /make\.version=1\.2\.77\ngreeting=hello\nSystem\.JobName=produce\nSystem\.StageName=Build/,
    );
    assert.match(logOf(step(result, "Build", "consume", "use")), /^version=1\.2\.77$/m);
    assert.match(logOf(step(result, "Deploy", "deploy", "use")), /^fromBuild=1\.2\.77$/m);
    assert.deepEqual(result.stages[0].jobs[0].outputs, { "make.version": "1.2.77", "make.region": "eastus" });
  });

  it("applies conditions as the agent does: issues count as success, continueOnError, failed(), always()", async () => {
    const { result, text } = await play(`
jobs:
- job: main
  steps:
  - task: Echo@1
    name: withIssues
    inputs: { result: SucceededWithIssues, message: careful }
  - task: Echo@1
    name: afterIssues
  - task: Echo@1
    name: tolerated
    continueOnError: true
    inputs: { result: Failed, message: tolerated failure }
  - task: Echo@1
    name: afterTolerated
  - task: Echo@1
    name: breaks
    inputs: { result: Failed, message: broken }
  - task: Echo@1
    name: notAfterFailure
  - task: Echo@1
    name: onlyOnFailure
    condition: failed()
  - task: Echo@1
    name: disabled
    enabled: false
    condition: always()
  - task: Echo@1
    name: invalid
    condition: eqq(1, 1)
  - task: Echo@1
    name: regardless
    condition: always()
- job: report
  dependsOn: main
  condition: failed()
  steps:
  - task: Echo@1
    name: tell
- job: next
  dependsOn: main
  steps:
  - task: Echo@1
    name: never
`);
    const results = Object.fromEntries(result.stages[0].jobs[0].steps.map((s) => [s.name, s.result]));
    assert.deepEqual(results, {
      withIssues: "SucceededWithIssues",
      afterIssues: "Succeeded",
      tolerated: "SucceededWithIssues",
      afterTolerated: "Succeeded",
      breaks: "Failed",
      notAfterFailure: "Skipped",
      onlyOnFailure: "Succeeded",
      disabled: "Skipped",
      invalid: "Failed",
      regardless: "Succeeded",
    });
    assert.equal(step(result, "__default", "main", "tolerated").continuedOnError, true);
    const [main, report, next] = result.stages[0].jobs;
    assert.deepEqual([main.result, report.result, next.result], ["Failed", "Succeeded", "Skipped"]);
    assert.equal(next.reason, "what it depends on did not succeed (default condition succeeded())");
    assert.equal(result.result, "Failed");
    assert.match(
      text,
      /⊘ 6\. Echo done — skipped: an earlier step failed \(default condition succeeded\(\)\)/,
    );
    assert.match(text, /⊘ 8\. Echo done — skipped: enabled: false/);
    assert.match(
      text,
      /✖ 9\. Echo done — failed: its condition cannot be evaluated: Unrecognized function: 'eqq'/,
    );
    assert.match(text, /✔ Job report: Succeeded/);
    assert.match(text, /⊘ Job next skipped: what it depends on did not succeed/);
  });

  it("lists the steps it cannot run before starting, and skips each with a notice", async () => {
    const { result, text, events } = await play(`
stages:
- stage: S
  jobs:
  - job: j
    steps:
    - script: npm test
    - task: PowerShell@2
      inputs: { targetType: inline }
    - task: ServerOnly@1
    - task: Echo
    - template: steps/deploy.yml
    - task: Echo@1
      name: runs
  - job: m
    strategy:
      matrix:
        a: { x: 1 }
    steps:
    - task: Echo@1
- stage: T
  jobs:
  - template: jobs.yml
`);
    const started = events.find((e) => e.type === "runStarted");
    assert.ok(started?.type === "runStarted");
    assert.deepEqual(
      started.notRunnable.map((n) => `${n.where} | ${n.label} | ${n.reason}`),
      [
        "S / j / step 1 | script: npm test | script steps are not run by the local runner (it runs this extension's tasks only)",
        "S / j / step 2 | task: PowerShell@2 | PowerShell@2 is not one of this extension's tasks (Echo, ServerOnly)",
        "S / j / step 3 | task: ServerOnly@1 | ServerOnly is an agentless task: Azure DevOps runs it on the server, not on an agent",
        "S / j / step 4 | task: Echo | 'Echo' has no major version: write it as Name@major, for example Echo@1",
        "S / j / step 5 | template: steps/deploy.yml | step templates are not expanded by the local runner",
        "S / m | m | matrix and parallel strategies are not supported locally",
        "T / template_1 | template: jobs.yml | job templates are not expanded by the local runner (jobs.yml)",
      ],
    );
    assert.match(text, /Not run here \(each is skipped with a notice when reached\):/);
    assert.match(text, /⊘ 1\. script: npm test — skipped: not supported: script steps are not run/);
    assert.match(
      text,
      /⊘ 2\. PowerShell@2 — skipped: not supported: PowerShell@2 is not one of this extension's tasks/,
    );
    assert.match(text, /⊘ Job m skipped: not supported: matrix and parallel strategies/);
    const j = result.stages[0].jobs[0];
    assert.deepEqual(
      j.steps.map((s) => `${s.result}${s.unsupported ? " (not supported)" : ""}`),
      [
        "Skipped (not supported)",
        "Skipped (not supported)",
        "Skipped (not supported)",
        "Skipped (not supported)",
        "Skipped (not supported)",
        "Succeeded",
      ],
    );
    assert.equal(j.result, "Succeeded");
    assert.match(text, /S \/ j\s+1\. script: npm test\s+⊘ Skipped\s+not supported/);
  });

  it("gives tasks their service connection and secrets, and never shows a secret", async () => {
    const { result, text, dir } = await play(
      `
steps:
- task: Echo@1
  name: first
  inputs:
    ev2Connection: ev2-orders-ppe
    show: webhook,System.AccessToken
    secret: registered-by-the-task
    log: |
      ##[group]Details
      inside the group
      ##[endgroup]
      ##vso[task.logissue type=warning]look out for hook-secret-value
      ##vso[task.debug]hidden unless debugging
    outputs: |
      url=https://hooks.example/hook-secret-value
- task: Echo@1
  name: second
  inputs:
    log: $(first.url) and registered-by-the-task
`,
      {
        connections: (name, type) =>
          name === "ev2-orders-ppe" && type === "ev2rollout"
            ? { url: "http://127.0.0.1:1/ev2", parameters: { apitoken: "ev2-token-value" } }
            : undefined,
        secretVariables: { webhook: "hook-secret-value" },
        accessToken: "ado-access-token",
      },
    );
    assert.equal(result.result, "Succeeded");
    const first = logOf(step(result, "__default", "Job", "first"));
    assert.match(first, /^connection http:\/\/127\.0\.0\.1:1\/ev2 token \*\*\*$/m);
    assert.match(first, /^webhook=\*\*\*$/m);
    assert.match(first, /^System\.AccessToken=\*\*\*$/m);
    assert.match(first, /^the secret is \*\*\*$/m);
    assert.match(first, /^##\[warning\]look out for \*\*\*$/m);
    assert.doesNotMatch(first, /hidden unless debugging/);
    assert.match(
      logOf(step(result, "__default", "Job", "second")),
      /^https:\/\/hooks\.example\/\*\*\* and \*\*\*$/m,
    );
    assert.match(text, / {8}▾ Details\n {10}inside the group\n/);
    assert.match(text, /⚠ warning: look out for \*\*\*/);
    const everything = [text, readFileSync(result.files.runRecord, "utf8"), first].join("\n");
    for (const secret of [
      "hook-secret-value",
      "ev2-token-value",
      "ado-access-token",
      "registered-by-the-task",
    ])
      assert.ok(!everything.includes(secret), `${secret} was shown`);
    assert.ok(
      existsSync(join(dir, "out", "jobs", "__default.Job")),
      "Agent.TempDirectory per job in the output folder",
    );
  });

  it("fails a step whose service connection the run does not have, saying how to get one", async () => {
    const { result } = await play("steps:\n- task: Echo@1\n  inputs:\n    connection: prod-ev2\n", {
      connectionHint: "Run with --sim <scenario> or --ev2-url <url>.",
    });
    const s = result.stages[0].jobs[0].steps[0];
    assert.equal(s.result, "Failed");
    assert.equal(
      s.message,
      "Service connection 'prod-ev2' (ev2rollout, input connection) is not available in this local run. Run with --sim <scenario> or --ev2-url <url>.",
    );
  });

  it("collects summaries and records into the output folder, and refuses a folder it did not make", async () => {
    const { result, dir } = await play(`
steps:
- task: Echo@1
  name: a
  inputs: { summary: "### First", record: '{"task":"a"}' }
- task: Echo@1
  name: b
  inputs: { summary: "### Second", record: '{"task":"b"}' }
`);
    assert.equal(result.files.summaries.length, 2);
    assert.match(
      readFileSync(result.files.summary!, "utf8"),
      /## Echo done\n\n_.*\/ a_\n\n### First\n[\s\S]*### Second/,
    );
    assert.deepEqual(
      result.files.records.map((f) => JSON.parse(readFileSync(f, "utf8")).task),
      ["a", "b"],
    );
    assert.ok(result.files.records.every((f) => f.startsWith(join(dir, "out", "artifacts", "ev2-records"))));

    const foreign = join(dir, "mine");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "keep me");
    await assert.rejects(
      runPipeline({ file: join(dir, "azure-pipelines.yml"), outputDirectory: foreign, tasksDirectory }),
      /is not empty and was not made by a previous local run/,
    );
    assert.equal(readFileSync(join(foreign, "notes.txt"), "utf8"), "keep me");
  });

  it("download: current copies this run's artifact into the next job's Pipeline.Workspace; a missing one fails the step", async () => {
    const { result } = await play(`
jobs:
- job: first
  steps:
  - task: Echo@1
    inputs: { record: '{"task":"first"}' }
- job: second
  dependsOn: first
  steps:
  - download: current
    artifact: ev2-records
  - task: Echo@1
    name: look
    inputs: { show: Pipeline.Workspace }
  - download: current
    artifact: not-published
    continueOnError: true
  - download: none
`);
    const [download, look, missing, ...rest] = result.stages[0].jobs[1].steps;
    assert.equal(download.result, "Succeeded", download.message);
    assert.equal(download.label, "download: current (ev2-records)");
    const workspace = /Pipeline.Workspace=(.+)/.exec(readFileSync(look.logFile!, "utf8"))![1];
    const [file] = readdirSync(join(workspace, "ev2-records"));
    assert.equal(JSON.parse(readFileSync(join(workspace, "ev2-records", file), "utf8")).task, "first");
    assert.equal(missing.result, "SucceededWithIssues");
    assert.match(
      missing.message!,
      /^Artifact not-published was not found for this run \(it has ev2-records so far\)\.$/,
    );
    assert.deepEqual(rest, [], "download: none asks for nothing: not a step");
  });

  it("cancels like a pipeline cancel: the running task gets SIGINT, then only always() steps run", async () => {
    const cancel = new AbortController();
    const rec = recorder();
    const dir = mkdtempSync(join(tmpdir(), "pipeline-cancel-"));
    writeFileSync(
      join(dir, "p.yml"),
      `
steps:
- task: Echo@1
  name: long
  inputs: { sleepMs: "20000" }
- task: Echo@1
  name: next
- task: Echo@1
  name: cleanup
  condition: always()
`,
    );
    const running = runPipeline({
      file: join(dir, "p.yml"),
      outputDirectory: join(dir, "out"),
      tasksDirectory,
      signal: cancel.signal,
      onEvent: (e) => {
        rec.onEvent(e);
        if (e.type === "stepLog" && e.line.text === "sleeping") cancel.abort();
      },
    });
    const result = await running;
    assert.deepEqual(
      result.stages[0].jobs[0].steps.map((s) => `${s.name} ${s.result}`),
      ["long Canceled", "next Skipped", "cleanup Succeeded"],
    );
    assert.equal(result.result, "Canceled");
  });
});
