/** Values a tracking branch template can use, written `{environment}`, `{buildId}`, … */
export interface BranchTemplateTokens {
  environment: string;
  serviceGroup: string;
  artifactVersion: string;
  buildId: string | number;
  /** A Date is written as its UTC day, `2024-05-01`. */
  date: string | Date;
  rolloutId: string;
}

export const branchTemplateTokenNames: readonly (keyof BranchTemplateTokens)[] = [
  "environment",
  "serviceGroup",
  "artifactVersion",
  "buildId",
  "date",
  "rolloutId",
];

export const defaultTrackingBranchTemplate = "ev2/{environment}/{artifactVersion}-{buildId}";

/** The template cannot be rendered: an unknown token, a stray brace, a token without a value. */
export class BranchTemplateError extends Error {
  override name = "BranchTemplateError";
}

const validTokensText = branchTemplateTokenNames.map((name) => `{${name}}`).join(", ");

/**
 * The branch name (without `refs/heads/`) for a template, made into a valid git ref name:
 * characters git or Azure Repos refuse become `-`, `..` and `//` collapse, no component starts
 * with `.` or ends with `.lock`, and there is no leading or trailing `/`. A token's value
 * never adds a `/`, so only the template decides the folders.
 */
export function renderBranchTemplate(template: string, tokens: BranchTemplateTokens): string {
  const rendered = template.replace(/\{([^{}]*)\}/g, (_whole, rawName: string) => {
    const name = rawName.trim();
    if (!isTokenName(name)) throw new BranchTemplateError(unknownTokenMessage(name, template));
    const value = tokenValue(tokens[name]);
    if (value === "")
      throw new BranchTemplateError(
        `Token {${name}} in tracking branch template '${template}' has no value.`,
      );
    return value.replace(/[^A-Za-z0-9._-]+/g, "-");
  });
  if (/[{}]/.test(rendered)) {
    throw new BranchTemplateError(
      `Tracking branch template '${template}' has a '{' or '}' that is not part of a token. Valid tokens: ${validTokensText}.`,
    );
  }
  const name = sanitizeBranchName(rendered);
  if (name === "")
    throw new BranchTemplateError(`Tracking branch template '${template}' renders to an empty branch name.`);
  return name;
}

function isTokenName(name: string): name is keyof BranchTemplateTokens {
  return (branchTemplateTokenNames as readonly string[]).includes(name);
}

function unknownTokenMessage(name: string, template: string): string {
  const sameButCase = branchTemplateTokenNames.find((valid) => valid.toLowerCase() === name.toLowerCase());
  const hint = sameButCase ? ` Did you mean {${sameButCase}}? Token names are case-sensitive.` : "";
  return `Unknown token {${name}} in tracking branch template '${template}'. Valid tokens: ${validTokensText}.${hint}`;
}

function tokenValue(value: string | number | Date): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).trim();
}

/** Rewrites a name into a valid branch name (without `refs/heads/`); may return "" when nothing usable is left. */
export function sanitizeBranchName(name: string): string {
  const withoutPrefix = name.trim().replace(/^refs\/heads\//, "");
  return withoutPrefix
    .replace(/[^A-Za-z0-9._/-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .split("/")
    .map((part) => {
      let clean = part.replace(/^\.+/, "").replace(/\.+$/, "");
      if (/\.lock$/i.test(clean)) clean = `${clean.slice(0, -".lock".length)}-lock`;
      return clean.replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "");
    })
    .filter((part) => part !== "")
    .join("/");
}

/** Why `name` (without `refs/heads/`) is not a valid branch name, or undefined when it is. */
export function branchNameProblem(name: string): string | undefined {
  if (name === "") return "it is empty";
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(name);
  if (bad) return bad[0] === " " ? "it contains a space" : `it contains '${printable(bad[0])}'`;
  if (name.includes("..")) return "it contains '..'";
  if (name.includes("@{")) return "it contains '@{'";
  if (name === "@") return "it is '@'";
  if (name.startsWith("-")) return "it starts with '-'";
  if (name.startsWith("/") || name.endsWith("/")) return "it starts or ends with '/'";
  if (name.includes("//")) return "it contains '//'";
  if (name.endsWith(".")) return "it ends with '.'";
  const part = name.split("/").find((p) => p.startsWith(".") || p.endsWith(".lock"));
  if (part) return `its part '${part}' starts with '.' or ends with '.lock'`;
  return undefined;
}

function printable(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
}
