import { followBench, startupBench } from "./tasks";

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === "startup") await startupBench();
  if (!only || only === "follow") await followBench();
  if (!only || only === "stress") {
    const stress = await import("./stress").catch(() => undefined);
    if (stress?.runStressBench) await stress.runStressBench();
    else console.log("\n(stress benchmark not available)");
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
