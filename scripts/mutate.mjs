// A small mutation check, run by hand: `node scripts/mutate.mjs [name ...]`.
// Applies each mutation below to the source one at a time (a plain string replacement), runs the
// tests meant to catch it, expects them to fail, and puts the source back. Mutations of code the
// built-task tests run are built first (`npm run build`); the bundles are rebuilt from the
// restored sources at the end. Exits 1 when a mutant survives (its tests pass).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** name, file, text to replace (must occur exactly once), replacement, tests, needs a build. */
const mutations = [
  {
    name: "idempotency key without the release deployment id",
    file: "shared/rollout/trigger.ts",
    from: ':${run.releaseDeploymentId ?? ""}`',
    to: "`",
    tests: ["test/unit/idempotency-key.test.ts"],
  },
  {
    name: "no total-wait cap on retries",
    file: "shared/http/request.ts",
    from: "if (waited + delayMs > policy.maxTotalWaitMs) {",
    to: "if (false) {",
    tests: ["test/unit/send-with-retry.test.ts"],
  },
  {
    name: "&& -> || in the latency-distribution verdict (slower)",
    file: "shared/stress/distribution.ts",
    from: "pSlower < DISTRIBUTION_ALPHA && cliffsDelta >= NEGLIGIBLE_EFFECT",
    to: "pSlower < DISTRIBUTION_ALPHA || cliffsDelta >= NEGLIGIBLE_EFFECT",
    tests: ["test/stress/baseline.test.ts"],
  },
  {
    name: "&& -> || in the latency-distribution verdict (faster)",
    file: "shared/stress/distribution.ts",
    from: "pFaster < DISTRIBUTION_ALPHA && cliffsDelta <= -NEGLIGIBLE_EFFECT",
    to: "pFaster < DISTRIBUTION_ALPHA || cliffsDelta <= -NEGLIGIBLE_EFFECT",
    tests: ["test/stress/baseline.test.ts"],
  },
  {
    name: "secret masking without the JSON-escaped form",
    file: "shared/agent/secret-mask.ts",
    from: "    JSON.stringify(secret).slice(1, -1),\n",
    to: "",
    tests: ["test/unit/secret-mask.test.ts"],
  },
  {
    name: "case-sensitive ##vso[ escaping",
    file: "shared/agent/logging-commands.ts",
    from: "/##(vso)?\\[/gi",
    to: "/##(vso)?\\[/g",
    tests: ["test/unit/logging-commands.test.ts"],
  },
  {
    name: "the first ETag kept instead of the newest",
    file: "shared/rollout/follow.ts",
    from: "etag = got.etag;",
    to: "etag = etag ?? got.etag;",
    tests: ["test/tasks/follow.test.ts"],
    grep: "follows a rollout to completion",
    build: true,
  },
  {
    name: "polling interval without * 1000",
    file: "shared/tasks/follow-task.ts",
    from: "s.pollingIntervalSeconds * 1000",
    to: "s.pollingIntervalSeconds",
    tests: ["test/tasks/follow-polling.test.ts"],
    grep: "default interval",
    build: true,
  },
  {
    name: "rollback not looked up across runs",
    file: "shared/rollout/trigger.ts",
    from: "  if (s.rollbackOf) {\n    const earlier",
    to: "  if (false) {\n    const earlier",
    tests: ["test/tasks/rollback.test.ts"],
    grep: "another pipeline run",
    build: true,
  },
];

const run = (command, args) =>
  spawnSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const build = () => {
  const b = run("npm", ["run", "-s", "build"]);
  if (b.status !== 0) throw new Error(`npm run build failed:\n${b.stdout}${b.stderr}`);
};

const wanted = process.argv.slice(2);
const chosen = mutations.filter((m) => wanted.length === 0 || wanted.some((w) => m.name.includes(w)));
let survivors = 0;
let built = false;
for (const m of chosen) {
  const path = join(root, m.file);
  const original = readFileSync(path, "utf8");
  const count = original.split(m.from).length - 1;
  if (count !== 1) {
    console.error(
      `✗ ${m.name}: ${m.file} holds the text to mutate ${count} times (expected once); update scripts/mutate.mjs`,
    );
    survivors++;
    continue;
  }
  const restore = () => writeFileSync(path, original);
  const interrupted = () => {
    restore();
    process.exit(130);
  };
  process.once("SIGINT", interrupted);
  try {
    writeFileSync(path, original.replace(m.from, m.to));
    if (m.build) {
      build();
      built = true;
    }
    const args = [
      "mocha",
      "--no-config",
      "--node-option",
      "import=tsx",
      "--extension",
      "ts",
      "--timeout",
      "120000",
    ];
    const t = run("npx", [...args, ...(m.grep ? ["--grep", m.grep] : []), ...m.tests]);
    if (t.status === 0) {
      survivors++;
      console.log(`✗ survived: ${m.name} (${m.file}); ${m.tests.join(" ")} pass with it`);
    } else {
      const failing = /(\d+) failing/.exec(t.stdout)?.[1] ?? "?";
      console.log(`✓ killed: ${m.name} (${failing} failing)`);
    }
  } finally {
    restore();
    process.removeListener("SIGINT", interrupted);
  }
}
if (built) build();
console.log(`${chosen.length - survivors} of ${chosen.length} mutants killed`);
process.exitCode = survivors > 0 ? 1 : 0;
