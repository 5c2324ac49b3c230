/**
 * Local play of a pipeline's own literal hosts. A StressTestStage endpoint such as
 * `https://orders-{region}.fabrikam.net/api/orders`, a GateApproval health probe such as
 * `https://fabrikam.net/westus/health` or a literal TeamsNotify webhook URL names hosts that
 * do not exist on this machine. The runner rewrites those inputs, before their macros are
 * expanded, to the sample service (the region moved into the path, where the sample service
 * routes by it) and to the Teams sink, and logs each rewrite as `local play: <literal> -> <local>`.
 *
 * Why a rewrite, not a runner-played proxy: StressTestStage loads directly unless
 * `useAgentProxy` is true (its default is false), so a proxy would not see its load without
 * changing what the pipeline measures; one mechanism for all three tasks keeps the shipped
 * bundles untouched and their network settings as the pipeline sets them. The tasks' reports
 * then show the local URL, as the step log says.
 */

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { validateWebhookUrl } from "../shared/teams/webhook-url";

/** Where literal hosts are played. */
export interface LocalRouteTargets {
  /** The sample service's base URL (`http://127.0.0.1:<port>`), which routes `/<region>/…`. */
  serviceUrl: string;
  /** The Teams sink's webhook URL. */
  webhookUrl: string;
  /** The regions the sample service knows: a host naming one of them is that region's. */
  regions: string[];
}

export interface InputRewrite {
  value: string;
  /** One line a rewrite, for the step's log. */
  notes: string[];
}

/** Where the step runs: to read and copy a file an input names. */
export interface StepPlace {
  /** Expands the step's `$(macros)`, as the agent does for its inputs. */
  expand(text: string): string;
  /** System.DefaultWorkingDirectory: relative input paths start there. */
  workingDirectory: string;
  /** The job's Agent.TempDirectory: where a rewritten copy of a file goes. */
  tempDirectory: string;
}

/** Rewrites a task's input for local play, or returns undefined when nothing in it is a literal remote host. */
export type InputRewriter = (
  task: string,
  input: string,
  value: string,
  step?: StepPlace,
) => InputRewrite | undefined;

const regionToken = "{region}";
/**
 * A URL in an input's or a file's text: scheme, authority (which may hold `{region}`), then the
 * rest up to white space, a quote, a comma or a bracket (JSON and YAML flow style) other than a
 * `{region}` or `{stage}` token.
 */
