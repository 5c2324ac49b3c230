// Coverage of `npm test`, reported in two parts from the one run's data (coverage/tmp):
// the code that ships (shared/ and tasks/, run in-process by the library tests) and the tools
// that never ship (the simulators, the local pipeline runner, the demo and the benchmarks), so
// the tools' coverage cannot flatter the shipped figure. The built tasks that tests run in child
// processes are minified bundles and are not counted here (see README, "not done yet").
import { spawnSync } from "node:child_process";

const parts = [
  {
    title: "Shipped code (shared/, tasks/)",
    include: ["shared/**", "tasks/**"],
    dir: "coverage/shipped",
    detail: true,
  },
  {
    title: "Tools, not shipped (sim/, pipeline/, demo/, bench/)",
    include: ["sim/**", "pipeline/**", "demo/**", "bench/**"],
    dir: "coverage/tools",
  },
];
let status = 0;
for (const part of parts) {
  console.log(`\n${part.title}`);
  const args = [
    "c8",
    "report",
    "--temp-directory",
    "coverage/tmp",
    "--report-dir",
    part.dir,
    "--reporter",
    "text-summary",
    "--reporter",
    "html",
  ];
  if (part.detail) args.push("--reporter", "text");
  for (const pattern of part.include) args.push("--include", pattern);
  const run = spawnSync("npx", args, { stdio: "inherit" });
  status ||= run.status ?? 1;
}
process.exitCode = status;
