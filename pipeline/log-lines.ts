/**
 * What a task's output line means to a reader of the log: plain text, a warning or error
 * issue, a debug line, a `##[group]` section... Logging commands the agent consumes (variables,
 * results, uploads) are not shown; the runner reports their effect instead.
 */
import { parseLoggingCommand } from "./agent-commands";

export type LogLineKind =
  "text" | "warning" | "error" | "debug" | "group" | "endgroup" | "section" | "command";

export interface LogLine {
  kind: LogLineKind;
  text: string;
  stream: "stdout" | "stderr";
}

const formats: Record<string, LogLineKind> = {
  group: "group",
  endgroup: "endgroup",
  section: "section",
  warning: "warning",
  error: "error",
  debug: "debug",
  command: "command",
};

/** undefined: a command the agent consumes without showing it. */
export function classifyLogLine(line: string, stream: "stdout" | "stderr"): LogLine | undefined {
  const format = /^##\[([a-z]+)\](.*)$/i.exec(line);
  if (format && formats[format[1].toLowerCase()])
    return { kind: formats[format[1].toLowerCase()], text: format[2], stream };
  const cmd = parseLoggingCommand(line);
  if (!cmd) return { kind: "text", text: line, stream };
  if (cmd.command === "task.issue" || cmd.command === "task.logissue") {
    const kind = cmd.properties.type === "error" ? "error" : "warning";
    return { kind, text: cmd.data, stream };
  }
  if (cmd.command === "task.debug") return { kind: "debug", text: cmd.data, stream };
  return undefined;
}

/**
 * Hides secret values wherever they appear, as the agent does in its logs. Values are added as
 * they become known (a task may register one halfway through its output).
 */
export class SecretMasker {
  private readonly values = new Set<string>();

  add(value: string | undefined): void {
    if (!value || value.trim() === "") return;
    this.values.add(value);
    // The agent also hides the forms a secret commonly takes in URLs and JSON.
    const encoded = encodeURIComponent(value);
    if (encoded !== value) this.values.add(encoded);
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) this.values.add(json);
  }

  mask(text: string): string {
    let out = text;
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) out = out.split(v).join("***");
    return out;
  }
}
