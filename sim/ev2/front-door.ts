/** What the simulator's HTTP front door and its route handlers share: the types, no code. */
import type { ScaledClock } from "./clock";
import type { FaultBook } from "./faults";
import type { SimulatedEv2 } from "./simulated-ev2";

export interface RecordedRequest {
  seq: number;
  /** Date.now() when received (real time). */
  at: number;
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  body: unknown;
  /** 0 if the connection was reset. */
  status: number;
  /** The kind of fault that hit this request, if any. */
  fault?: string;
}

/** What the HTTP front door serves and records into. */
export interface FrontDoorContext {
  ev2: SimulatedEv2;
  clock: ScaledClock;
  faults: FaultBook;
  tokens: ReadonlySet<string>;
  forbiddenTokens: ReadonlySet<string>;
  requests: RecordedRequest[];
  /** Aborted on close, to end pending "slow" answers. */
  closing: AbortSignal;
}

/** A request as the route handlers see it. */
export interface IncomingCall {
  method: string;
  path: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  body: unknown;
  /** The body was present but not JSON. */
  bodyIsNotJson: boolean;
}
