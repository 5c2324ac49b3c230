/**
 * The one way markdown is written (summaries on the Extensions tab, the deployment report): text
 * from outside (EV2 names, error messages and URLs, Azure DevOps comments, answers of endpoints)
 * stays text. It cannot become HTML, a link (other than an http(s) one made with `mdLink`), a
 * table break, a heading or a control sequence (terminal escapes, `##vso[`).
 *
 * Plain strings are untrusted and escaped wherever they go (`md`, `markdownTable`); a `Markdown`
 * value is markdown this code wrote, with its outside parts already escaped, and goes as is.
 */

/** Markdown this code wrote: tables and `md` lines take it as is. */
export class Markdown {
  constructor(readonly source: string) {}
  toString(): string {
    return this.source;
  }
}

export type MarkdownPart = string | number | boolean | null | undefined | Markdown;

/**
 * C0 and C1 controls (ESC starts terminal sequences), zero-width and bidirectional overrides
 * (text that reads differently from what it is). Tabs and newlines become spaces instead.
 */
const invisible =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;

/** Outside text as inline markdown source that renders as exactly that text. */
export function mdText(value: MarkdownPart): string {
  if (value instanceof Markdown) return value.source;
  return (
    String(value ?? "")
      .replace(invisible, "")
      .replace(/\r\n?|\n|\t/g, " ")
      // Backslash first, so the escapes added below stay escapes. Emphasis (* _) is left alone:
      // it cannot link, hide or break anything.
      .replace(/[\\`[\]|]/g, (c) => `\\${c}`)
      // Only what could start a tag, an autolink or an entity: "p95 < 100ms" stays as written.
      .replace(/&(?=#?\w+;)/g, "&amp;")
      .replace(/<(?=[A-Za-z/!?])/g, "&lt;")
  );
}

/** `href` when it is an absolute http(s) URL, made safe inside `(...)`; undefined otherwise. */
export function safeHttpUrl(href: string | null | undefined): string | undefined {
  if (!href) return undefined;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  return url.href.replace(
    /[()[\]<>|\\`"' ]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
}

/** A link when `url` is http(s); the label alone otherwise (a `javascript:` URL is no link). */
export function mdLink(label: MarkdownPart, url: string | null | undefined): Markdown {
  const href = safeHttpUrl(url);
  return new Markdown(href ? `[${mdText(label)}](${href})` : mdText(label));
}

/** Outside text in a code span: no backtick can end it, no newline or pipe can break a table. */
export function mdCode(value: string | number): Markdown {
  const text = String(value)
    .replace(invisible, "")
    .replace(/\r\n?|\n|\t/g, " ")
    .replace(/`/g, "'")
    .replace(/\|/g, "\\|");
  return new Markdown(`\`${text}\``);
}

/**
 * Parts joined by a separator this code chose (`<br>`, ` · `); the parts are escaped. Past `max`
 * parts, the rest are counted ("+9950 more"): a rollout of ten thousand regions stays readable.
 */
export function mdJoin(parts: MarkdownPart[], separator: string, max = Infinity): Markdown {
  const shown = parts.slice(0, max).map(mdText);
  if (parts.length > max) shown.push(`+${parts.length - max} more`);
  return new Markdown(shown.join(separator));
}

/** Regions shown per stage in a summary or report table; the record has them all. */
export const MAX_REGIONS_SHOWN = 50;

/** Outside text that starts a line: it cannot make it a heading, a list item or a quote. */
function lineStart(text: string): string {
  return text.replace(/^(\s*)([#>+-])(?=\s|$)/, "$1\\$2").replace(/^(\s*\d+)([.)])(?=\s|$)/, "$1\\$2");
}

/** A markdown line: the literal parts are this code's, every `${value}` is escaped unless Markdown. */
export function md(strings: TemplateStringsArray, ...values: MarkdownPart[]): Markdown {
  const line = strings.reduce((out, s, i) => out + s + (i < values.length ? mdText(values[i]) : ""), "");
  const outsideFirst = strings[0] === "" && values.length > 0 && !(values[0] instanceof Markdown);
  return new Markdown(outsideFirst ? lineStart(line) : line);
}

export function markdownTable(headers: string[], rows: MarkdownPart[][]): Markdown {
  const table = [
    `| ${headers.map(mdText).join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(mdText).join(" | ")} |`),
  ];
  return new Markdown(table.join("\n"));
}

/** Lines of markdown into one document. */
export function mdLines(lines: Array<Markdown | "">): string {
  return lines.map(String).join("\n");
}
