/**
 * A classic release's gates, evaluated the way the Azure DevOps server evaluates them: after the
 * delay before evaluation (`stabilizationTime`), every gate is sampled each `samplingInterval`;
 * the gates pass when all of them pass in one sample and keep passing for
 * `minimumSuccessDuration`; they fail when `timeout` runs out first. A gate task with an
 * `HttpRequest` execution (Ev2RolloutGate) is the request its task.json describes, sent over
 * its service connection, and its `Expression` (success criteria) judged against the answer
 * with the server's expression and JSONPath rules (server-expression.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectionResolver } from "../runner";
import type { BuiltTask, TaskCatalog } from "../task-catalog";
import type { EndpointSetup } from "../task-process";
import type { GateStep, ReleaseTask } from "./release-definition";
import { evaluateServerExpression, substituteMacros, truthy } from "./server-expression";

/** The time gates are sampled on: the simulator's (fast) clock, or real time against a real EV2. */
export interface GateClock {
  /** Milliseconds, on this clock. */
  now(): number;
  /** Waits `ms` of this clock's milliseconds. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A clock running `speed` times faster than real time (the EV2 simulator's). */
export function scaledGateClock(clock: { now(): Date; speed: number }): GateClock {
  return {
    now: () => clock.now().getTime(),
    sleep: async (ms, signal) => {
      const until = clock.now().getTime() + ms;
      // Re-read the clock: its speed can change (or it can be advanced) while waiting.
      while (clock.now().getTime() < until && !signal?.aborted) {
        const left = (until - clock.now().getTime()) / Math.max(clock.speed, 1e-3);
        await delay(Math.min(Math.max(left, 1), 1000), signal);
      }
    },
  };
}

export const realGateClock: GateClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, signal),
};

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface GateContext {
  catalog: TaskCatalog;
  connections?: ConnectionResolver;
  /** The environment's variables (macros expanded). */
  variables: Record<string, string>;
  clock: GateClock;
  notice(level: "info" | "warning", message: string): void;
  signal?: AbortSignal;
  /** Values never to show (tokens). */
  mask?: (text: string) => string;
}

export interface GateSample {
  gate: string;
  passed: boolean;
  /** What was asked and what came back, in one line. */
  detail: string;
}

interface HttpRequestExecution {
  EndpointId?: string;
  EndpointUrl: string;
  Method?: string;
  Headers?: string;
  Body?: string;
  Expression?: string;
}

/**
 * Runs the gates of one step (`what`: e.g. "post-deployment gates of Broad"). Undefined when
 * they passed; otherwise why they did not.
 */
export async function runGates(step: GateStep, what: string, ctx: GateContext): Promise<string | undefined> {
  if (!step.enabled || step.tasks.length === 0) return undefined;
  const minute = 60_000;
  const say = (text: string) => ctx.notice("info", `${what}: ${text}`);
  say(
    `${step.tasks.length} gate(s); delay before evaluation ${step.stabilizationMinutes} min, sampled every ${step.samplingIntervalMinutes} min, timeout ${step.timeoutMinutes} min${step.minimumSuccessMinutes ? `, must keep passing for ${step.minimumSuccessMinutes} min` : ""}`,
  );
  // The timeout counts from when the gates start, the delay before evaluation included.
  const deadline = ctx.clock.now() + step.timeoutMinutes * minute;
  if (step.stabilizationMinutes > 0) await ctx.clock.sleep(step.stabilizationMinutes * minute, ctx.signal);
  let passingSince: number | undefined;
  let last: GateSample[] = [];
  for (let sample = 1; ; sample++) {
    if (ctx.signal?.aborted) return `${what} were canceled`;
    const at = ctx.clock.now();
    last = await Promise.all(step.tasks.map((task) => sampleGate(task, ctx)));
    const allPassed = last.every((s) => s.passed);
    const shown = last
      .map((s) => `${s.gate} ${s.passed ? "passed" : "did not pass"} (${s.detail})`)
      .join("; ");
    say(`sample ${sample}: ${ctx.mask ? ctx.mask(shown) : shown}`);
    if (allPassed) {
      passingSince ??= at;
      if (at - passingSince >= step.minimumSuccessMinutes * minute) {
        say(`passed at sample ${sample}`);
        return undefined;
      }
    } else passingSince = undefined;
    const next = ctx.clock.now() + step.samplingIntervalMinutes * minute;
    if (next >= deadline) {
      const failing = last.filter((s) => !s.passed).map((s) => `${s.gate}: ${s.detail}`);
      const why =
        failing.length > 0
          ? failing.join("; ")
          : `they passed but not for ${step.minimumSuccessMinutes} min in a row`;
      return ctx.mask
        ? ctx.mask(`${what} did not pass within ${step.timeoutMinutes} min (${sample} sample(s)): ${why}`)
        : `${what} did not pass within ${step.timeoutMinutes} min (${sample} sample(s)): ${why}`;
    }
    await ctx.clock.sleep(step.samplingIntervalMinutes * minute, ctx.signal);
  }
}

