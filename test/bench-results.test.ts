import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { BenchResults } from "../bench/results";

const root = join(__dirname, "..");

describe("bench results (npm run bench → bench/results → README's performance table)", () => {
  it("writes a run's figures, the machine and the commit as JSON named by date and commit", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-results-"));
    const results = new BenchResults(["startup"]);
    results.add({
      id: "startup.X",
      what: "Start-up of X",
      measured: "90 ms; 1.20x",
      ratio: 1.2,
      aim: "at most 1.3x",
      met: true,
    });
    const file = results.write(dir);
    assert.match(basename(file), /^\d{8}T\d{6}Z-[\w-]+\.json$/);
    const run = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(run.figures.length, 1);
    assert.equal(run.figures[0].ratio, 1.2);
    assert.ok(run.cores >= 1);
    assert.deepEqual(run.parts, ["startup"]);
    assert.deepEqual(Object.keys(run.loadAverage), ["start", "end"]);
  });

  it("README's table comes from the newest results file, not an older one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-results-"));
    const run = (commit: string, measured: string) => ({
      date: "2026-12-05T12:00:00.000Z",
      commit,
      node: "v20",
      cores: 2,
      cpu: "test | cpu",
      loadAverage: { start: 1, end: 2 },
      parts: ["startup"],
      figures: [{ id: "a", what: "Start-up | of A", measured, aim: "at most 1.3x", met: false }],
    });
    writeFileSync(join(dir, "20261204T120000Z-old.json"), JSON.stringify(run("old", "1.00x")));
    writeFileSync(join(dir, "20261205T120000Z-new.json"), JSON.stringify(run("new", "1.50x")));
    const script: string = pathToFileURL(join(root, "scripts", "readme-tables.mjs")).href;
    const { benchTable, newestBenchResults } = (await import(script)) as {
      benchTable(newest: unknown): string;
      newestBenchResults(dir: string): unknown;
    };
    const table = benchTable(newestBenchResults(dir));
    assert.match(table, /commit `new`/);
    assert.match(table, /\| Start-up \\\| of A \| 1\.50x \| at most 1\.3x \| \*\*no\*\* \|/);
    assert.doesNotMatch(table, /1\.00x/);
  });

  it("a run of some parts (npm run bench -- judge) keeps the other parts' figures from the newest run that had them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-results-"));
    const run = (commit: string, parts: string[], figures: { id: string; measured: string }[]) => ({
      date: "2026-12-05T12:00:00.000Z",
      commit,
      node: "v20",
      cores: 2,
      cpu: "cpu",
      loadAverage: { start: 1, end: 2 },
      parts,
      figures: figures.map((f) => ({ ...f, what: f.id, aim: "-", met: true })),
    });
    const write = (name: string, r: object) => writeFileSync(join(dir, name), JSON.stringify(r));
    write(
      "20261203T120000Z-all.json",
      run(
        "all",
        ["startup", "stress"],
        [
          { id: "startup.a", measured: "old start-up" },
          { id: "stress.b", measured: "old stress" },
        ],
      ),
    );
    write(
      "20261204T120000Z-startup.json",
      run("startup", ["startup"], [{ id: "startup.a", measured: "new start-up" }]),
    );
    write(
      "20261205T120000Z-judge.json",
      run("judge", ["judge"], [{ id: "judge.c", measured: "judge figure" }]),
    );
    const script: string = pathToFileURL(join(root, "scripts", "readme-tables.mjs")).href;
    const { benchTable, newestBenchResults } = (await import(script)) as {
      benchTable(newest: unknown): string;
      newestBenchResults(dir: string): unknown;
    };
    const table = benchTable(newestBenchResults(dir));
    const rows = table
      .split("\n")
      .filter((l) => l.startsWith("| ") && !l.startsWith("| What") && !l.startsWith("| ---"));
    assert.deepEqual(
      rows.map((r) => r.split(" | ")[1]),
      ["new start-up", "old stress", "judge figure"],
      "parts in README's order, each from the newest run that measured it",
    );
    assert.match(table, /^judge from \[`bench\/results\/20261205T120000Z-judge\.json`\]/);
    assert.match(table, /\nstartup from \[`bench\/results\/20261204T120000Z-startup\.json`\]/);
    assert.match(table, /\nstress from \[`bench\/results\/20261203T120000Z-all\.json`\]/);
  });

  it("a results file is committed and README shows the newest one", () => {
    const files = readdirSync(join(root, "bench", "results"))
      .filter((f) => f.endsWith(".json"))
      .sort();
    assert.ok(files.length > 0, "run npm run bench and commit bench/results/");
    const readme = readFileSync(join(root, "README.md"), "utf8");
    assert.ok(readme.includes(`bench/results/${files[files.length - 1]}`), "run npm run docs");
  });
});
