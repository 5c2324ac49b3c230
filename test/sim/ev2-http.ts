/** Plain-fetch helpers for the simulator tests (deliberately not the project's EV2 client). */
import type { RolloutView, Simulator } from "../../sim/ev2";

export const GROUP = "Microsoft.Contoso.Orders";
export const SERVICE = "orders-api";
export const STAGE_MAP = "OrdersStageMap";
export const SERVICE_PATH = `/serviceGroups/${encodeURIComponent(GROUP)}/services/${SERVICE}`;
export const AUTH = { authorization: "Bearer sim-token" };

export interface HttpAnswer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

// Answers come in many shapes; tests read the fields they assert on.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call<T = any>(
  sim: Simulator | string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<HttpAnswer<T>> {
  const base = typeof sim === "string" ? sim : sim.url;
  const headers: Record<string, string> = { ...(options.auth === false ? {} : AUTH), ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(base + path, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = undefined;
  if (text.length > 0 && (response.headers.get("content-type") ?? "").includes("json"))
    body = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: body as T, text };
}

export function startBody(overrides: Record<string, unknown> = {}) {
  return {
    stageMapName: STAGE_MAP,
    stageMapVersion: "v3",
    artifactVersionNumber: "1.3.2",
    environment: "PPE",
    selectionScope: ["regions(*).steps(*).stamps(*).actions(*)"],
    exclusionScope: [],
    tags: { "ado.runUrl": "https://dev.azure.com/org/proj/_build/results?buildId=42" },
    ...overrides,
  };
}

let keyCounter = 0;
export function freshKey(): string {
  keyCounter++;
  return `test-key-${process.pid}-${keyCounter}`;
}

/** Starts a rollout and returns its id (fails the test on anything but 201). */
export async function startRollout(sim: Simulator, overrides: Record<string, unknown> = {}): Promise<string> {
  const answer = await call(sim, "POST", `${SERVICE_PATH}/rollouts`, {
    body: startBody(overrides),
    headers: { "idempotency-key": freshKey() },
  });
  if (answer.status !== 201) throw new Error(`start answered ${answer.status}: ${answer.text}`);
  return answer.body.rolloutId;
}

export async function getRollout(sim: Simulator, rolloutId: string): Promise<RolloutView> {
  const answer = await call<RolloutView>(sim, "GET", `/rollouts/${rolloutId}`);
  if (answer.status !== 200) throw new Error(`get answered ${answer.status}: ${answer.text}`);
  return answer.body;
}

export const SECOND = 1000;
