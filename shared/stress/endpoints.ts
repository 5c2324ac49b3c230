/**
 * The endpoints a stress test loads: from the multi-line `endpoints` input, from an
 * `endpointsFile` (JSON or YAML), or both; with `{region}` and `{stage}` filled in.
 */
import * as z from "../zod";
import { StressInputError } from "./errors";
import { checkEndpointCount, checkEndpointUrl } from "./settings";

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Inclusive range of HTTP status codes counted as success. */
export interface StatusRange {
  min: number;
  max: number;
}

export const DEFAULT_EXPECTED_STATUS: readonly StatusRange[] = [{ min: 200, max: 399 }];

export interface StressEndpoint {
  /** Label in reports and the key for per-endpoint thresholds and for merging; unique. */
  name: string;
  url: string;
  /** The URL as written, when `{region}` or `{stage}` was filled in: matches a baseline's endpoints across stages. */
  template?: string;
  method: HttpMethod;
  /** May hold secrets (Authorization): never written to results or logs. */
  headers: Record<string, string>;
  body?: string;
  expectedStatus: StatusRange[];
}

export interface EndpointTokens {
  region?: string;
  stage?: string;
}

const TOKEN = /\{(region|stage)\}/g;

/**
 * Replaces `{region}` and `{stage}`; a token used without a value is an error naming it.
 * `shownAs` replaces the text in that message where the text may hold a secret (a header).
 */
export function substituteTokens(
  text: string,
  tokens: EndpointTokens,
  input = "endpoints",
  shownAs?: string,
): string {
  return text.replace(TOKEN, (_match, name: keyof EndpointTokens) => {
    const value = tokens[name];
    if (value === undefined || value === "") {
      throw new StressInputError(
        `${input}: ${shownAs ?? `"${text}"`} uses {${name}} but no ${name} was given`,
        input,
      );
    }
    return value;
  });
}

/** "200", "2xx", "200-299" → a range; anything else → undefined. */
function parseStatusText(text: string): StatusRange | undefined {
  const t = text.trim().toLowerCase();
  let m = /^([1-5])xx$/.exec(t);
  if (m) return { min: Number(m[1]) * 100, max: Number(m[1]) * 100 + 99 };
  m = /^(\d{3})\s*-\s*(\d{3})$/.exec(t);
  if (m) return { min: Number(m[1]), max: Number(m[2]) };
  m = /^(\d{3})$/.exec(t);
  if (m) return { min: Number(m[1]), max: Number(m[1]) };
  return undefined;
}

function validRange(r: StatusRange): boolean {
  return r.min >= 100 && r.max <= 599 && r.min <= r.max;
}

export function describeExpectedStatus(ranges: readonly StatusRange[]): string {
  return ranges.map((r) => (r.min === r.max ? String(r.min) : `${r.min}-${r.max}`)).join(", ");
}

const STATUS_FORMS = 'a status (200), a class ("2xx"), a range ("200-299") or a list of those';

/**
 * What an endpoints file may hold, built on the first file read: zod takes about a millisecond
 * to build it, which a run with endpoint lines only would pay at start-up for nothing.
 */
let endpointsFileSchema: ReturnType<typeof buildEndpointsFileSchema> | undefined;

