/**
 * Summaries and the deployment report are inert: an EV2 whose stage name, error code and message
 * and dashboard URL carry HTML, links, table breaks and control sequences. The built tasks run
 * against the simulator serving that text; their markdown is rendered (marked, GFM) and checked.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { marked } from "marked";
import { startSimulator, type Scenario, type Simulator } from "../../sim/ev2";
import { reportArtifacts, runBuiltTask, type TaskRun } from "../support/run-built-task";
import { TOKEN, ev2Setup, rolloutInputs } from "./ev2-fixture";

const html = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
const link = "[open](javascript:alert(3))";
const stageName = `Stage2 ${html} | ${link} \u001b[31m`;
const message = `Deployment failed.\n| a | b |\n# heading\n${html}\n${link}\n##vso[task.setvariable variable=pwned]1 \u001b]0;title\u0007`;

function hostileScenario(): Scenario {
  const scenario = JSON.parse(
    readFileSync(join(__dirname, "..", "..", "sim", "scenarios", "failing-region.json"), "utf8"),
  );
  scenario.dashboardBaseUrl = "javascript:alert(4)//";
  const map = scenario.serviceGroups[0].services[0].stageMaps[0];
  map.stages[1].name = stageName;
  map.failures[0] = { ...map.failures[0], stage: stageName, errorCode: `Code|<b>x</b>`, message };
  delete scenario.serviceGroups[0].services[0].history;
  return scenario;
}

/** Everything a markdown file could do that outside text must not make it do. */
function assertInert(file: string, source: string): void {
  const rendered = marked.parse(source, { async: false });
  assert.doesNotMatch(rendered, /<(img|script|b)\b/i, `${file} renders outside HTML`);
  for (const [, href] of rendered.matchAll(/<a [^>]*href="([^"]*)"/g))
    assert.match(href, /^https?:\/\//, `${file} links ${href}`);
  assert.ok(!source.includes("[open](javascript:"), `${file} keeps the link syntax`);
  assert.doesNotMatch(rendered, /<h1[^>]*>heading/, `${file} lets a message make a heading`);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(source, /[\u0000-\u0008\u000b-\u001f\u007f]/, `${file} carries a control character`);
  assert.doesNotMatch(source, /##vso\[/i, `${file} carries a logging command`);
  // Every table row keeps its columns: no pipe or newline from EV2 broke one.
  for (const table of rendered.split("<table>").slice(1)) {
    const rows = [...table.split("</table>")[0].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(
      ([, row]) => (row.match(/<t[hd][ >]/g) ?? []).length,
    );
    assert.ok(
      rows.every((n) => n === rows[0]),
      `${file}: a table row has another column count: ${rows}`,
    );
  }
}

describe("summaries and the deployment report stay inert with hostile EV2 text (built tasks)", function () {
  this.timeout(90_000);
  let sim: Simulator | undefined;
  afterEach(() => sim?.close());

  it("the trigger and follow summaries and the report show the text, never as HTML, links or table breaks", async () => {
    sim = await startSimulator({ scenario: hostileScenario(), clockSpeed: 1200, tokens: [TOKEN] });
    const runs: Record<string, TaskRun> = {};
    runs.trigger = await runBuiltTask("TriggerEv2Rollout", ev2Setup(sim, rolloutInputs));
    const rolloutId = runs.trigger.outputs.rolloutId;
    runs.follow = await runBuiltTask("FollowRollout", ev2Setup(sim, { rolloutId }));
    assert.equal(runs.follow.result?.result, "Failed", runs.follow.stdout);
    runs.gate = await runBuiltTask(
      "GateApproval",
      ev2Setup(sim, { rolloutId, decision: "evaluate", waitTimeoutMinutes: "0" }),
    );
    let checked = 0;
    let showsText = false;
    for (const [step, run] of Object.entries(runs)) {
      const files = [
        ...run.summaries,
        ...reportArtifacts(run)
          .map((a) => a.path)
          .filter((p) => p.endsWith(".md")),
      ];
      assert.ok(files.length >= 1, `${step} wrote markdown`);
      for (const file of files) {
        const source = readFileSync(file, "utf8");
        assertInert(`${step} ${file}`, source);
        showsText ||= source.includes("&lt;img src=x") && source.includes("\\[open\\](javascript:alert(3))");
        checked++;
      }
    }
    assert.ok(checked >= 6, `${checked} markdown files checked`);
    assert.ok(showsText, "the hostile text reached the markdown, escaped (or the test proves nothing)");
  });
});
