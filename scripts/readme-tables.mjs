// Regenerates the input/output tables of README.md and docs/tasks-interface.md from each
// task.json, so the docs cannot drift:
//   node scripts/readme-tables.mjs          rewrite both
//   node scripts/readme-tables.mjs --check  exit 1 when either is stale (used by the tests)
import { readFileSync, writeFileSync } from "node:fs";
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
      i.type === "pickList"
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

export function renderReadme(text) {
  return text.replace(
    /(<!-- task-tables:(\w+) -->)[\s\S]*?(<!-- \/task-tables -->)/g,
    (_m, open, task, close) => `${open}\n${tablesFor(task)}\n${close}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let stale = false;
  for (const path of [readmePath, join(root, "docs", "tasks-interface.md")]) {
    const current = readFileSync(path, "utf8");
    const next = renderReadme(current);
    if (process.argv.includes("--check")) {
      if (next !== current) {
        console.error(`${path}'s task tables are stale: run node scripts/readme-tables.mjs`);
        stale = true;
      }
    } else {
      writeFileSync(path, next);
      console.log(`${path} task tables regenerated`);
    }
  }
  if (stale) process.exit(1);
}