/** One evaluation of one gate. */
export async function sampleGate(task: ReleaseTask, ctx: GateContext): Promise<GateSample> {
  const built = ctx.catalog.byId(task.taskId);
  const gate = task.name || built?.friendlyName || task.taskId;
  const fail = (detail: string): GateSample => ({ gate, passed: false, detail });
  if (!built)
    return fail(`task ${task.taskId} is not one of this extension's tasks, so it cannot be evaluated here`);
  const execution = httpRequestOf(built);
  if (!execution) return fail(`${built.name} has no HttpRequest execution to evaluate`);

  // Inputs as the server reads them: task.json defaults, then the gate's values, macros expanded.
  const inputs: Record<string, string> = {};
  for (const input of built.inputs) inputs[input.name] = input.defaultValue ?? "";
  for (const [key, value] of Object.entries(task.inputs)) {
    const input = built.inputs.find((i) => i.name.toLowerCase() === key.toLowerCase());
    inputs[input?.name ?? key] = substituteMacros(value, ctx.variables);
  }
  let endpoint: EndpointSetup | undefined;
  const endpointId = execution.EndpointId ? substituteMacros(execution.EndpointId, inputs).trim() : "";
  if (endpointId) {
    const input = built.inputs.find(
      (i) => i.type.startsWith("connectedService:") && inputs[i.name] === endpointId,
    );
    const type = input?.type.slice("connectedService:".length) ?? "";
    endpoint = ctx.connections?.(endpointId, type);
    if (!endpoint) return fail(`service connection ${endpointId} is not available in this local run`);
  }
  const values: Record<string, string> = { ...ctx.variables, ...inputs };
  if (endpoint) {
    values["endpoint.url"] = endpoint.url;
    for (const [k, v] of Object.entries(endpoint.parameters ?? {})) values[`endpoint.${k}`] = v;
  }
  const url = substituteMacros(execution.EndpointUrl, values);
  const method = (execution.Method ?? "GET").toUpperCase();
  let headers: Record<string, string> = {};
  try {
    headers = execution.Headers
      ? (JSON.parse(substituteMacros(execution.Headers, values)) as Record<string, string>)
      : {};
  } catch {
    return fail(`its Headers are not a JSON object: ${execution.Headers}`);
  }
  Object.assign(headers, endpoint ? authorizationOf(endpoint) : {});
  let status: number;
  let body: unknown;
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: execution.Body && method !== "GET" ? substituteMacros(execution.Body, values) : undefined,
      signal: AbortSignal.timeout(20_000),
    });
    status = response.status;
    const text = await response.text();
    if (!response.ok) return fail(`${method} ${url} answered ${status}: ${text.slice(0, 200)}`);
    try {
      body = text.trim() ? JSON.parse(text) : null;
    } catch {
      return fail(`${method} ${url} answered ${status} with a body that is not JSON`);
    }
  } catch (err) {
    return fail(`${method} ${url} failed: ${(err as Error).message}`);
  }
  if (!execution.Expression) return { gate, passed: true, detail: `${method} ${url} answered ${status}` };
  const expression = substituteMacros(execution.Expression, values);
  try {
    const verdict = evaluateServerExpression(expression, body);
    return {
      gate,
      passed: truthy(verdict),
      detail: `${method} ${url} answered ${status}; success criteria ${truthy(verdict) ? "met" : "not met"}${describe(body)}`,
    };
  } catch (err) {
    return fail(`its success criteria cannot be evaluated: ${(err as Error).message}`);
  }
}

/** What a gate's answer says about the rollout, so a failing sample explains itself. */
function describe(body: unknown): string {
  const rollout = (b: unknown): Record<string, unknown> | undefined => {
    if (typeof b !== "object" || b === null) return undefined;
    const o = b as Record<string, unknown>;
    if (Array.isArray(o.rollouts)) return o.rollouts.length > 0 ? rollout(o.rollouts[0]) : undefined;
    return typeof o.status === "string" ? o : undefined;
  };
  const r = rollout(body);
  if (r) return `: rollout ${String(r.rolloutId ?? "?")} is ${String(r.status)}`;
  if (typeof body === "object" && body !== null && Array.isArray((body as { rollouts?: unknown }).rollouts))
    return ": no rollout found";
  return "";
}

/** The request the server sends for a gate task (task.json `execution.HttpRequest.Execute`). */
function httpRequestOf(task: BuiltTask): HttpRequestExecution | undefined {
  const manifest = JSON.parse(readFileSync(join(task.directory, "task.json"), "utf8")) as {
    execution?: { HttpRequest?: { Execute?: HttpRequestExecution } };
  };
  const execute = manifest.execution?.HttpRequest?.Execute;
  return execute?.EndpointUrl ? execute : undefined;
}

/**
 * The header the server adds for the connection's authentication scheme: for the EV2 connection
 * (scheme Token) `Authorization: Bearer {{endpoint.apitoken}}`, as vss-extension.json declares.
 */
export function authorizationOf(endpoint: EndpointSetup): Record<string, string> {
  const p = endpoint.parameters ?? {};
  const scheme = (endpoint.scheme ?? "").toLowerCase();
  if (scheme === "token" && p.apitoken) return { Authorization: `Bearer ${p.apitoken}` };
  if (scheme === "oauth" && p.AccessToken) return { Authorization: `Bearer ${p.AccessToken}` };
  return {};
}
