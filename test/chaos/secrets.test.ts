/**
 * Secrets: with System.Debug=true, the EV2 API token, the Teams webhook URL and the job's bearer
 * token never show in what the agent would display or keep (stdout, stderr, records, summaries),
 * in any of the forms a leak usually takes: as is, URL-encoded, base64 (and base64url), or as a
 * Basic credential. Checked on the happy path and on the paths where leaks hide: servers that
 * refuse the credential, and servers that echo the request back in their error messages.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { startTargetService, type TargetService } from "../../sim/target-service";
import { runBuiltTask, type TaskRun, type TaskRunSetup } from "../support/run-built-task";
import {
  chaosCounts,
  flowSetup,
  jobToken,
  registerCountsReport,
  rolloutInputs,
  startFlowServices,
  startHostileServer,
  type FlowServices,
  type HostileServer,
} from "./chaos-support";

registerCountsReport();

/** Characters that URL-encoding and base64 change, so each form differs from the raw value. */
const ev2Token = "canary+ev2/token=C4N4RY-7f3a9c";
const stressBearer = "canary-stress-bearer/9d2e+x";

/** The forms of a secret that must never show. */
function forms(secret: string): string[] {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const b64url = (s: string) => Buffer.from(s).toString("base64url");
  const all = [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(encodeURIComponent(secret)),
    b64(secret),
    b64url(secret),
    // Basic credentials with the secret as the password (how a PAT travels).
    b64(`:${secret}`),
    b64url(`:${secret}`),
  ];
  return [...new Set(all)];
}

/** Every secret of the run (and the webhook's own credential, its sig) in every form. */
function secretForms(webhookUrl: string): Array<{ name: string; form: string }> {
  const sig = new URL(webhookUrl).searchParams.get("sig");
  return [
    ...forms(ev2Token).map((form) => ({ name: "EV2 token", form })),
    ...forms(jobToken).map((form) => ({ name: "job access token", form })),
    ...forms(webhookUrl).map((form) => ({ name: "webhook URL", form })),
    ...(sig ? forms(sig).map((form) => ({ name: "webhook sig", form })) : []),
    ...forms(stressBearer).map((form) => ({ name: "stress bearer token", form })),
  ];
}

function assertNoSecretShows(runs: Record<string, TaskRun>, webhookUrl: string): void {
  const checks = secretForms(webhookUrl);
  const leaks: string[] = [];
  for (const [step, run] of Object.entries(runs)) {
    const files = [...run.artifacts.map((a) => a.path), ...run.summaries];
    const places: Array<[string, string]> = [
      ["the log", run.visibleText],
      ...files.map((f): [string, string] => [basename(f), readFileSync(f, "utf8")]),
    ];
    for (const [where, text] of places) {
      for (const { name, form } of checks) {
        const at = text.indexOf(form);
        if (at < 0) continue;
        const context = text.slice(Math.max(0, at - 100), at + form.length + 20).replace(/\s+/g, " ");
        leaks.push(
          `${step}: ${where} shows the ${name} as ${JSON.stringify(form.slice(0, 40))}: …${context}…`,
        );
      }
    }
  }
  assert.ok(leaks.length === 0, `${leaks.length} secret(s) shown:\n${leaks.join("\n")}`);
}