const urlPattern = /\bhttps?:\/\/((?:\{\w+\}|[^\s/?#"',{}\]])+)((?:\{\w+\}|[^\s"',{}\]])*)/gi;

/** True for hosts already on this machine and for hosts a macro or runtime expression still has to fill. */
function playsAsWritten(authority: string): boolean {
  if (authority.includes("$(") || authority.includes("$[") || authority.includes("${{")) return true;
  const host = authority
    .replace(/^[^@]*@/, "")
    .replace(/:\d+$/, "")
    .toLowerCase();
  return host === "localhost" || host === "[::1]" || /^127(\.\d+){3}$/.test(host);
}

/**
 * The region a URL's host or path encodes: `{region}` or a known region name as a whole
 * label or dash-separated part of the host (`orders-eastus.x`, `eastus.orders.x`), or as a
 * path segment. `inPath` says whether it is already the path's first segment.
 */
export function regionOf(
  url: string,
  regions: readonly string[],
): { region: string; inPath: "first" | "later" | "no" } | undefined {
  const m = /^https?:\/\/([^\s/?#]+)([^\s?#]*)/i.exec(url);
  if (!m) return undefined;
  const [, authority, path] = m;
  const segments = path.split("/").filter(Boolean);
  const known = (s: string) => s === regionToken || regions.some((r) => r.toLowerCase() === s.toLowerCase());
  if (segments.length > 0 && known(segments[0])) return { region: segments[0], inPath: "first" };
  const host = authority.replace(/^[^@]*@/, "").replace(/:\d+$/, "");
  if (host.includes(regionToken)) return { region: regionToken, inPath: "no" };
  const parts = host.toLowerCase().split(/[.-]/);
  // Longest first: westus2 before westus.
  const inHost = [...regions]
    .sort((a, b) => b.length - a.length)
    .find((r) => {
      const words = r.toLowerCase().split(/[.-]/);
      return parts.some((_, i) => words.every((w, j) => parts[i + j] === w));
    });
  if (inHost) return { region: inHost, inPath: "no" };
  const later = segments.find(known);
  return later ? { region: later, inPath: "later" } : undefined;
}

/** The sample service's URL for a literal service URL: its path, under the region's prefix. */
export function serviceUrlFor(
  url: string,
  targets: Pick<LocalRouteTargets, "serviceUrl" | "regions">,
): string {
  const m = /^https?:\/\/[^\s/?#]+(.*)$/i.exec(url);
  const rest = m?.[1] ?? "";
  const region = regionOf(url, targets.regions);
  const prefix = !region || region.inPath === "first" ? "" : `/${region.region}`;
  const path = rest === "" || /^[?#]/.test(rest) ? `/${rest}` : rest;
  return `${targets.serviceUrl}${prefix}${prefix && path === "/" ? "" : path}`;
}

const originOf = (url: string) => /^https?:\/\/[^\s/?#]+/i.exec(url)?.[0] ?? url;

/** The literal remote URLs of a text rewritten by `to`; notes name each one. */
function rewriteUrls(
  text: string,
  to: (url: string) => string,
  describe: (from: string, to: string) => string,
  keep: (url: string) => boolean = () => false,
) {
  const notes: string[] = [];
  const value = text
    .split("\n")
    .map((line) =>
      // A comment line is not loaded: left as written.
      line.trim().startsWith("#")
        ? line
        : line.replace(urlPattern, (url, authority: string) => {
            if (playsAsWritten(authority) || keep(url)) return url;
            const local = to(url);
            notes.push(describe(url, local));
            return local;
          }),
    )
    .join("\n");
  return notes.length > 0 ? { value, notes } : undefined;
}

/**
 * What the runner applies to each step's inputs in local play: StressTestStage `endpoints`
 * and GateApproval `healthProbes` to the sample service, TeamsNotify `webhookUrl` to the sink.
 * A webhook URL carries its secret in the query: the note shows origins only.
 */
export function localRouteRewriter(targets: LocalRouteTargets): InputRewriter {
  const service = (url: string) => serviceUrlFor(url, targets);
  const note = (from: string, to: string) => `local play: ${from} -> ${to}`;
  return (task, input, value, step) => {
    const name = task.toLowerCase();
    const field = input.toLowerCase();
    if (name === "stressteststage" && field === "endpointsfile" && step)
      return rewriteEndpointsFile(value, step, service, note);
    if (name === "stressteststage" && field === "endpoints") return rewriteUrls(value, service, note);
    // GateApproval fills no {region}: such a probe stays as written and fails as it would in Azure DevOps.
    if (name === "gateapproval" && field === "healthprobes")
      return rewriteUrls(value, service, note, (url) => url.includes(regionToken));
    if (name === "teamsnotify" && field === "webhookurl") {
      // A URL the task would refuse stays as written, so the run fails as it would in Azure DevOps;
      // what the task would warn about is said in the note.
      const check = validateWebhookUrl(value);
      if (!check.ok) return undefined;
      return rewriteUrls(
        value,
        () => targets.webhookUrl,
        (from) =>
          note(`${originOf(from)}/…`, `the Teams sink ${originOf(targets.webhookUrl)}/…`) +
          (check.warning ? ` (${check.warning})` : ""),
      );
    }
    return undefined;
  };
}

/**
 * An endpoints file with literal hosts: a copy with its URLs rewritten, in the job's temp folder,
 * given to the task instead. The file as written stays untouched.
 */
function rewriteEndpointsFile(
  value: string,
  step: StepPlace,
  to: (url: string) => string,
  note: (from: string, to: string) => string,
): InputRewrite | undefined {
  const written = step.expand(value).trim();
  if (!written) return undefined;
  const path = resolve(step.workingDirectory, written);
  if (!existsSync(path) || !statSync(path).isFile()) return undefined; // the task says what is wrong
  const rewritten = rewriteUrls(readFileSync(path, "utf8"), to, note);
  if (!rewritten) return undefined;
  const copy = join(step.tempDirectory, "local-play", basename(path));
  mkdirSync(dirname(copy), { recursive: true });
  writeFileSync(copy, rewritten.value);
  return {
    value: copy,
    notes: [
      `local play: endpointsFile ${written} -> a copy with its hosts rewritten, ${copy}`,
      ...rewritten.notes,
    ],
  };
}
