/**
 * The output folder of a local run: each job's Agent.TempDirectory, each step's log, and copies
 * of what the tasks published (summaries, artifacts, test results), gathered as Azure DevOps
 * would show them on the run's page.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";

const marker = ".local-pipeline-run";

const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, "_");

export class RunFolder {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Creates the folder, or empties one a previous run made. A folder with other content is
   * refused rather than emptied: it may be the user's.
   */
  static prepare(directory: string): RunFolder {
    const root = resolve(directory);
    if (existsSync(root)) {
      const entries = readdirSync(root);
      if (entries.length > 0 && !entries.includes(marker))
        throw new Error(
          `The output folder ${root} is not empty and was not made by a previous local run: choose another with --out.`,
        );
      for (const entry of entries) rmSync(join(root, entry), { recursive: true, force: true });
    }
    mkdirSync(root, { recursive: true });
    writeFileSync(
      join(root, marker),
      "Made by the local pipeline runner; emptied at the start of each run.\n",
    );
    return new RunFolder(root);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Agent.TempDirectory of one job. */
  jobDirectory(stage: string, job: string): string {
    const dir = this.path("jobs", `${safe(stage)}.${safe(job)}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  stepLogFile(stage: string, job: string, index: number, step: string): string {
    const dir = this.path("logs", safe(stage), safe(job));
    mkdirSync(dir, { recursive: true });
    return join(dir, `${String(index).padStart(2, "0")}-${safe(step)}.log`);
  }

  copySummary(source: string, stage: string, job: string, step: string): string {
    return this.copyInto(this.path("summaries"), source, `${safe(stage)}.${safe(job)}.${safe(step)}.md`);
  }

  /**
   * A file or a folder, into artifacts/<artifact name>/; returns the files it copied. A file
   * uploaded again under the same name replaces the earlier one, as in Azure DevOps' file
   * container (each step rewrites its job's deployment report this way).
   */
  copyArtifact(artifactName: string, source: string): string[] {
    const dir = this.path("artifacts", safe(artifactName || "drop"));
    if (statSync(source).isDirectory()) {
      const dest = uniquePath(join(dir, basename(source)));
      cpSync(source, dest, { recursive: true });
      return listFiles(dest);
    }
    mkdirSync(dir, { recursive: true });
    const dest = join(dir, basename(source));
    cpSync(source, dest);
    return [dest];
  }

  /** Names of the artifacts published so far. */
  artifactNames(): string[] {
    const dir = this.path("artifacts");
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  /** Copies what an artifact holds into `destination` (as a download does); returns the file count. */
  downloadArtifact(artifactName: string, destination: string): number {
    const source = this.path("artifacts", safe(artifactName));
    mkdirSync(destination, { recursive: true });
    cpSync(source, destination, { recursive: true });
    return listFiles(source).length;
  }

  copyTestResult(source: string, stage: string, job: string): string {
    return this.copyInto(
      this.path("test-results"),
      source,
      `${safe(stage)}.${safe(job)}.${basename(source)}`,
    );
  }

  private copyInto(dir: string, source: string, name: string): string {
    mkdirSync(dir, { recursive: true });
    const dest = uniquePath(join(dir, name));
    cpSync(source, dest);
    return dest;
  }
}

/** `x.md`, then `x-2.md`, `x-3.md`... */
function uniquePath(path: string): string {
  if (!existsSync(path)) return path;
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let n = 2; ; n++) if (!existsSync(`${stem}-${n}${ext}`)) return `${stem}-${n}${ext}`;
}

function listFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((e) => listFiles(join(path, e)));
}
