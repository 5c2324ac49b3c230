// Regenerates the input/output tables of README.md and docs/tasks-interface.md from each
// task.json, and README's performance table from the newest bench/results/*.json that
// `npm run bench` wrote, so the docs cannot drift:
//   node scripts/readme-tables.mjs          rewrite both
//   node scripts/readme-tables.mjs --check  exit 1 when either is stale (used by the tests)
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const readmePath = join(root, "README.md");

const cell = (s) =>
  String(s ?? "")
    .replace(/\|/g, "\\|")
    .replace(/\r?\n/g, " ");

export function tablesFor(task) {
  const t = JSON.parse(readFileSync(join(root, "tasks", task, "task.json"), "utf8"));
  const rows = t.inputs.map((i) => {
    const type =
      i.type === "pickList" && !i.options
        ? "text (pick list from the EV2 connection)"
        : i.type === "pickList"
          ? Object.keys(i.options)
              .map((o) => `\`${o}\``)
              .join(" | ")
          : i.type.replace(/^connectedService:/, "connection: ");
    const def = i.defaultValue === undefined || i.defaultValue === "" ? "" : `\`${cell(i.defaultValue)}\``;
    return `| \`${i.name}\` | ${cell(type)} | ${i.required ? "yes" : ""} | ${def} | ${cell(i.helpMarkDown)} |`;
  });
  const out = [
    "| Input | Type | Required | Default | What it does |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ];
  if (t.outputVariables?.length) {
    out.push(
      "",
      "| Output variable | Meaning |",
      "| --- | --- |",
      ...t.outputVariables.map((o) => `| \`${o.name}\` | ${cell(o.description)} |`),
    );
  }
  return out.join("\n");
}

/** The parts of `npm run bench`, in the order README's table shows them. */
const BENCH_PARTS = ["startup", "follow", "stress", "judge"];
const partOf = (figure) => figure.id.split(".")[0];

/**
 * The newest results file of `npm run bench` (names start with the run's UTC date and time) and,
 * when it ran only some parts (`npm run bench -- judge`), for each other part the newest file
 * that ran it (`earlier`): a partial run does not drop the figures it did not measure.
 */
export function newestBenchResults(dir = join(root, "bench", "results")) {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .reverse()
    : [];
  if (files.length === 0) return undefined;
  const read = (file) => ({
    file: `bench/results/${file}`,
    run: JSON.parse(readFileSync(join(dir, file), "utf8")),
  });
  const newest = read(files[0]);
  const covered = new Set(newest.run.parts ?? BENCH_PARTS);
  const earlier = [];
  for (const file of files.slice(1)) {
    const older = read(file);
    const parts = (older.run.parts ?? BENCH_PARTS).filter((p) => !covered.has(p));
    if (parts.length === 0) continue;
    parts.forEach((p) => covered.add(p));
    earlier.push({ ...older, parts });
  }
  return { ...newest, earlier };
}

function describeRun(file, run) {
  return (
    `[\`${file}\`](${file}): commit \`${run.commit}\`, ${run.date.slice(0, 16).replace("T", " ")} UTC, ` +
    `${run.cores} cores (${cell(run.cpu)}), Node ${run.node}, load average ${run.loadAverage.start} at the start ` +
    `and ${run.loadAverage.end} at the end`
  );
}

export function benchTable(newest = newestBenchResults()) {
  if (!newest) return "No results yet: run `npm run bench`, then `npm run docs`.";
  const { file, run } = newest;
  const earlier = newest.earlier ?? [];
  const met = (f) => (f.met === undefined ? "" : f.met ? "yes" : "**no**");
  const figures = [
    ...run.figures,
    ...earlier.flatMap((e) => e.run.figures.filter((f) => e.parts.includes(partOf(f)))),
  ];
  const rank = (f) => {
    const i = BENCH_PARTS.indexOf(partOf(f));
    return i < 0 ? BENCH_PARTS.length : i;
  };
  figures.sort((a, b) => rank(a) - rank(b));
  const sources =
    earlier.length === 0
      ? [`From ${describeRun(file, run)}.`]
      : [
          `${(run.parts ?? []).join(", ")} from ${describeRun(file, run)}.`,
          ...earlier.map((e) => `${e.parts.join(", ")} from ${describeRun(e.file, e.run)}.`),
        ].flatMap((line, i) => (i === 0 ? [line] : ["", line]));
  return [
    ...sources,
    "",
    "| What | Measured (side by side in that run) | Aim | Met |",
    "| --- | --- | --- | --- |",
    ...figures.map((f) => `| ${cell(f.what)} | ${cell(f.measured)} | ${cell(f.aim)} | ${met(f)} |`),
  ].join("\n");
}

export function renderReadme(text) {
  return text
    .replace(
      /(<!-- task-tables:(\w+) -->)[\s\S]*?(<!-- \/task-tables -->)/g,
      (_m, open, task, close) => `${open}\n${tablesFor(task)}\n${close}`,
    )
    .replace(
      /(<!-- bench-table -->)[\s\S]*?(<!-- \/bench-table -->)/,
      (_m, open, close) => `${open}\n${benchTable()}\n${close}`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let stale = false;
  for (const path of [readmePath, join(root, "docs", "tasks-interface.md")]) {
    const current = readFileSync(path, "utf8");
    const next = renderReadme(current);
    if (process.argv.includes("--check")) {
      if (next !== current) {
        console.error(`${path}'s generated tables are stale: run npm run docs`);
        stale = true;
      }
    } else {
      writeFileSync(path, next);
      console.log(`${path} task tables regenerated`);
    }
  }
  if (stale) process.exit(1);
}
