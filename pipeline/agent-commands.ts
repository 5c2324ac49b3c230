/** Parses the agent's logging commands back out of a task's stdout, as the agent does. */
export interface LoggingCommand {
  command: string;
  properties: Record<string, string>;
  data: string;
}

const unescapeProperty = (s: string) =>
  s
    .replace(/%3B/gi, ";")
    .replace(/%5D/gi, "]")
    .replace(/%0D/gi, "\r")
    .replace(/%0A/gi, "\n")
    .replace(/%AZP25/gi, "%");
const unescapeData = (s: string) =>
  s
    .replace(/%0D/gi, "\r")
    .replace(/%0A/gi, "\n")
    .replace(/%AZP25/gi, "%");

export function parseLoggingCommand(line: string): LoggingCommand | undefined {
  const start = line.indexOf("##vso[");
  if (start < 0) return undefined;
  const end = line.indexOf("]", start);
  if (end < 0) return undefined;
  const head = line.slice(start + 6, end);
  const space = head.indexOf(" ");
  const command = space < 0 ? head : head.slice(0, space);
  const properties: Record<string, string> = {};
  if (space >= 0) {
    for (const pair of head.slice(space + 1).split(";")) {
      const eq = pair.indexOf("=");
      if (eq > 0) properties[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
    }
  }
  return { command, properties, data: unescapeData(line.slice(end + 1)) };
}
