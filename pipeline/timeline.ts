/**
 * The live, human-readable timeline of a local run: stage, job and step headers, each task's
 * log (groups indented, warnings and errors marked), results and outputs as they happen, and
 * at the end a summary table and where the files went.
 */
import { relative } from "node:path";
import { formatDuration } from "../shared/format";
import type { PipelineEvent, PipelineRunResult, RunResult, StepRecord } from "./run-events";

export interface TimelineOptions {
  write: (text: string) => void;
  /** ANSI colours; default off. */
  color?: boolean;
  /** Show debug lines. */
  debug?: boolean;
  /** Paths are shown relative to this folder; default the process's. */
  cwd?: string;
}

type Paint = (text: string) => string;

function palette(color: boolean) {
  const c =
    (code: string): Paint =>
    (t) =>
      color ? `\u001b[${code}m${t}\u001b[0m` : t;
  return {
    bold: c("1"),
    dim: c("2"),
    red: c("31"),
    green: c("32"),
    yellow: c("33"),
    cyan: c("36"),
    magenta: c("35"),
  };
}

const symbols: Record<RunResult, string> = {
  Succeeded: "✔",
  SucceededWithIssues: "!",
  Failed: "✖",
  Canceled: "■",
  Skipped: "⊘",
};

function resultText(result: RunResult, color: ReturnType<typeof palette>): string {
  const text = `${symbols[result]} ${result}`;
  switch (result) {
    case "Succeeded":
      return color.green(text);
    case "SucceededWithIssues":
      return color.yellow(text);
    case "Failed":
    case "Canceled":
      return color.red(text);
    default:
      return color.dim(text);
  }
}

/** "✔ Job rollout: Succeeded", coloured by the result. */
function finished(what: string, result: RunResult, paint: ReturnType<typeof palette>): string {
  const text = resultText(result, paint);
  const symbol = symbols[result];
  return text.replace(`${symbol} ${result}`, `${symbol} ${paint.bold(what)}: ${result}`);
}

/** Returns the event handler that prints the timeline. */
export function createTimeline(options: TimelineOptions): (event: PipelineEvent) => void {
  const paint = palette(options.color ?? false);
  const cwd = options.cwd ?? process.cwd();
  const line = (indent: number, text: string) => options.write(`${" ".repeat(indent)}${text}\n`);
  let groupDepth = 0;

  return (event) => {
    switch (event.type) {
      case "runStarted": {
        line(0, paint.bold(`Local run of ${shortPath(event.file, cwd)} · ${event.runName}`));
        line(0, paint.dim(`Output folder: ${shortPath(event.outputDirectory, cwd)}`));
        for (const n of event.notices) line(0, paint.yellow(`! ${n.where}: ${n.message}`));
        if (event.notRunnable.length > 0) {
          line(0, paint.yellow("Not run here (each is skipped with a notice when reached):"));
          for (const s of event.notRunnable) line(2, paint.yellow(`⊘ ${s.where}  ${s.label} — ${s.reason}`));
        }
        line(0, "");
        break;
      }
      case "stageStarted":
        line(
          0,
          paint.bold(
            paint.magenta(
              `Stage ${event.stage}${event.displayName !== event.stage ? ` · ${event.displayName}` : ""}`,
            ),
          ),
        );
        break;
      case "stageFinished": {
        const s = event.stage;
        if (s.reason && s.result === "Skipped" && s.jobs.every((j) => j.reason === "its stage did not run"))
          line(0, paint.dim(`⊘ Stage ${s.name} skipped: ${s.reason}`));
        else
          line(
            0,
            `${finished(`Stage ${s.name}`, s.result, paint)} in ${formatDuration(s.durationMs)}${s.reason ? ` (${s.reason})` : ""}`,
          );
        line(0, "");
        break;
      }
      case "jobStarted":
        line(
          2,
          paint.bold(`Job ${event.job}${event.displayName !== event.job ? ` · ${event.displayName}` : ""}`),
        );
        break;
      case "jobFinished": {
        const j = event.job;
        if (j.steps.length === 0 && j.reason) {
          if (j.reason !== "its stage did not run")
            line(
              2,
              (j.result === "Failed" ? paint.red : paint.dim)(
                `${symbols[j.result]} Job ${j.name} ${j.result === "Failed" ? "failed" : "skipped"}: ${j.reason}`,
              ),
            );
        } else {
          line(2, `${finished(`Job ${j.name}`, j.result, paint)} in ${formatDuration(j.durationMs)}`);
        }
        break;
      }
      case "stepStarted": {
        groupDepth = 0;
        const retry = event.attempt > 1 ? paint.yellow(` (attempt ${event.attempt})`) : "";
        line(
          4,
          `${paint.cyan("▶")} ${event.index}. ${paint.bold(event.displayName)} ${paint.dim(`[${event.label} · ${event.name}]`)}${retry}`,
        );
        break;
      }
      case "stepLog": {
        const l = event.line;
        const indent = 8 + groupDepth * 2;
        switch (l.kind) {
          case "group":
            line(8 + groupDepth * 2, paint.cyan(`▾ ${l.text}`));
            groupDepth = Math.min(groupDepth + 1, 4);
            break;
          case "endgroup":
            groupDepth = Math.max(0, groupDepth - 1);
            break;
          case "section":
            line(indent, paint.bold(l.text));
            break;
          case "warning":
            line(indent, paint.yellow(`⚠ warning: ${l.text}`));
            break;
          case "error":
            line(indent, paint.red(`✖ error: ${l.text}`));
            break;
          case "debug":
            if (options.debug) line(indent, paint.dim(`debug: ${l.text}`));
            break;
          case "command":
            line(indent, paint.dim(`$ ${l.text}`));
            break;
          default:
            line(indent, l.stream === "stderr" ? paint.dim(l.text) : l.text);
        }
        break;
      }
      case "stepFinished":
        printStep(event.step, line, paint);
        break;
      case "notice":
        line(4, (event.level === "warning" ? paint.yellow : paint.dim)(`! ${event.message}`));
        break;
      case "runFinished":
        options.write(formatRunSummary(event.result, { color: options.color, cwd }));
        break;
    }
  };
}

