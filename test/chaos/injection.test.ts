/**
 * Logging-command injection: text that comes from outside — EV2 error messages and rollout
 * fields, HTTP bodies, Azure DevOps approval comments, health probe and webhook answers, even
 * the inputs — must never reach the agent as a command. Each source carries the same payload of
 * `##vso[...]` and `##[...]` commands, on their own lines and mid-line; the test reads the
 * task's stdout and stderr as the agent does and looks for any command the payload made.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario } from "../../sim/ev2";
import { parseLoggingCommand } from "../support/agent-commands";
import { runBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import {
  chaosCounts,
  flowSetup,
  registerCountsReport,
  rolloutInputs,
  startFlowServices,
  startHostileServer,
  type FlowServices,
  type HostileServer,
} from "./chaos-support";

registerCountsReport();

/** Commands an attacker would like the agent to run; every one is marked "pwned" or "fake". */
const payloadLines = [
  "##vso[task.setvariable variable=pwned]1",
  "##[error]fake",
  "##vso[task.complete result=Succeeded;]pwned",
  "##vso[task.logissue type=error]pwned-issue",
  "##vso[task.prependpath]/tmp/pwned",
  "##vso[artifact.upload artifactname=pwned]/etc/passwd",
  "##[group]fake group",
];
/** On separate lines (so `##[` starts a line) and all on one line (so `##vso[` sits mid-line). */
const payload = `Deployment failed.\n${payloadLines.join("\n")}\nand inline: ${payloadLines.join(" ")}`;
const onOneLine = `inline ${payloadLines.join(" ")}`;

