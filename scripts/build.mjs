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
import { createRequire } from "node:module";
import { join } from "node:path";
import { sourceHash, stampFile } from "./build-stamp.mjs";

const root = new URL("..", import.meta.url).pathname;

// Packages that a run needs late or not at all, each bundled into its own file beside the task
// and required on first use, so that a task's start-up never parses them (V8 parses every byte of
// a bundle before its first line runs, used or not) and, for the deferred ones, never runs their
// module code before its first request.
// - on import: the Entra ID path, the Azure DevOps REST client (with typed-rest-client, in the
//   same file, so that the code patches the copy the client uses) and the YAML parser (endpoints
//   files), which the code imports dynamically when a run needs them;
// - deferred: HdrHistogram (and pako under it), imported statically by the latency histograms,
//   loaded only when a member is first read (the first histogram: after the readiness probe,
//   when the load starts; never for a GateApproval run without a stress result).
const lazyPackages = {
  "@azure/identity": { file: "azure-identity.js" },
  "azure-devops-node-api": { file: "azure-devops-node-api.js" },
  "typed-rest-client": { file: "azure-devops-node-api.js" },
  yaml: { file: "yaml.js" },
  "hdr-histogram-js": { file: "hdr-histogram-js.js", deferred: true },
};
const requireFromRoot = createRequire(new URL("../package.json", import.meta.url));

/**
 * A module whose exports are getters that evaluate `load` (a require expression) on the first
 * read: esbuild's import interop keeps reading through them, so `instanceof X`, `new X()` or
 * `tls.connect()` is the first read. The names are those of `real`, read here at build time.
 */
function deferredStub(load, real) {
  return [
    `let m;`,
    `Object.defineProperty(exports, "__esModule", { value: ${real.__esModule === true} });`,
    `for (const k of ${JSON.stringify(Object.keys(real))})`,
    `  Object.defineProperty(exports, k, { enumerable: true, get: () => (m ??= ${load})[k] });`,
  ].join("\n");
}

/**
 * The stub that stands for `spec` (a lazy package or a module inside one) in the task's bundle:
 * the lazy file exports every module of its packages the task imports, by specifier.
 */
function lazyStub(spec, { file, deferred }) {
  const load = `require("./${file}")[${JSON.stringify(spec)}]`;
  return deferred ? deferredStub(load, requireFromRoot(spec)) : `module.exports = ${load};`;
}

// Node's TLS (and https over it) loads some 25 modules, most of node:crypto with them: only an
// https call needs it, so a run whose calls are all plain http never loads it (the http ones are
// loaded for the first call anyway).
const deferredBuiltins = ["crypto", "https", "tls"];

function deferredBuiltinsPlugin() {
  return {
    name: "deferred-builtins",
    setup(b) {
      const filter = new RegExp(`^(node:)?(${deferredBuiltins.join("|")})$`);
      // The stub's own require of the module stays Node's.
      b.onResolve({ filter }, (args) =>
        args.namespace === "deferred-builtin"
          ? { path: args.path, external: true }
          : { path: args.path.replace(/^node:/, ""), namespace: "deferred-builtin" },
      );
      b.onLoad({ filter: /.*/, namespace: "deferred-builtin" }, (args) => ({
        contents: deferredStub(`require("node:${args.path}")`, requireFromRoot(`node:${args.path}`)),
        loader: "js",
      }));
    },
  };
}

/** `used` collects, for each lazy file the task needs, the specifiers it imports from it. */
function lazyPackagesPlugin(used) {
  const names = Object.keys(lazyPackages);
  const files = [...new Set(Object.values(lazyPackages).map((p) => p.file))];
  const escape = (s) => s.replace(/[/.]/g, "\\$&");
  return {
    name: "lazy-packages",
    setup(b) {
      const filter = new RegExp(`^(${names.map(escape).join("|")})(/.*)?$`);
      // The package becomes a small CommonJS stub that requires the file beside the bundle:
      // esbuild evaluates the stub (and so loads the file) only when the code first imports it.
      b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "lazy-package" }));
      b.onLoad({ filter: /.*/, namespace: "lazy-package" }, (args) => {
        const pkg = names.find((n) => args.path === n || args.path.startsWith(`${n}/`));
        const { file } = lazyPackages[pkg];
        if (!used.has(file)) used.set(file, new Set());
        used.get(file).add(args.path);
        return { contents: lazyStub(args.path, lazyPackages[pkg]), loader: "js" };
      });
      b.onResolve({ filter: new RegExp(`^\\./(${files.map(escape).join("|")})$`) }, (args) => ({
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
        const used = new Map();
        await build({
          plugins: [lazyPackagesPlugin(used), deferredBuiltinsPlugin()],
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
        for (const [file, specs] of used) {
          const exports = [...specs].sort().map((s) => `${JSON.stringify(s)}: require(${JSON.stringify(s)})`);
          await build({
            stdin: { contents: `module.exports = { ${exports.join(", ")} };`, resolveDir: root },
            outfile: join(out, file),
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
