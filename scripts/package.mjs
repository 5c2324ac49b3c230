// Builds the .vsix with tfx-cli, offline, from dist/tasks (run `npm run build` first).
//   node scripts/package.mjs [--env dev|release]   (default: dev)
// dev: private, "-dev" extension id, its own task GUIDs, task names ("...Dev") and endpoint type, so
// it installs beside the public one without "task name is ambiguous". release: public. Both come
// from the one vss-extension.json; both carry the Preview flag while the version is 0.x.
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { devTaskId } from "./derived-guid.mjs";

const root = new URL("..", import.meta.url).pathname;
const envIndex = process.argv.indexOf("--env");
const env = envIndex > 0 ? process.argv[envIndex + 1] : "dev";
if (!["dev", "release"].includes(env)) throw new Error(`--env must be dev or release (got ${env})`);

const manifest = JSON.parse(readFileSync(join(root, "vss-extension.json"), "utf8"));
Object.assign(manifest, JSON.parse(readFileSync(join(root, "configs", `${env}.json`), "utf8")));
if (manifest.version.startsWith("0.")) {
  manifest.galleryFlags = [...new Set([...(manifest.galleryFlags ?? []), "Preview"])];
}
const stage = join(root, "out", env);
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const endpointType = env === "dev" ? "ev2rollout-dev" : "ev2rollout";
for (const file of manifest.files) {
  const source = join(root, file.path);
  if (!existsSync(source)) throw new Error(`${file.path} is missing: run npm run build first`);
  const target = join(stage, file.packagePath ?? file.path);
  cpSync(source, target, { recursive: true });
  file.path = file.packagePath ?? file.path;
  delete file.packagePath;
  const taskJson = join(target, "task.json");
  if (existsSync(taskJson)) {
    const task = JSON.parse(readFileSync(taskJson, "utf8"));
    if (env === "dev") {
      task.id = devTaskId(task.id);
      task.name = `${task.name}Dev`;
      task.friendlyName = `${task.friendlyName} (dev)`;
      for (const input of task.inputs) {
        if (input.type === "connectedService:ev2rollout") input.type = `connectedService:${endpointType}`;
      }
    }
    writeFileSync(taskJson, JSON.stringify(task, null, 2));
  }
}
for (const c of manifest.contributions) {
  if (c.type === "ms.vss-endpoint.service-endpoint-type") {
    c.properties.name = endpointType;
    if (env === "dev") c.properties.displayName += " (dev)";
  }
}
cpSync(join(root, "overview.md"), join(stage, "overview.md"));
cpSync(join(root, "images"), join(stage, "images"), { recursive: true });
writeFileSync(join(stage, "vss-extension.json"), JSON.stringify(manifest, null, 2));

mkdirSync(join(root, "out"), { recursive: true });
const vsix = join(root, "out", `${manifest.publisher}.${manifest.id}-${manifest.version}.vsix`);
const tfx = join(root, "node_modules", ".bin", "tfx");
execFileSync(
  tfx,
  [
    "extension",
    "create",
    "--root",
    stage,
    "--manifest-globs",
    "vss-extension.json",
    "--output-path",
    vsix,
    "--no-prompt",
  ],
  {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TFX_TRACE: "" },
  },
);

const walk = (dir) =>
  readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)],
  );
if (walk(stage).some((f) => f.includes("node_modules")))
  throw new Error("the package would ship node_modules");
const size = statSync(vsix).size;
console.log(`${env} package: ${vsix} (${(size / 1024).toFixed(0)} KiB)`);
if (size > 3 * 1024 * 1024)
  throw new Error(`the .vsix is ${(size / 1048576).toFixed(2)} MB, over the 3 MB budget`);
