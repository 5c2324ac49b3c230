/**
 * The figures one `npm run bench` measured, kept as JSON so runs can be compared across commits:
 * bench/results/<UTC date and time>-<commit>.json (never packaged: the .vsix lists its files).
 * README's performance table is generated from the newest file (`npm run docs`).
 *
 * A figure is a measurement side by side with its reference in the same run: `ratio` is ours
 * over the reference, `aim` the bound it should stay within (lower is better unless the aim
 * says "at least").
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";

export interface Figure {
  /** Stable key, for comparing runs: "startup.FollowRollout.proxy". */
  id: string;
  /** What was measured, as README's table shows it. */
  what: string;
  /** The measurement in words, with its reference: "82 ms; 1.37x a bare node -e 0 (60 ms)". */
  measured: string;
  /** Ours over the reference measured in the same run, when there is one. */
  ratio?: number;
  /** The aim, in words: "at most 1.3x". */
  aim?: string;
  /** Whether the aim was met; undefined when the figure has no pass/fail aim. */
  met?: boolean;
}

export interface BenchRun {
  date: string;
  commit: string;
  node: string;
  cores: number;
  cpu: string;
  /** One-minute load average when the run started and when it ended: a busy machine shows. */
  loadAverage: { start: number; end: number };
  /** Which parts ran (`npm run bench -- startup` runs one). */
  parts: string[];
  figures: Figure[];
}

export const RESULTS_DIR = resolve(__dirname, "results");

function commitOf(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short=10", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "shared", "tasks"], {
      encoding: "utf8",
    });
    return dirty.trim() ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}

export class BenchResults {
  readonly figures: Figure[] = [];
  private readonly loadAtStart = loadavg()[0];

  constructor(readonly parts: string[]) {}

  /** Records a figure and prints it as a line of the run's output. */
  add(figure: Figure): void {
    this.figures.push(figure);
  }

  toJSON(): BenchRun {
    return {
      date: new Date().toISOString(),
      commit: commitOf(),
      node: process.version,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? "unknown",
      loadAverage: { start: round2(this.loadAtStart), end: round2(loadavg()[0]) },
      parts: this.parts,
      figures: this.figures,
    };
  }

  /** Writes bench/results/<date>-<commit>.json and returns its path. */
  write(dir = RESULTS_DIR): string {
    const run = this.toJSON();
    mkdirSync(dir, { recursive: true });
    const stamp = run.date.replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
    const file = join(dir, `${stamp}-${run.commit}.json`);
    writeFileSync(file, JSON.stringify(run, null, 2) + "\n");
    return file;
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** "1.37x" */
export const times = (ratio: number) => `${ratio.toFixed(2)}x`;
