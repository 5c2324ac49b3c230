/**
 * Text that came from outside (EV2 messages, HTTP bodies, endpoint answers) must never reach the
 * agent as a logging command: `##vso[` anywhere in a line, or `##[` at its start, would be run.
 * The agent reads the prefix in any letter case, so `##VSO[` is neutralised too. Control
 * characters other than tab and line breaks go too: an ANSI escape would recolour, hide or
 * rewrite what the log shows.
 */
export function neutraliseLoggingCommands(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g, "")
      .replace(/##(vso)?\[/gi, (_m, vso: string | undefined) => (vso ? `##_${vso}[` : "##_["))
  );
}
