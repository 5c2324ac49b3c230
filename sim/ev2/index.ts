/**
 * The EV2 simulator: a real HTTP server on 127.0.0.1 serving the whole EV2 rollout REST
 * contract (../shared/ev2-rest-contract.md) from a scenario, with a simulated clock and fault
 * injection. Used by tests and the local demo; never shipped in the extension.
 */
import type { AddressInfo } from "node:net";
import { ScaledClock, type SimulatedClock } from "./clock";
import { FaultBook, type FaultRule } from "./faults";
import type { RecordedRequest } from "./front-door";
import { createFrontDoor } from "./http-server";
import type { RolloutView } from "./rollout-timeline";
import { loadScenario, type Scenario, type ValidScenario } from "./scenario";
import { SimulatedEv2 } from "./simulated-ev2";

export type { SimulatedClock } from "./clock";
export type { FaultRule } from "./faults";
export type { RecordedRequest } from "./front-door";
export type {
  RegionStatus,
  RegionView,
  RolloutErrorView,
  RolloutStatus,
  RolloutView,
  StageStatus,
  StageView,
  WaitActionStatus,
  WaitActionView,
} from "./rollout-timeline";
export { bundledScenarioNames, loadScenario, ScenarioError, validateScenario } from "./scenario";
export type { Scenario, ValidScenario } from "./scenario";
export { DASHBOARD_BASE_URL } from "./simulated-ev2";

export const DEFAULT_TOKEN = "sim-token";

export interface SimulatorOptions {
  /** A scenario object, a path to a JSON file, or a bundled scenario name like "small" (sim/scenarios/<name>.json). */
  scenario: Scenario | string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Simulated seconds per real second; default 1 (0 freezes the clock: only advance() moves it). */
  clockSpeed?: number;
  /** Accepted bearer tokens; default ["sim-token"]. Unknown or missing → 401 AuthenticationFailed. */
  tokens?: string[];
  /** Valid tokens that get 403 Forbidden. */
  forbiddenTokens?: string[];
  /** Seed for probabilistic faults (deterministic PRNG); default 1. */
  seed?: number;
}

export interface Simulator {
  /** "http://127.0.0.1:<port>" */
  url: string;
  port: number;
  /** The validated scenario being served. */
  scenario: ValidScenario;
  /** Every EV2 request received, in order, including ones hit by faults (not the /_sim/ admin calls). */
  requests: RecordedRequest[];
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** How many requests were hit by a fault. */
  faultsInjected(): number;
  /** The simulated clock; advance() jumps simulated time, speed can be changed at any time. */
  clock: SimulatedClock;
  /** The current state of every rollout, oldest first (the same JSON as GET /rollouts/{id}). */
  rollouts(): RolloutView[];
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const scenario = loadScenario(options.scenario);
  const clock = new ScaledClock(options.clockSpeed ?? 1);
  const ev2 = new SimulatedEv2(scenario, clock);
  const faults = new FaultBook(options.seed ?? 1);
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();
  const tokens = new Set(options.tokens ?? [DEFAULT_TOKEN]);
  const forbiddenTokens = new Set(options.forbiddenTokens ?? []);
  // A forbidden token is by definition a valid one.
  for (const token of forbiddenTokens) tokens.add(token);

  const server = createFrontDoor({
    ev2,
    clock,
    faults,
    tokens,
    forbiddenTokens,
    requests,
    closing: closing.signal,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    scenario,
    requests,
    addFault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    faultsInjected: () => faults.injected,
    clock,
    rollouts: () => ev2.rollouts(),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
