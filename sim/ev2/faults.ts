import { seededRandom } from "../../shared/random";
import * as z from "zod";

export interface FaultRule {
  kind: "status" | "reset" | "slow" | "malformed" | "html";
  /** For kind "status": 429, 503, 500, 502, 504, 408 ...; also used by "html" (default 502). */
  status?: number;
  /** Seconds or an HTTP-date, sent as the Retry-After header (kind "status"). */
  retryAfter?: number | string;
  /** For "slow": delay before answering normally. */
  delayMs?: number;
  /** Match only this method. */
  method?: string;
  /** Match the request path (without query): a substring, or a RegExp. */
  path?: string | RegExp;
  /** Apply to the next N matching requests, then expire (default: unlimited). */
  count?: number;
  /** 0..1 chance per matching request (seeded PRNG); default 1. */
  probability?: number;
}

/** The body of `POST /_sim/faults`: a FaultRule whose path is a substring, or `pathPattern` a regex source. */
export const faultRuleBodySchema = z
  .strictObject({
    kind: z.enum(["status", "reset", "slow", "malformed", "html"]),
    status: z.number().int().min(100).max(599).optional(),
    retryAfter: z.union([z.number().nonnegative(), z.string().min(1)]).optional(),
    delayMs: z.number().nonnegative().optional(),
    method: z.string().min(1).optional(),
    path: z.string().optional(),
    pathPattern: z.string().optional(),
    count: z.number().int().positive().optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .refine((rule) => rule.kind !== "status" || rule.status !== undefined, {
    message: 'kind "status" needs a status',
    path: ["status"],
  })
  .refine((rule) => rule.path === undefined || rule.pathPattern === undefined, {
    message: "give path (substring) or pathPattern (regex), not both",
    path: ["pathPattern"],
  });

export function faultRuleFromBody(body: z.output<typeof faultRuleBodySchema>): FaultRule {
  const { pathPattern, ...rule } = body;
  return pathPattern === undefined ? rule : { ...rule, path: new RegExp(pathPattern) };
}

export function validateFaultRule(rule: FaultRule): void {
  const problems: string[] = [];
  if (!["status", "reset", "slow", "malformed", "html"].includes(rule.kind))
    problems.push(`unknown kind "${rule.kind}"`);
  if (rule.kind === "status" && rule.status === undefined) problems.push('kind "status" needs a status');
  if (rule.count !== undefined && !(Number.isInteger(rule.count) && rule.count > 0))
    problems.push("count must be an integer > 0");
  if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
    problems.push("probability must be between 0 and 1");
  }
  if (problems.length > 0) throw new TypeError(`Invalid fault rule: ${problems.join("; ")}`);
}

export { seededRandom } from "../../shared/random";

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

/** The fault rules in force; the first rule that matches a request (and wins its dice roll) applies. */
export class FaultBook {
  private active: ActiveRule[] = [];
  private hits = 0;
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  add(rule: FaultRule): void {
    validateFaultRule(rule);
    this.active.push({ rule, remaining: rule.count ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.active = [];
  }

  get injected(): number {
    return this.hits;
  }

  rules(): FaultRule[] {
    return this.active.map(({ rule }) => rule);
  }

  /** The fault for this request, if any; using it counts it and uses up one of its `count`. */
  take(method: string, path: string): FaultRule | undefined {
    for (const entry of this.active) {
      const { rule } = entry;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.path !== undefined && !matchesPath(rule.path, path)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      entry.remaining--;
      if (entry.remaining <= 0) this.active = this.active.filter((other) => other !== entry);
      this.hits++;
      return rule;
    }
    return undefined;
  }
}

function matchesPath(pattern: string | RegExp, path: string): boolean {
  if (typeof pattern === "string") return path.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(path);
}

/** Error codes a faulted status answer carries, as EV2's front door would send them. */
export const FAULT_STATUS_CODES: Record<number, string> = {
  400: "InvalidParameter",
  401: "AuthenticationFailed",
  403: "Forbidden",
  404: "NotFound",
  408: "RequestTimeout",
  409: "Conflict",
  429: "TooManyRequests",
  500: "InternalError",
  502: "BadGateway",
  503: "ServiceUnavailable",
  504: "GatewayTimeout",
};

/** A 200 whose JSON stops mid-way, as a dropped proxy connection leaves it. */
export const TRUNCATED_JSON = '{"rolloutId":"6f1c2a7e-0000-4000-8000-000000000001","status":"InProg';

export function htmlErrorPage(status: number): string {
  return `<!DOCTYPE html>\n<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>The gateway could not reach the service.</p></body></html>\n`;
}
