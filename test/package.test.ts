import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";

const root = join(__dirname, "..");
const taskNames = readdirSync(join(root, "tasks")).filter((t) =>
  existsSync(join(root, "tasks", t, "task.json")),
);
const read = (p: string) => JSON.parse(readFileSync(join(root, p), "utf8"));

function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** The names in a zip (the .vsix) from its central directory. */
function zipEntries(file: string): Map<string, Buffer> {
  const b = readFileSync(file);
  const entries = new Map<string, Buffer>();
  let eocd = b.length - 22;
  while (b.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  let p = b.readUInt32LE(eocd + 16);
  const count = b.readUInt16LE(eocd + 10);
  for (let n = 0; n < count; n++) {
    const method = b.readUInt16LE(p + 10);
    const size = b.readUInt32LE(p + 20);
    const nameLen = b.readUInt16LE(p + 28);
    const extra = b.readUInt16LE(p + 30);
    const comment = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const name = b.toString("utf8", p + 46, p + 46 + nameLen);
    const dataStart = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    const data = b.subarray(dataStart, dataStart + size);
    entries.set(name, method === 8 ? inflateRawSync(data) : data);
    p += 46 + nameLen + extra + comment;
  }
  return entries;
}

type TaskJson = {
  name: string;
  id: string;
  outputVariables?: { name: string }[];
  restrictions?: { settableVariables?: { allowed?: string[] } };
};
const outputNames = (t: TaskJson) => (t.outputVariables ?? []).map((o) => o.name).sort();
const settable = (t: TaskJson) => [...(t.restrictions?.settableVariables?.allowed ?? [])].sort();

describe("task manifests", () => {
  it("contributes the five tasks of the design and the release gate", () => {
    assert.deepEqual(taskNames.sort(), [
      "Ev2RolloutGate",
      "FollowRollout",
      "GateApproval",
      "StressTestStage",
      "TeamsNotify",
      "TriggerEv2Rollout",
    ]);
  });

  for (const name of taskNames) {
    it(`${name}: GUID id, handlers, labelled inputs with help, valid groups and visible rules`, () => {
      const t = read(`tasks/${name}/task.json`);
      assert.match(t.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(t.name, name);
      if (t.runsOn?.includes("ServerGate")) assert.ok(t.execution.HttpRequest);
      else {
        assert.deepEqual(Object.keys(t.execution).sort(), ["Node20_1", "Node24"]);
        assert.equal(t.execution.Node20_1.target, t.execution.Node24.target);
      }
      const groups = new Set((t.groups ?? []).map((g: { name: string }) => g.name));
      const inputNames = new Set(t.inputs.map((i: { name: string }) => i.name));
      for (const input of t.inputs) {
        assert.ok(input.label, `${input.name} has a label`);
        assert.ok(input.helpMarkDown?.length > 10, `${input.name} has help text`);
        if (input.groupName)
          assert.ok(groups.has(input.groupName), `${input.name}'s group ${input.groupName} exists`);
        for (const m of String(input.visibleRule ?? "").matchAll(/([A-Za-z]+)\s*(=|!=)/g))
          assert.ok(inputNames.has(m[1]), `${input.name}'s visibleRule names ${m[1]}`);
        if (input.type === "pickList" && input.options)
          assert.ok(input.options[input.defaultValue ?? Object.keys(input.options)[0]] !== undefined);
        else if (input.type === "pickList") {
          // A pick list fed by the EV2 connection: editable (variables still work) and bound.
          assert.equal(input.properties?.EditableOptions, "True", `${input.name} is editable`);
          assert.ok(
            (t.dataSourceBindings ?? []).some((b: { target: string }) => b.target === input.name),
            `${input.name} has a data source binding`,
          );
        }
      }
      assert.ok(statSync(join(root, "tasks", name, "icon.png")).size > 0);
      assert.deepEqual(pngSize(join(root, "tasks", name, "icon.png")), [32, 32]);
    });
  }

  const repository = read("vss-extension.json").repository.uri as string;
  /** The anchors GitHub gives README.md's headings. */
  const readmeAnchors = new Set(
    [...readFileSync(join(root, "README.md"), "utf8").matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, "")
        .replace(/ /g, "-"),
    ),
  );
  for (const name of taskNames) {
    it(`${name}: may set exactly its output variables; its help links its README section`, () => {
      const t = read(`tasks/${name}/task.json`);
      if (t.execution.HttpRequest) assert.equal(t.restrictions, undefined);
      else assert.deepEqual(settable(t), outputNames(t));
      const link = /\[Learn more\]\(([^)#]+)#([^)]+)\)/.exec(t.helpMarkDown);
      assert.ok(link, `${name}'s helpMarkDown links the README: ${t.helpMarkDown}`);
      assert.equal(link[1], repository);
      assert.ok(readmeAnchors.has(link[2]), `README.md has a heading for #${link[2]}`);
    });
  }

  it("keeps the public input and output names (docs/tasks-interface.md is generated from task.json)", () => {
    // The names users' pipelines depend on (../shared/tasks-interface.md): never renamed.
    const publicNames: Record<string, { inputs: string[]; outputs: string[] }> = {
      TriggerEv2Rollout: {
        inputs: [
          "serviceGroupName",
          "serviceId",
          "stageMapName",
          "environment",
          "artifactVersion",
          "stageMapVersion",
          "selectionScope",
          "exclusionScope",
          "onConcurrentRollout",
          "idempotencyKey",
          "createTrackingBranch",
          "trackingBranch",
          "repository",
        ],
        outputs: ["rolloutId", "artifactVersion", "stageMapVersion", "dashboardUrl", "trackingBranch"],
      },
      FollowRollout: {
        inputs: [
          "rolloutId",
          "until",
          "stageName",
          "pollingIntervalSeconds",
          "timeoutMinutes",
          "onFailure",
          "onPipelineCancel",
        ],
        outputs: [
          "rolloutStatus",
          "currentStage",
          "completedStages",
          "deployedRegions",
          "pendingRegions",
          "waitActionId",
          "waitingStage",
          "failedStage",
          "newRegions",
        ],
      },
      StressTestStage: {
        inputs: [
          "endpoints",
          "endpointsFile",
          "connections",
          "rate",
          "durationSeconds",
          "warmupSeconds",
          "timeoutMs",
          "readinessTimeoutSeconds",
          "thresholds",
          "bearerToken",
          "onThresholdFailure",
          "rolloutId",
        ],
        outputs: ["passed", "errorRate", "p50Ms", "p95Ms", "p99Ms", "requestsPerSecond", "resultFile"],
      },
      GateApproval: {
        inputs: [
          "rolloutId",
          "actionId",
          "decision",
          "comment",
          "evidence",
          "waitTimeoutMinutes",
          "onUnhealthy",
          "requireApproval",
        ],
        outputs: ["decision", "actionId", "decidedBy"],
      },
      TeamsNotify: {
        inputs: ["webhookUrl", "notification", "rolloutId", "stressResultFile", "failOnError"],
        outputs: ["delivered"],
      },
    };
    const iface = readFileSync(join(root, "docs", "tasks-interface.md"), "utf8");
    for (const [task, names] of Object.entries(publicNames)) {
      assert.ok(
        iface.includes(`## ${task}\n\n<!-- task-tables:${task} -->`),
        `docs/tasks-interface.md has ${task}`,
      );
      const t = read(`tasks/${task}/task.json`);
      const inputs = new Set(t.inputs.map((i: { name: string }) => i.name));
      const outputs = new Set((t.outputVariables ?? []).map((o: { name: string }) => o.name));
      for (const n of names.inputs) assert.ok(inputs.has(n), `${task} input ${n}`);
      for (const n of names.outputs) assert.ok(outputs.has(n), `${task} output ${n}`);
    }
  });
});

describe("the .vsix (tfx-cli, offline)", function () {
  this.timeout(180_000);
  const releaseVsix = () => {
    const manifest = read("vss-extension.json");
    return join(root, "out", `${manifest.publisher}.${manifest.id}-${manifest.version}.vsix`);
  };
  before(() => {
    execFileSync(process.execPath, [join(root, "scripts", "package.mjs"), "--env", "release"], {
      cwd: root,
      stdio: "pipe",
    });
  });

  it("packages every task folder and the extension icon, no node_modules, under 3 MB", () => {
    const manifest = read("vss-extension.json");
    const vsix = releaseVsix();
    assert.ok(statSync(vsix).size <= 3 * 1024 * 1024, `${statSync(vsix).size} bytes`);
    const entries = zipEntries(vsix);
    const names = [...entries.keys()];
    assert.ok(!names.some((n) => n.includes("node_modules")));
    assert.ok(names.includes("images/extension-icon.png"));
    assert.ok(names.includes("overview.md"));
    // Every picture the Marketplace page shows travels in the package.
    const overview = readFileSync(join(root, "overview.md"), "utf8");
    for (const [, picture] of overview.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g))
      assert.ok(names.includes(picture), `${picture} (shown by overview.md) is in the .vsix`);
    for (const task of taskNames) {
      const taskJson = JSON.parse(entries.get(`tasks/${task}/task.json`)!.toString("utf8"));
      assert.ok(names.includes(`tasks/${task}/icon.png`), `${task} icon`);
      assert.equal(taskJson.name, task);
      if (taskJson.execution.Node20_1)
        assert.deepEqual(settable(taskJson), outputNames(taskJson), `${task} settable variables`);
      if (taskJson.execution.Node20_1)
        assert.ok(names.includes(`tasks/${task}/${taskJson.execution.Node20_1.target}`), `${task} bundle`);
    }
    const vsixManifest = entries.get("extension.vsixmanifest")!.toString("utf8");
    assert.match(vsixManifest, /<GalleryFlags>Public Preview<\/GalleryFlags>/);
    const repository = manifest.repository.uri;
    for (const [link, uri] of [
      ["Repository", repository],
      ["Support", `${repository}/issues`],
      ["License", `${repository}/blob/main/LICENSE`],
    ])
      assert.ok(
        vsixManifest.includes(`Id="Microsoft.VisualStudio.Services.Links.${link}" Value="${uri}"`),
        `the ${link} link`,
      );
    assert.ok(existsSync(join(root, "LICENSE")));
    assert.ok(entries.get("overview.md")!.toString("utf8").includes(`](${repository}#readme)`));
    const icon = join(root, "images", "extension-icon.png");
    assert.deepEqual(pngSize(icon), [128, 128]);
  });

  // What a pipeline runs is what the tests run: no variable, host or flag that only tests use
  // may change how a shipped task behaves.
  const testSwitches: Array<[string, RegExp]> = [
    ["a polling override variable", /PollingInterval\w*Override|Ev2\.\w*Override/i],
    ["a test or simulator switch", /Ev2\.(Test|Sim)\w*|EV2_TEST|NODE_ENV\s*===?\s*["']test/],
    [
      "an exception for plain http to this machine",
      /plain http only|"127\.0\.0\.1",\s*"localhost",\s*"\[::1\]"/,
    ],
  ];
  it("carries no test-only switch in any shipped file", () => {
    const entries = zipEntries(releaseVsix());
    const scanned = [...entries].filter(([name]) => /\.(js|json)$/.test(name));
    assert.ok(
      scanned.some(([name]) => name === "tasks/FollowRollout/index.js"),
      "the bundles are scanned",
    );
    for (const [name, content] of scanned) {
      const text = content.toString("utf8");
      for (const [what, pattern] of testSwitches)
        assert.doesNotMatch(text, pattern, `${name} carries ${what}`);
    }
  });

  it("carries no source map (they stay in dist/sourcemaps, for the coverage report)", () => {
    const entries = zipEntries(releaseVsix());
    assert.deepEqual(
      [...entries.keys()].filter((name) => name.endsWith(".map")),
      [],
    );
    for (const [name, content] of entries)
      if (name.endsWith(".js")) assert.doesNotMatch(content.toString("utf8"), /sourceMappingURL/, name);
  });

  it("gives the dev package its own id, task GUIDs and endpoint type", () => {
    execFileSync(process.execPath, [join(root, "scripts", "package.mjs"), "--env", "dev"], {
      cwd: root,
      stdio: "pipe",
    });
    const manifest = read("vss-extension.json");
    const vsix = join(root, "out", `${manifest.publisher}.${manifest.id}-dev-${manifest.version}.vsix`);
    const entries = zipEntries(vsix);
    const devTasks = taskNames.map(
      (t) => JSON.parse(entries.get(`tasks/${t}/task.json`)!.toString("utf8")) as TaskJson,
    );
    const releaseTasks = taskNames.map((t) => read(`tasks/${t}/task.json`) as TaskJson);
    // Installed side by side, a name or GUID in both would make "task name is ambiguous".
    assert.deepEqual(
      devTasks.map((t) => t.name),
      taskNames.map((t) => `${t}Dev`),
    );
    for (const dev of devTasks) {
      assert.ok(!releaseTasks.some((r) => r.id === dev.id || r.name === dev.name), dev.name);
      if (dev.outputVariables) assert.deepEqual(settable(dev), outputNames(dev), dev.name);
    }
    const trigger = JSON.parse(entries.get("tasks/TriggerEv2Rollout/task.json")!.toString("utf8"));
    assert.notEqual(trigger.id, read("tasks/TriggerEv2Rollout/task.json").id);
    assert.match(trigger.friendlyName, /\(dev\)$/);
    assert.equal(
      trigger.inputs.find((i: { name: string }) => i.name === "ev2Connection").type,
      "connectedService:ev2rollout-dev",
    );
    const devManifest = entries.get("extension.vsixmanifest")!.toString("utf8");
    assert.match(devManifest, /Id="ev2-rollout-tasks-dev"/);
    assert.match(devManifest, /<GalleryFlags>Preview<\/GalleryFlags>/);
  });
});
