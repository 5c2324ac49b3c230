// Coverage of `npm test`, reported in two parts from the one run's data (coverage/tmp):
// the code that ships (shared/ and tasks/) and the tools that never ship (the simulators, the
// local pipeline runner, the demo and the benchmarks), so the tools' coverage cannot flatter the
// shipped figure. The shipped part counts both what the library tests ran in-process and what the
// built task bundles ran in the tests' child processes, mapped back onto the sources through the
// bundles' source maps (scripts/bundle-coverage.mjs).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import c8 from "c8";
import { bundleCoverage } from "./bundle-coverage.mjs";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const tempDirectory = "coverage/tmp";
const exclude = ["test/**", "**/*.test.ts"];

console.log("\nShipped code (shared/, tasks/): the library in-process and the built task bundles");
const shipped = c8.Report({
  include: ["shared/**", "tasks/**"],
  exclude,
  reporter: ["text-summary", "html", "text"],
  reportsDirectory: "coverage/shipped",
  tempDirectory,
  resolve: "",
  omitRelative: true,
  excludeNodeModules: true,
  all: false,
});
const map = await shipped.getCoverageMapFromAllCoverageFiles();
map.merge(bundleCoverage(tempDirectory, root));
await shipped.run(); // reports the map above (c8 keeps it)

console.log("\nTools, not shipped (sim/, pipeline/, demo/, bench/)");
const args = ["c8", "report", "--temp-directory", tempDirectory, "--report-dir", "coverage/tools"];
for (const reporter of ["text-summary", "html"]) args.push("--reporter", reporter);
for (const pattern of ["sim/**", "pipeline/**", "demo/**", "bench/**"]) args.push("--include", pattern);
const tools = spawnSync("npx", args, { stdio: "inherit" });
process.exitCode = tools.status ?? 1;