function buildEndpointsFileSchema() {
  const statusItemSchema = z.pipe(
    z.union([z.number(), z.string()]),
    z.transform((value: number | string, ctx) => {
      const range = typeof value === "number" ? { min: value, max: value } : parseStatusText(value);
      if (!range || !validRange(range) || (typeof value === "number" && !Number.isInteger(value))) {
        ctx.issues.push({
          code: "custom",
          message: `${JSON.stringify(value)} is not ${STATUS_FORMS} within 100-599`,
          input: value,
        });
        return z.NEVER as never;
      }
      return range;
    }),
  );

  const expectedStatusSchema = z.pipe(
    z.union([statusItemSchema, z.array(statusItemSchema).check(z.minLength(1))]),
    z.transform((v: StatusRange | StatusRange[]) => (Array.isArray(v) ? v : [v])),
  );

  const methodSchema = z.pipe(
    z.pipe(
      z.string(),
      z.transform((m: string) => m.toUpperCase()),
    ),
    z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(", ")}` }),
  );

  const fileEndpointSchema = z.strictObject({
    url: z.string({ error: "is required: the URL to load" }),
    name: z.optional(z.string().check(z.minLength(1))),
    method: z.optional(methodSchema),
    headers: z.optional(
      z.record(z.string(), z.pipe(z.union([z.string(), z.number(), z.boolean()]), z.transform(String))),
    ),
    body: z.optional(z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])),
    expectedStatus: z.optional(expectedStatusSchema),
  });

  type Listed = z.output<typeof fileEndpointSchema>[];
  return z.union([
    z.array(fileEndpointSchema),
    z.pipe(
      z.strictObject({ endpoints: z.array(fileEndpointSchema) }),
      z.transform((f: { endpoints: Listed }) => f.endpoints),
    ),
  ]);
}

type FileEndpoint = z.output<ReturnType<typeof buildEndpointsFileSchema>>[number];
const ENDPOINT_FIELDS = "url and optionally name, method, headers, body, expectedStatus";

/** What the endpoints come from, before tokens and defaults. */
export interface EndpointSpec {
  url: string;
  name?: string;
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: string;
  expectedStatus?: StatusRange[];
}

function pathToText(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path)
    text += typeof part === "number" ? `[${part}]` : text ? `.${String(part)}` : String(part);
  return text;
}

/** JSON for .json files; otherwise JSON when it parses as such, else YAML (a superset of JSON). */
async function parseJsonOrYaml(content: string, fileName: string): Promise<unknown> {
  if (fileName.toLowerCase().endsWith(".json")) return JSON.parse(content);
  const trimmed = content.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(content);
    } catch {
      // YAML flow style, perhaps: the YAML parser decides.
    }
  }
  // YAML is only loaded when needed: every task run pays its start-up.
  const { parse } = await import("yaml");
  return parse(content);
}

/**
 * Reads an endpoints file: a list of endpoints, or `{ endpoints: [...] }`, as JSON or YAML.
 * Errors name the file and the field (`endpoints.yaml: [1].method: must be one of ...`).
 */
export async function parseEndpointsFile(content: string, fileName: string): Promise<EndpointSpec[]> {
  let data: unknown;
  try {
    data = await parseJsonOrYaml(content, fileName);
  } catch (err) {
    throw new StressInputError(
      `endpointsFile ${fileName}: not valid JSON or YAML: ${(err as Error).message.split("\n")[0]}`,
      "endpointsFile",
    );
  }
  const parsed = (endpointsFileSchema ??= buildEndpointsFileSchema()).safeParse(data);
  if (!parsed.success) {
    // A union reports each branch; the deepest issue is the one the author can act on.
    const issue = deepestIssue(parsed.error.issues);
    const where = pathToText(issue.path);
    const problem = !where
      ? `expected a list of endpoints or { endpoints: [...] }, each with ${ENDPOINT_FIELDS}`
      : issue.code === "unrecognized_keys"
        ? `${where}: unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}; an endpoint has ${ENDPOINT_FIELDS}`
        : `${where}: ${issue.message}`;
    throw new StressInputError(`endpointsFile ${fileName}: ${problem}`, "endpointsFile");
  }
  return parsed.data.map(fromFileEndpoint);
}

function deepestIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue {
  let best = issues[0];
  const visit = (list: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) => {
    for (const issue of list) {
      const path = [...prefix, ...issue.path];
      if (issue.code === "invalid_union" && issue.errors.length > 0) {
        for (const branch of issue.errors) visit(branch, path);
      } else if (path.length > best.path.length) {
        best = { ...issue, path };
      }
    }
  };
  visit(issues, []);
  return best;
}

function fromFileEndpoint(e: FileEndpoint): EndpointSpec {
  const spec: EndpointSpec = { url: e.url };
  if (e.name !== undefined) spec.name = e.name;
  if (e.method !== undefined) spec.method = e.method;
  if (e.headers !== undefined) spec.headers = { ...e.headers };
  if (typeof e.body === "string") spec.body = e.body;
  else if (e.body !== undefined) {
    spec.body = JSON.stringify(e.body);
    if (!hasHeader(spec.headers, "content-type"))
      spec.headers = { ...spec.headers, "content-type": "application/json" };
  }
  if (e.expectedStatus !== undefined) spec.expectedStatus = e.expectedStatus;
  return spec;
}

function hasHeader(headers: Record<string, string> | undefined, name: string): boolean {
  return headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** The multi-line `endpoints` input: one URL a line, optionally preceded by a method; # comments. */
export function parseEndpointLines(text: string): EndpointSpec[] {
  const specs: EndpointSpec[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z]+)\s+(\S+)$/.exec(line);
    if (m) {
      const method = m[1].toUpperCase();
      if (!(HTTP_METHODS as readonly string[]).includes(method)) {
        throw new StressInputError(
          `endpoints: "${line}": ${m[1]} is not a method; use one of ${HTTP_METHODS.join(", ")} or the URL alone`,
          "endpoints",
        );
      }
      specs.push({ url: m[2], method: method as HttpMethod });
    } else if (/\s/.test(line)) {
      throw new StressInputError(
        `endpoints: "${line}": expected one URL a line, optionally after a method (POST https://...)`,
        "endpoints",
      );
    } else {
      specs.push({ url: line });
    }
  }
  return specs;
}