function printStep(
  step: StepRecord,
  line: (indent: number, text: string) => void,
  paint: ReturnType<typeof palette>,
): void {
  if (step.attempts === 0) {
    if (step.result === "Failed") {
      line(4, paint.red(`✖ ${step.index}. ${step.displayName} — failed: ${step.message ?? ""}`));
      return;
    }
    const text = `⊘ ${step.index}. ${step.displayName} — skipped: ${step.message ?? ""}`;
    line(4, step.unsupported ? paint.yellow(text) : paint.dim(text));
    return;
  }
  const how = step.continuedOnError ? " (failed; continueOnError)" : "";
  const message = step.message ? ` — ${step.message}` : "";
  line(6, `${resultText(step.result, paint)}${how} in ${formatDuration(step.durationMs)}${message}`);
  for (const [name, value] of Object.entries(step.outputs))
    line(
      8,
      `${paint.dim("↳")} ${paint.cyan(`${step.name}.${name}`)} = ${value === "" ? paint.dim("(empty)") : value}`,
    );
}

function shortPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

export interface SummaryOptions {
  color?: boolean;
  cwd?: string;
  /** More files to list (the demo's Teams cards). */
  extraFiles?: Array<{ label: string; paths: string[] }>;
}

/** The table of every step's result and where the run's files are. */
export function formatRunSummary(result: PipelineRunResult, options: SummaryOptions = {}): string {
  const paint = palette(options.color ?? false);
  const cwd = options.cwd ?? process.cwd();
  const rows: string[][] = [];
  for (const stage of result.stages) {
    if (stage.jobs.length === 0) rows.push([stage.name, "", stage.result, stage.reason ?? "", "-"]);
    for (const job of stage.jobs) {
      const where = `${stage.name} / ${job.name}`;
      if (job.steps.length === 0) rows.push([where, "(job)", job.result, job.reason ?? "", "-"]);
      for (const step of job.steps) {
        const note = step.unsupported ? "not supported" : step.continuedOnError ? "continueOnError" : "";
        rows.push([
          where,
          `${step.index}. ${step.displayName}`,
          step.result,
          note,
          step.attempts === 0 ? "-" : formatDuration(step.durationMs),
        ]);
      }
    }
  }
  const widths = [0, 1, 2, 3].map((i) =>
    Math.min(60, Math.max(...rows.map((r) => r[i].length), ["Stage / job", "Step", "Result", ""][i].length)),
  );
  const pad = (text: string, width: number) =>
    text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
  const out: string[] = [];
  out.push(
    paint.bold(`Summary · ${result.runName} · ${result.result} in ${formatDuration(result.durationMs)}`),
  );
  out.push(
    paint.dim(
      `  ${pad("Stage / job", widths[0])}  ${pad("Step", widths[1])}  ${pad("Result", widths[2] + 2)}  ${pad("", widths[3])}  Time`,
    ),
  );
  for (const r of rows) {
    const result = r[2] as RunResult;
    const colour =
      result === "Failed" || result === "Canceled"
        ? paint.red
        : result === "SucceededWithIssues"
          ? paint.yellow
          : result === "Skipped"
            ? paint.dim
            : paint.green;
    out.push(
      `  ${pad(r[0], widths[0])}  ${pad(r[1], widths[1])}  ${colour(pad(`${symbols[result]} ${r[2]}`, widths[2] + 2))}  ${pad(r[3], widths[3])}  ${r[4]}`,
    );
  }
  out.push("");
  const files = result.files;
  const show = (p: string) => shortPath(p, cwd);
  const groups: Array<{ label: string; paths: string[] }> = [
    { label: "Report", paths: files.report ? [files.report.markdown, files.report.json] : [] },
    { label: "EV2 records", paths: files.records },
    { label: "Job reports", paths: files.jobReports },
    { label: "Summaries", paths: [...(files.summary ? [files.summary] : []), ...files.summaries] },
    { label: "JUnit", paths: files.testResults },
    {
      label: "Artifacts",
      paths: files.artifacts.filter(
        (a) => !files.records.includes(a) && !files.jobReports.includes(a) && !files.testResults.includes(a),
      ),
    },
    ...(options.extraFiles ?? []),
    { label: "Step logs", paths: [files.logs] },
    { label: "Run record", paths: [files.runRecord] },
  ];
  out.push(paint.bold(`Files in ${show(result.outputDirectory)}`));
  for (const g of groups) {
    if (g.paths.length === 0) continue;
    out.push(`  ${g.label.padEnd(12)} ${show(g.paths[0])}`);
    for (const p of g.paths.slice(1)) out.push(`  ${"".padEnd(12)} ${show(p)}`);
  }
  out.push("");
  out.push(finished("Pipeline", result.result, paint));
  return `${out.join("\n")}\n`;
}