describe("chaos: secrets never show, even with System.Debug=true", function () {
  this.timeout(90_000);
  let services: FlowServices | undefined;
  let echo: HostileServer | undefined;
  let target: TargetService | undefined;
  afterEach(async () => {
    await services?.close();
    await echo?.close();
    await target?.close();
    services = undefined;
    echo = undefined;
    target = undefined;
  });

  /** The flow's steps with the given setup; each step's result is what the scenario expects. */
  async function runSteps(
    setup: (inputs: TaskRunSetup["inputs"]) => TaskRunSetup,
    webhookUrl: string,
    rolloutId: string,
    notifySetup = setup,
  ): Promise<Record<string, TaskRun>> {
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask("TriggerEv2Rollout", setup(rolloutInputs));
    const id = runs.trigger.outputs.rolloutId || rolloutId;
    runs.follow = await runBuiltTask("FollowRollout", setup({ rolloutId: id, until: "waitAction" }));
    if (target) {
      runs.stress = await runBuiltTask(
        "StressTestStage",
        setup({
          endpoints: `${target.url}/eastus/api/orders`,
          durationSeconds: "1",
          bearerToken: stressBearer,
        }),
      );
    }
    runs.gate = await runBuiltTask(
      "GateApproval",
      // requireApproval: false, so a failed approval look-up still lets the flow run to its end.
      setup({ rolloutId: id, decision: "approve", waitTimeoutMinutes: "1", requireApproval: "false" }),
    );
    runs.end = await runBuiltTask("FollowRollout", setup({ rolloutId: id }));
    runs.notify = await runBuiltTask("TeamsNotify", notifySetup({ rolloutId: id, webhookUrl }));
    chaosCounts.secretRuns += Object.keys(runs).length;
    for (const run of Object.values(runs))
      assert.match(run.stdout, /##vso\[task\.debug\]/, "debug output is on");
    return runs;
  }

  it("the whole flow: secrets registered with the agent, none shown in any form", async () => {
    services = await startFlowServices({ token: ev2Token, clockSpeed: 1200 });
    target = await startTargetService();
    const runs = await runSteps((inputs) => flowSetup(services!, inputs), services.sink.url, "");
    for (const [step, run] of Object.entries(runs))
      assert.equal(run.result?.result, "Succeeded", `${step}: ${run.result?.message}`);
    assert.ok(runs.trigger.secrets.includes(ev2Token), "the EV2 token is registered as a secret");
    assert.ok(runs.gate.secrets.includes(jobToken), "the access token is registered as a secret");
    assert.ok(runs.notify.secrets.includes(services.sink.url), "the webhook URL is registered as a secret");
    if (runs.stress) assert.ok(runs.stress.secrets.includes(stressBearer), "the bearer token is registered");
    assertNoSecretShows(runs, services.sink.url);
  });

  it("EV2 refuses the token, Teams answers 401 quoting its URL: the errors name no secret", async () => {
    services = await startFlowServices({ token: "the-only-token-ev2-accepts", sinkResponses: [401] });
    const setup = (inputs: TaskRunSetup["inputs"]) =>
      flowSetup(services!, inputs, {
        endpoints: {
          ev2conn: { url: services!.sim.url, scheme: "Token", parameters: { apitoken: ev2Token } },
        },
      });
    const runs = await runSteps(setup, services.sink.url, "11111111-1111-4111-8111-111111111111");
    assert.match(runs.trigger.result!.message, /AuthenticationFailed/);
    assert.equal(runs.notify.outputs.delivered, "false");
    assertNoSecretShows(runs, services.sink.url);
  });

  /**
   * A misbehaving proxy or a verbose service that puts the request (URL and headers) into its
   * error message. The tasks show such messages: they must not bring the credentials with them.
   */
  it("EV2, Azure DevOps and Teams echo the request (headers, URL) back in their errors: no secret shows", async () => {
    echo = await startHostileServer((req) => ({
      status: 400,
      body: JSON.stringify({
        error: {
          code: "BadRequest",
          message: `cannot serve ${req.method} ${req.url} with headers ${JSON.stringify(req.headers)}`,
        },
        message: `echo: ${req.url} ${req.headers.authorization ?? ""}`,
      }),
    }));
    services = await startFlowServices({ token: ev2Token, clockSpeed: 1200 });
    const webhookUrl = `${echo.httpsUrl}/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=CanarySig0123456789abcdef`;
    // EV2 itself echoes: every step that talks to it.
    const echoingEv2 = (inputs: TaskRunSetup["inputs"]) =>
      flowSetup(services!, inputs, {
        endpoints: { ev2conn: { url: echo!.url, scheme: "Token", parameters: { apitoken: ev2Token } } },
      });
    const ev2Runs = await runSteps(echoingEv2, webhookUrl, "11111111-1111-4111-8111-111111111111");
    for (const run of Object.values(ev2Runs)) assert.notEqual(run.result?.result, "Succeeded");
    // EV2 answers well; Azure DevOps (the approval lookup) and the Teams webhook echo.
    const echoingAdo = (inputs: TaskRunSetup["inputs"]) =>
      flowSetup(services!, inputs, {
        variables: { "System.CollectionUri": `${echo!.url}/DefaultCollection/` },
      });
    const otherRuns = await runSteps(echoingAdo, webhookUrl, "");
    assert.ok(
      echo.requests.some((r) => r.headers.authorization === `Bearer ${ev2Token}`),
      "the EV2 token went out",
    );
    assert.ok(
      echo.requests.some((r) => r.headers.authorization === `Bearer ${jobToken}`),
      "the access token went out",
    );
    assert.ok(
      echo.requests.some((r) => r.url.includes("sig=CanarySig")),
      "the webhook was called",
    );
    assert.equal(otherRuns.notify.outputs.delivered, "false");
    const all = Object.fromEntries([
      ...Object.entries(ev2Runs).map(([k, v]) => [`${k} (EV2 echoes)`, v]),
      ...Object.entries(otherRuns).map(([k, v]) => [`${k} (Azure DevOps and Teams echo)`, v]),
    ]);
    assertNoSecretShows(all, webhookUrl);
  });
});
