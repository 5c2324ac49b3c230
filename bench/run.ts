/**
 * `npm run bench [-- startup|follow|stress|judge]`: every benchmark, or one. Prints the figures and
 * writes them as JSON to bench/results/ (see bench/results.ts); `npm run docs` then regenerates
 * README's performance table from the newest results file.
 */
import { BenchResults } from "./results";
import { followBench, startupBench } from "./tasks";

const PARTS = ["startup", "follow", "stress", "judge"] as const;

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only !== undefined && !(PARTS as readonly string[]).includes(only))
    throw new Error(`unknown part '${only}': use one of ${PARTS.join(", ")}, or none for all`);
  const parts = only ? [only] : [...PARTS];
  const results = new BenchResults(parts);
  if (parts.includes("startup")) await startupBench(results);
  if (parts.includes("follow")) await followBench(results);
  if (parts.includes("stress")) {
    const { runStressBench } = await import("./stress");
    await runStressBench({}, results);
  }
  if (parts.includes("judge")) {
    const { judgeBench } = await import("./judge");
    await judgeBench(results);
  }
  const file = results.write();
  console.log(`\nFigures written to ${file}; \`npm run docs\` puts the newest in README.`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