export interface EndpointSources {
  /** The multi-line `endpoints` input. */
  lines?: string;
  /** The `endpointsFile` input, already read. */
  file?: { name: string; content: string };
  tokens?: EndpointTokens;
  /** Sent as `Authorization: Bearer …` unless an endpoint sets its own Authorization header. */
  bearerToken?: string;
}

/** Endpoints from the inputs, tokens filled, defaults applied, URLs and count checked. */
export async function resolveEndpoints(sources: EndpointSources): Promise<StressEndpoint[]> {
  const specs: { spec: EndpointSpec; input: string }[] = [];
  if (sources.lines)
    for (const spec of parseEndpointLines(sources.lines)) specs.push({ spec, input: "endpoints" });
  if (sources.file) {
    for (const spec of await parseEndpointsFile(sources.file.content, sources.file.name)) {
      specs.push({ spec, input: `endpointsFile ${sources.file.name}` });
    }
  }
  checkEndpointCount(specs.length, sources.file && !sources.lines ? "endpointsFile" : "endpoints");
  const tokens = sources.tokens ?? {};
  const endpoints = specs.map(({ spec, input }) => {
    const endpoint = completeEndpoint(spec, tokens, input);
    if (sources.bearerToken && !hasHeader(endpoint.headers, "authorization")) {
      endpoint.headers.authorization = `Bearer ${sources.bearerToken}`;
    }
    return endpoint;
  });
  checkUniqueNames(endpoints);
  return endpoints;
}

/** One endpoint with tokens filled and defaults applied (GET, expected 200-399). */
export function completeEndpoint(
  spec: EndpointSpec,
  tokens: EndpointTokens = {},
  input = "endpoints",
): StressEndpoint {
  const url = substituteTokens(spec.url, tokens, input);
  checkEndpointUrl(url, input);
  const method = spec.method ?? "GET";
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) {
    headers[k.toLowerCase()] = substituteTokens(v, tokens, input, `header ${k}`);
  }
  const endpoint: StressEndpoint = {
    name: spec.name
      ? substituteTokens(spec.name, tokens, input)
      : method === "GET"
        ? url
        : `${method} ${url}`,
    url,
    ...(url === spec.url ? {} : { template: spec.url }),
    method,
    headers,
    expectedStatus: spec.expectedStatus
      ? spec.expectedStatus.map((r) => ({ ...r }))
      : DEFAULT_EXPECTED_STATUS.map((r) => ({ ...r })),
  };
  if (spec.body !== undefined) endpoint.body = substituteTokens(spec.body, tokens, input, "the body");
  return endpoint;
}

export function checkUniqueNames(endpoints: readonly StressEndpoint[]): void {
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (seen.has(e.name)) {
      throw new StressInputError(
        `endpoints: "${e.name}" is listed twice; each endpoint needs its own name (set name: in the endpoints file)`,
        "endpoints",
      );
    }
    seen.add(e.name);
  }
}
