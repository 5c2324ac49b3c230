/**
 * Text that came from outside (EV2 messages, HTTP bodies, endpoint answers) must never reach the
 * agent as a logging command: `##vso[` anywhere in a line, or `##[` at its start, would be run.
 * The agent reads the prefix in any letter case, so `##VSO[` is neutralised too.
 */
export function neutraliseLoggingCommands(text: string): string {
  return text.replace(/##(vso)?\[/gi, (_m, vso: string | undefined) => (vso ? `##_${vso}[` : "##_["));
}
