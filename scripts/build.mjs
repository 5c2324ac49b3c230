// Bundles each task's index.ts into the single file its task.json names, and copies task.json
// and icon.png beside it: dist/tasks/<Task>/ is exactly what the .vsix ships.
import { build } from "esbuild";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sourceHash, stampFile } from "./build-stamp.mjs";

const root = new URL("..", import.meta.url).pathname;

// Heavy packages only some runs need (the Entra ID path, the Azure DevOps REST client). Each is
// bundled into its own file beside the task and required on first use, so a task's start-up
// never parses them when it does not use them.
const lazyPackages = {
  "@azure/identity": "azure-identity.js",
  "azure-devops-node-api": "azure-devops-node-api.js",
};

function lazyPackagesPlugin(used) {
  const names = Object.keys(lazyPackages);
  return {
    name: "lazy-packages",
    setup(b) {
      const filter = new RegExp(`^(${names.map((p) => p.replace(/[/.]/g, "\\$&")).join("|")})$`);
      // The package becomes a small CommonJS stub that requires the file beside the bundle:
      // esbuild evaluates the stub (and so loads the file) only when the code first imports it.
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "lazy-package" }));
      b.onLoad({ filter: /.*/, namespace: "lazy-package" }, (args) => {
        used.add(args.path);
        return { contents: `module.exports = require("./${lazyPackages[args.path]}");`, loader: "js" };
      });
      b.onResolve({ filter: /^\.\/(azure-identity|azure-devops-node-api)\.js$/ }, (args) => ({
        path: args.path,
        external: true,
      }));
    },
  };
}
const bundleOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  // Optional native/cloud extras of dependencies that these tasks never use.
  external: ["@azure/msal-node-extensions", "keytar", "dtrace-provider"],
};

const only = process.argv.slice(2);
const sources = sourceHash(root);
const tasks = readdirSync(join(root, "tasks")).filter((t) => existsSync(join(root, "tasks", t, "task.json")));

await Promise.all(
  tasks
    .filter((t) => only.length === 0 || only.includes(t))
    .map(async (task) => {
      const src = join(root, "tasks", task);
      const out = join(root, "dist", "tasks", task);
      rmSync(out, { recursive: true, force: true });
      rmSync(join(root, "dist", "sourcemaps", task), { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(src, "task.json"), "utf8"));
      const target = manifest.execution?.Node20_1?.target;
      if (target) {
        const used = new Set();
        await build({
          plugins: [lazyPackagesPlugin(used)],
          entryPoints: [join(src, "index.ts")],
          outfile: join(out, target),
          ...bundleOptions,
          // The map goes beside, never into, what ships: the bundle carries no sourceMappingURL
          // and dist/sourcemaps is not packaged. The coverage report maps the bundles' coverage
          // back onto shared/ and tasks/ with it (scripts/coverage-report.mjs). Same folder depth
          // as the bundle, so the map's relative source paths hold.
          sourcemap: "external",
          sourcesContent: false,
        });
        const maps = join(root, "dist", "sourcemaps", task);
        mkdirSync(maps, { recursive: true });
        renameSync(join(out, `${target}.map`), join(maps, `${target}.map`));
        for (const pkg of used) {
          await build({
            stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: root },
            outfile: join(out, lazyPackages[pkg]),
            ...bundleOptions,
          });
        }
      }
      cpSync(join(src, "task.json"), join(out, "task.json"));
      cpSync(join(src, "icon.png"), join(out, "icon.png"));
    }),
);
// A partial build (`npm run build -- Task`) leaves the other bundles as they were: no stamp.
if (only.length === 0) writeFileSync(join(root, stampFile), JSON.stringify({ sources }) + "\n");
else rmSync(join(root, stampFile), { force: true });
console.log(`built ${tasks.length} task(s) into dist/tasks`);