/** Every command the payload made the agent see, as "<stream>: <line>". */
function injected(run: TaskRun): string[] {
  const found: string[] = [];
  for (const [stream, text] of [
    ["stdout", run.stdout],
    ["stderr", run.stderr],
  ] as const) {
    for (const line of text.split(/\r?\n|\r/)) {
      if (/^\s*##\[[a-z]+\]\s*fake/i.test(line)) found.push(`${stream}: ${line}`);
      const cmd = parseLoggingCommand(line);
      if (!cmd) continue;
      const p = cmd.properties;
      if (
        p.variable === "pwned" ||
        p.artifactname === "pwned" ||
        cmd.command === "task.prependpath" ||
        /^pwned/.test(cmd.data) ||
        (cmd.command === "task.complete" && /pwned/.test(cmd.properties.result ?? ""))
      )
        found.push(`${stream}: ${line}`);
    }
  }
  return found;
}

/**
 * The payload must have reached the log (defused), or the test proves nothing: returns the steps
 * that show it.
 */
function stepsShowingPayload(runs: Record<string, TaskRun>): string[] {
  return Object.entries(runs)
    .filter(([, run]) => /##_vso\[task\.setvariable variable=pwned\]1|##_\[error\]fake/.test(run.stdout))
    .map(([step]) => step);
}

function assertNothingInjected(runs: Record<string, TaskRun>, minimumShowing = 1): void {
  const showing = stepsShowingPayload(runs);
  assert.ok(
    showing.length >= minimumShowing,
    `the payload reached the log of only ${showing.join(", ") || "no step"}`,
  );
  const found = Object.entries(runs).flatMap(([step, run]) => injected(run).map((l) => `${step}: ${l}`));
  assert.deepEqual(found, [], `commands injected:\n${found.join("\n")}`);
  for (const [step, run] of Object.entries(runs)) {
    assert.equal(run.variables.pwned, undefined, `${step} set the variable pwned`);
    assert.ok(!run.errors.some((e) => e.startsWith("pwned")), `${step} logged an injected issue`);
    assert.ok(!run.artifacts.some((a) => a.name === "pwned"), `${step} uploaded an injected artifact`);
  }
  chaosCounts.injectionRuns += Object.keys(runs).length;
}

/** The bundled failing-region scenario with the payload in a stage name, error code and message. */
function hostileScenario(): Scenario {
  const scenario = JSON.parse(
    readFileSync(join(__dirname, "..", "..", "sim", "scenarios", "failing-region.json"), "utf8"),
  );
  const map = scenario.serviceGroups[0].services[0].stageMaps[0];
  const stageName = `Stage2 ${onOneLine}`;
  map.stages[1].name = stageName;
  map.failures[0] = {
    ...map.failures[0],
    stage: stageName,
    errorCode: `Code${payloadLines[0]}`,
    message: payload,
  };
  delete scenario.serviceGroups[0].services[0].history;
  return scenario;
}

/** A rollout whose every free text field carries the payload, valid by the contract's schema. */
function hostileRollout(id: string) {
  return {
    rolloutId: id,
    serviceGroupName: onOneLine,
    serviceId: onOneLine,
    environment: onOneLine,
    artifactVersionNumber: payload,
    stageMapName: onOneLine,
    stageMapVersion: onOneLine,
    status: "Failed",
    currentStage: payload,
    stages: [
      {
        name: payload,
        status: "Failed",
        startTime: "2026-01-01T00:00:00Z",
        endTime: "2026-01-01T00:05:00Z",
        regions: [
          {
            name: payload,
            status: "Failed",
            startTime: "2026-01-01T00:00:00Z",
            endTime: "2026-01-01T00:05:00Z",
          },
        ],
      },
    ],
    waitActions: [
      {
        actionId: "wait-1",
        stage: payload,
        reason: payload,
        status: "Waiting",
        waitingSince: "2026-01-01T00:00:00Z",
        comment: payload,
        decidedBy: payload,
      },
    ],
    errors: [
      {
        stage: payload,
        region: payload,
        timestamp: "2026-01-01T00:05:00Z",
        errorCode: payload,
        message: payload,
      },
    ],
    createdTimestamp: "2026-01-01T00:00:00Z",
    lastUpdateTime: "2026-01-01T00:05:00Z",
    dashboardUrl: `https://ev2.example/${onOneLine}`,
  };
}

describe("chaos: logging-command injection from outside text never reaches the agent", function () {
  this.timeout(90_000);

  it("the detector finds every command of the payload when it is not defused", () => {
    const raw = { stdout: `${payload}\n`, stderr: "" } as TaskRun;
    const found = injected(raw);
    // setvariable, error, complete, logissue, prependpath, upload, group on their own lines, and the
    // first command of the inline line.
    assert.equal(found.length, payloadLines.length + 1, found.join("\n"));
  });

  let services: FlowServices | undefined;
  let hostile: HostileServer | undefined;
  afterEach(async () => {
    await services?.close();
    await hostile?.close();
    services = undefined;
    hostile = undefined;
  });

  it("an EV2 failure (stage name, error code, message) and an Azure DevOps approval comment carrying commands", async () => {
    // The approval comment travels ADO → GateApproval → EV2 → FollowRollout's log.
    services = await startFlowServices({ scenario: "gated", clockSpeed: 1200, approvalComment: payload });
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
    const rolloutId = runs.trigger.outputs.rolloutId;
    runs.toGate = await runBuiltTask(
      "FollowRollout",
      flowSetup(services, { rolloutId, until: "waitAction" }),
    );
    runs.gate = await runBuiltTask(
      "GateApproval",
      flowSetup(services, { rolloutId, decision: "approve", comment: onOneLine }),
    );
    runs.end = await runBuiltTask("FollowRollout", flowSetup(services, { rolloutId }));
    assert.match(
      runs.end.stdout,
      /Approval gate wait-1: Approved by [\s\S]*##_vso\[task\.setvariable/,
      "the comment is shown, defused",
    );
    await services.close();

    services = await startFlowServices({ scenario: hostileScenario() as never, clockSpeed: 1200 });
    runs.failTrigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
    const failing = runs.failTrigger.outputs.rolloutId;
    runs.failFollow = await runBuiltTask("FollowRollout", flowSetup(services, { rolloutId: failing }));
    assert.equal(runs.failFollow.result?.result, "Failed");
    assert.match(
      runs.failFollow.result!.message,
      /##_vso\[task\.setvariable variable=pwned\]1/,
      "the message is shown, defused",
    );
    runs.failGate = await runBuiltTask(
      "GateApproval",
      flowSetup(services, { rolloutId: failing, decision: "evaluate", waitTimeoutMinutes: "0" }),
    );
    runs.failNotify = await runBuiltTask(
      "TeamsNotify",
      flowSetup(services, { rolloutId: failing, webhookUrl: services.sink.url }),
    );
    assertNothingInjected(runs, 2);
  });

  it("a hostile EV2 whose every field, error body and HTML page carries commands", async () => {
    services = await startFlowServices();
    let call = 0;
    hostile = await startHostileServer((req) => {
      call++;
      const path = req.url.split("?")[0];
      if (path.endsWith("/artifactVersions"))
        return {
          status: 200,
          body: JSON.stringify({ artifacts: [{ versionNumber: payload, status: "Active" }] }),
        };
      if (path.endsWith("/versions"))
        return { status: 200, body: JSON.stringify({ stageMaps: [{ version: payload, status: "Active" }] }) };
      if (req.method === "POST" && path.endsWith("/rollouts"))
        return { status: 201, body: JSON.stringify({ rolloutId: "r-hostile", status: "NotStarted" }) };
      if (path.endsWith("/decision"))
        return {
          status: 409,
          body: JSON.stringify({
            error: { code: payload, message: payload, target: payload, details: { status: payload } },
          }),
        };
      if (path.endsWith("/cancel"))
        return {
          status: 400,
          headers: { "content-type": "text/html" },
          body: `<html><body>${payload}</body></html>`,
        };
      if (path.startsWith("/rollouts/"))
        return { status: 200, body: JSON.stringify(hostileRollout("r-hostile")) };
      // The look-up of an empty rolloutId: the run's rollouts, every field hostile (tags too).
      if (req.method === "GET" && path === "/rollouts")
        return {
          status: 200,
          body: JSON.stringify({
            rollouts: [
              { ...hostileRollout("r-hostile"), tags: { "ado.buildId": payload, "ado.runUrl": payload } },
              { ...hostileRollout(onOneLine), tags: { "ado.buildId": payload } },
            ],
          }),
        };
      return {
        status: 400,
        body: JSON.stringify({
          error: { code: payload, message: `${payload} (call ${call})`, target: payload },
        }),
      };
    });
    const setup = (inputs: TaskRunSetup["inputs"]) =>
      flowSetup(services!, inputs, {
        endpoints: {
          ev2conn: { url: hostile!.url, scheme: "Token", parameters: { apitoken: services!.token } },
        },
      });
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask("TriggerEv2Rollout", setup(rolloutInputs));
    runs.rollback = await runBuiltTask(
      "TriggerEv2Rollout",
      setup({ ...rolloutInputs, rollbackOf: "r-hostile", artifactVersion: "lastSucceeded" }),
    );
    runs.follow = await runBuiltTask(
      "FollowRollout",
      setup({ rolloutId: "r-hostile", onFailure: "cancelRollout" }),
    );
    runs.followStage = await runBuiltTask(
      "FollowRollout",
      setup({ rolloutId: "r-hostile", until: "stage", stageName: "Stage3" }),
    );
    runs.gate = await runBuiltTask("GateApproval", setup({ rolloutId: "r-hostile", decision: "approve" }));
    runs.evaluate = await runBuiltTask(
      "GateApproval",
      setup({ rolloutId: "r-hostile", decision: "evaluate" }),
    );
    runs.notify = await runBuiltTask(
      "TeamsNotify",
      setup({ rolloutId: "r-hostile", webhookUrl: services.sink.url }),
    );
    runs.notFound = await runBuiltTask("FollowRollout", setup({ rolloutId: "r-missing" }));
    runs.followNewest = await runBuiltTask("FollowRollout", setup({ rolloutId: "" }));
    runs.gateNewest = await runBuiltTask("GateApproval", setup({ rolloutId: "", decision: "approve" }));
    assert.ok(
      hostile.requests.some((r) => r.url.startsWith("/rollouts?")),
      "an empty rolloutId asked the hostile EV2 for the run's rollouts",
    );
    for (const step of [runs.followNewest, runs.gateNewest]) {
      // The second rollout's id is a line of commands: the answer is refused, and no id (nor
      // anything else) reaches an output variable, where a later script step could paste it.
      assert.equal(step.result?.result, "Failed");
      assert.match(
        step.result!.message,
        /rollouts\.1\.rolloutId: not an EV2 id \(letters, digits and \. _ : -, at most 128\)/,
      );
      assert.deepEqual(step.outputs, {});
    }
    assert.ok(hostile.requests.length >= 8, "the tasks talked to the hostile EV2");
    assert.equal(services.sink.received.length, 1, "the card went out");
    assertNothingInjected(runs, 6);
  });

  it("health probes, the Teams webhook and Azure DevOps answering with commands in their bodies", async () => {
    services = await startFlowServices({ clockSpeed: 1200 });
    hostile = await startHostileServer((req) => ({
      // 4xx: answers the tasks do not retry, so the test stays quick.
      status: req.url.includes("html") ? 403 : 400,
      headers: req.url.includes("html") ? { "content-type": "text/html" } : undefined,
      body: req.url.includes("html")
        ? `<html><title>${payload}</title></html>`
        : JSON.stringify({
            error: { code: payload, message: payload },
            message: payload,
            $id: "1",
            typeKey: payload,
          }),
    }));
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask("TriggerEv2Rollout", flowSetup(services, rolloutInputs));
    const rolloutId = runs.trigger.outputs.rolloutId;
    runs.toGate = await runBuiltTask(
      "FollowRollout",
      flowSetup(services, { rolloutId, until: "waitAction" }),
    );
    runs.probes = await runBuiltTask(
      "GateApproval",
      flowSetup(services, {
        rolloutId,
        decision: "evaluate",
        onUnhealthy: "leaveWaiting",
        healthProbes: `${hostile.url}/health\n${hostile.url}/html/health`,
      }),
    );
    runs.adoGate = await runBuiltTask(
      "GateApproval",
      flowSetup(
        services,
        { rolloutId, decision: "approve" },
        { variables: { "System.CollectionUri": `${hostile.url}/DefaultCollection/` } },
      ),
    );
    runs.webhook = await runBuiltTask(
      "TeamsNotify",
      flowSetup(services, {
        rolloutId,
        webhookUrl: `${hostile.httpsUrl}/workflows/x/triggers/manual/paths/invoke?sig=abcdefabcdefabcdef`,
      }),
    );
    runs.htmlWebhook = await runBuiltTask(
      "TeamsNotify",
      flowSetup(services, {
        rolloutId,
        webhookUrl: `${hostile.httpsUrl}/html/workflows/x?sig=abcdefabcdefabcdef`,
      }),
    );
    assert.ok(
      hostile.requests.some((r) => r.url.includes("/health")),
      "the probes went out",
    );
    assert.ok(
      hostile.requests.some((r) => r.url.includes("/DefaultCollection/")),
      "Azure DevOps was asked",
    );
    assert.ok(
      hostile.requests.some((r) => r.url.includes("/workflows/")),
      "the webhook was called",
    );
    assertNothingInjected(runs, 3);
  });

  it("a ConcurrentRollout naming an active rollout whose id is a line of commands is not followed", async () => {
    services = await startFlowServices();
    hostile = await startHostileServer((req) => {
      const path = req.url.split("?")[0];
      if (path.endsWith("/artifactVersions"))
        return {
          status: 200,
          body: JSON.stringify({ artifacts: [{ versionNumber: "1.4.0", status: "Active" }] }),
        };
      if (path.endsWith("/versions"))
        return { status: 200, body: JSON.stringify({ stageMaps: [{ version: "v4", status: "Active" }] }) };
      if (req.method === "POST")
        return {
          status: 409,
          body: JSON.stringify({
            error: { code: "ConcurrentRollout", message: "busy", details: { activeRolloutId: onOneLine } },
          }),
        };
      return { status: 404, body: JSON.stringify({ error: { code: "RolloutNotFound", message: "no" } }) };
    });
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask(
      "TriggerEv2Rollout",
      flowSetup(
        services,
        { ...rolloutInputs, artifactVersion: "1.4.0", stageMapVersion: "v4", onConcurrentRollout: "follow" },
        {
          endpoints: {
            ev2conn: { url: hostile.url, scheme: "Token", parameters: { apitoken: services.token } },
          },
        },
      ),
    );
    assert.equal(runs.trigger.result?.result, "Failed");
    assert.match(runs.trigger.result!.message, /ConcurrentRollout: Rollout \(id not given\)/);
    assert.deepEqual(runs.trigger.outputs, {}, "no id reached an output variable");
    assert.ok(!hostile.requests.some((r) => r.url.startsWith("/rollouts/")), "the bad id was not asked for");
    // Not even shown defused: an id that is not one is not repeated.
    assertNothingInjected(runs, 0);
  });

  it("inputs carrying commands are echoed in the error, defused", async () => {
    services = await startFlowServices();
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask(
      "TriggerEv2Rollout",
      flowSetup(services, { ...rolloutInputs, serviceGroupName: onOneLine }),
    );
    runs.follow = await runBuiltTask(
      "FollowRollout",
      flowSetup(services, { rolloutId: `r ${onOneLine}`, until: payload }),
    );
    runs.gate = await runBuiltTask(
      "GateApproval",
      flowSetup(services, { rolloutId: "r-1", decision: onOneLine, evidence: payload }),
    );
    runs.notify = await runBuiltTask(
      "TeamsNotify",
      flowSetup(services, { rolloutId: "r-1", webhookUrl: services.sink.url, notification: onOneLine }),
    );
    for (const run of Object.values(runs)) assert.equal(run.result?.result, "Failed");
    assert.match(runs.trigger.result!.message, /Input 'serviceGroupName' .*##_vso\[/);
    assert.equal(services.sim.requests.length, 0);
    assertNothingInjected(runs, 4);
  });
});
