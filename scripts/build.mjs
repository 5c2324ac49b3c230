// Bundles each task's index.ts into the single file its task.json names, and copies task.json
// and icon.png beside it: dist/tasks/<Task>/ is exactly what the .vsix ships.
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);
const tasks = readdirSync(join(root, "tasks")).filter((t) => existsSync(join(root, "tasks", t, "task.json")));

await Promise.all(
  tasks
    .filter((t) => only.length === 0 || only.includes(t))
    .map(async (task) => {
      const src = join(root, "tasks", task);
      const out = join(root, "dist", "tasks", task);
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(src, "task.json"), "utf8"));
      const target = manifest.execution?.Node20_1?.target;
      if (target) {
        await build({
          entryPoints: [join(src, "index.ts")],
          outfile: join(out, target),
          bundle: true,
          platform: "node",
          target: "node20",
          format: "cjs",
          minify: true,
          legalComments: "none",
          logLevel: "warning",
          // Optional native/cloud extras of dependencies that these tasks never use.
          external: ["@azure/msal-node-extensions", "keytar", "dtrace-provider"],
        });
      }
      cpSync(join(src, "task.json"), join(out, "task.json"));
      cpSync(join(src, "icon.png"), join(out, "icon.png"));
    }),
);
console.log(`built ${tasks.length} task(s) into dist/tasks`);
