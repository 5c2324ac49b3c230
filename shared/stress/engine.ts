/**
 * The load engine: HTTP/1.1 connections of its own (http1-connection.ts) that write a request
 * serialised once and skim the answers — no promise, no closure and no object per request —
 * and one recorder per endpoint.
 *
 * Each endpoint gets its own share of the connections (and of the rate), so a slow endpoint
 * does not slow the load on the others and each endpoint's figures stand on their own.
 *
 * Closed model: each connection sends the next request when the previous answer arrives.
 * Open model: request k of an endpoint is due at first + k / rate; it goes out on a free
 * connection at that time, or as soon as one comes free. Latency counts from the due time
 * (corrected for coordinated omission) and, for comparison, from the actual send.
 */
import type { StressEndpoint } from "./endpoints";
import { RequestTimeoutError, classifyRequestError } from "./errors";
import type { SocketRoute } from "../http/transport";
import { Http1Connection, requestTarget, type RequestTarget, type ResponseHandler } from "./http1-connection";
import { EndpointRecorder, type EndpointTotals } from "./measurements";
import type { EarlyAbort, SecondCounts, ThresholdWatch } from "./sliding-window";

/** A send leaving later than this after its due time counts as late. */
export const LATE_TOLERANCE_MS = 10;

export interface LoadPlan {
  endpoints: readonly StressEndpoint[];
  connections: number;
  /** Open model when set: requests per second over all endpoints. */
  rate?: number;
  durationSeconds: number;
  /** Measured requests over all endpoints; the run ends at this count or the duration. */
  requests?: number;
  warmupSeconds: number;
  timeoutMs: number;
  pipelining: number;
  /** How the sockets reach an endpoint (the agent's proxy, its certificates); default direct. */
  routeFor?: (url: URL) => SocketRoute;
  signal?: AbortSignal;
  /**
   * Thresholds over sliding windows: recorded per second, judged once a second of measurement;
   * an `abort` line's breach stops the load the way a cancel does, but the outcome is not aborted.
   */
  watch?: ThresholdWatch;
  /** Called about once a second while the load runs. */
  onProgress?: (progress: LoadProgress) => void;
}

export interface LoadProgress {
  phase: "warmup" | "measuring" | "draining";
  elapsedSeconds: number;
  /** Measured requests completed so far, over all endpoints. */
  requests: number;
  failures: number;
}

export interface LoadOutcome {
  /** Per endpoint, in the order of the plan. */
  totals: EndpointTotals[];
  /** Cancelled (the signal), not stopped early by a threshold. */
  aborted: boolean;
  /** A windowed `abort` threshold stopped the load. */
  earlyAbort?: EarlyAbort;
  measuredSeconds: number;
  startedAt: Date;
  finishedAt: Date;
}

/** Splits `total` into `parts` whole shares differing by at most one. */
export function shareOf(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/** The shared clock and stop state of one run. */
class RunState {
  stopped = false;
  aborted = false;
  /** Slots that may still send or are in flight; the run is over when none are left. */
  liveSlots = 0;
  lastCompletion = 0;
  stoppedAt = 0;
  private done!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.done = resolve));

  constructor(
    readonly measureFrom: number,
    readonly stopAt: number,
    readonly routeFor?: LoadPlan["routeFor"],
    /** Each endpoint's current second of the sliding-window watch, when there is one. */
    readonly windowSeconds = new Map<StressEndpoint, SecondCounts>(),
  ) {}

  retire(): void {
    if (--this.liveSlots === 0) this.done();
  }
}

/** One request slot on one connection: the handler of the request it carries and its timing. */
class RequestSlot implements ResponseHandler {
  dueAt = 0;
  sentAt = 0;
  inFlight = false;
  private retired = false;

  constructor(
    readonly load: EndpointLoad,
    readonly connection: Http1Connection,
  ) {}

  send(dueAt: number, now: number): void {
    this.dueAt = dueAt;
    this.sentAt = now;
    this.inFlight = true;
    this.connection.send(this, now);
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.load.run.retire();
  }

  /**
   * Cancels the request in flight as timed out; the connection goes with it. Answers come in
   * order, so the oldest request on the connection is the one overdue first: that is this one.
   */
  timeOut(error: Error): void {
    this.connection.failOldest(error);
  }

  onResponse(status: number, now: number): void {
    const load = this.load;
    this.inFlight = false;
    if (this.dueAt >= load.run.measureFrom)
      load.recorder.recordResponse(status, now - this.dueAt, now - this.sentAt);
    load.run.lastCompletion = now;
    load.afterCompletion(this, now);
  }

  onFailure(err: Error): void {
    const load = this.load;
    this.inFlight = false;
    if (load.run.aborted) {
      this.retire();
      return;
    }
    const now = performance.now();
    if (this.dueAt >= load.run.measureFrom) load.recorder.recordError(classifyRequestError(err));
    load.run.lastCompletion = now;
    load.afterCompletion(this, now);
  }
}

/** The load on one endpoint: its request, its connections and, in the open model, its schedule. */
abstract class EndpointLoad {
  readonly recorder: EndpointRecorder;
  readonly target: RequestTarget;
  readonly slots: RequestSlot[] = [];

  constructor(
    readonly run: RunState,
    readonly endpoint: StressEndpoint,
    openModel: boolean,
  ) {
    this.recorder = new EndpointRecorder(endpoint.expectedStatus, openModel, run.windowSeconds.get(endpoint));
    this.target = requestTarget(endpoint, run.routeFor?.(new URL(endpoint.url)));
  }

  abstract start(now: number): void;
  abstract afterCompletion(slot: RequestSlot, now: number): void;
  /** Sends what fell due up to now on free connections, before the run stops. */
  abstract flush(now: number): void;
  /** The run stopped (at its end, or cut short by an abort): no more sends. */
  abstract stop(now: number, aborted: boolean): void;
  abstract openCounters():
    { requestedRate: number; scheduledSends: number; droppedSends: number } | undefined;
}

class ClosedLoad extends EndpointLoad {
  private issued = 0;

  constructor(
    run: RunState,
    endpoint: StressEndpoint,
    /** Measured requests this endpoint may still start. */
    private readonly quota: number,
  ) {
    super(run, endpoint, false);
  }

  start(now: number): void {
    for (const slot of this.slots) this.next(slot, now);
  }

  afterCompletion(slot: RequestSlot, now: number): void {
    this.next(slot, now);
  }

  private next(slot: RequestSlot, now: number): void {
    const run = this.run;
    if (run.stopped || now >= run.stopAt) {
      slot.retire();
      return;
    }
    if (now >= run.measureFrom && this.issued++ >= this.quota) {
      slot.retire();
      return;
    }
    slot.send(now, now);
  }

  flush(): void {}

  stop(): void {}

  openCounters(): undefined {
    return undefined;
  }
}

class OpenLoad extends EndpointLoad {
  private readonly intervalMs: number;
  private next = 0;
  /** Index of the first send due in the measured window, and the end of the schedule. */
  private readonly firstMeasured: number;
  private end: number;
  private readonly idle: RequestSlot[] = [];
  private idleHead = 0;
  private idleCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pumpNow = () => {
    this.timer = undefined;
    this.pump(performance.now());
  };

  constructor(
    run: RunState,
    endpoint: StressEndpoint,
    private readonly rate: number,
    private readonly firstDueAt: number,
    quota: number,
  ) {
    super(run, endpoint, true);
    this.intervalMs = 1000 / rate;
    this.firstMeasured = this.sendsDueBefore(run.measureFrom);
    const lastByTime = this.sendsDueBefore(run.stopAt);
    this.end = Math.min(lastByTime, this.firstMeasured + quota);
  }

  start(now: number): void {
    for (const slot of this.slots) this.pushIdle(slot);
    this.pump(now);
  }

  /** How many sends fall due before `time`; the tolerance keeps 500 / 0.5 from counting 1001. */
  private sendsDueBefore(time: number): number {
    return Math.max(0, Math.ceil((time - this.firstDueAt) / this.intervalMs - 1e-9));
  }

  private dueAt(index: number): number {
    return this.firstDueAt + index * this.intervalMs;
  }

  private pushIdle(slot: RequestSlot): void {
    const capacity = this.slots.length;
    this.idle[(this.idleHead + this.idleCount) % capacity] = slot;
    this.idleCount++;
  }

  private popIdle(): RequestSlot {
    const slot = this.idle[this.idleHead];
    this.idleHead = (this.idleHead + 1) % this.slots.length;
    this.idleCount--;
    return slot;
  }

  private sendDue(slot: RequestSlot, index: number, now: number): void {
    const due = this.dueAt(index);
    if (index >= this.firstMeasured) {
      this.recorder.sentRequests++;
      if (now - due > LATE_TOLERANCE_MS) this.recorder.lateSends++;
    }
    slot.send(due, now);
  }

  /** Sends everything due on the idle connections; then waits for the next due time or a free connection. */
  private pump(now: number): void {
    while (this.next < this.end && !this.run.stopped) {
      const due = this.dueAt(this.next);
      if (due > now) {
        this.timer ??= setTimeout(this.pumpNow, due - now);
        return;
      }
      if (this.idleCount === 0) return;
      this.sendDue(this.popIdle(), this.next++, now);
    }
    this.retireIdle();
  }

  private retireIdle(): void {
    while (this.idleCount > 0) this.popIdle().retire();
  }

  afterCompletion(slot: RequestSlot, now: number): void {
    if (this.run.stopped || this.next >= this.end) {
      slot.retire();
      return;
    }
    if (this.dueAt(this.next) <= now) {
      this.sendDue(slot, this.next++, now);
      return;
    }
    this.pushIdle(slot);
    if (this.timer === undefined) this.pump(now);
  }

  flush(now: number): void {
    this.pump(now);
  }

  stop(now: number, aborted: boolean): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // An abort cuts the schedule short: sends due after it were never owed.
    if (aborted) this.end = Math.min(this.end, Math.max(this.sendsDueBefore(now), this.next));
    this.retireIdle();
  }

  openCounters() {
    const scheduledSends = Math.max(0, this.end - this.firstMeasured);
    return {
      requestedRate: this.rate,
      scheduledSends,
      droppedSends: Math.max(0, scheduledSends - this.recorder.sentRequests),
    };
  }
}

/**
 * Runs the load of a plan (validated by the caller) and returns what was measured. An abort
 * ends it at once: requests in flight are cancelled and left out, and the outcome says aborted.
 */
export async function runLoad(plan: LoadPlan): Promise<LoadOutcome> {
  const startedAt = new Date();
  const endpointCount = plan.endpoints.length;
  const start = performance.now();
  const measureFrom = start + plan.warmupSeconds * 1000;
  const watch = plan.watch;
  const run = new RunState(
    measureFrom,
    measureFrom + plan.durationSeconds * 1000,
    plan.routeFor,
    new Map(watch ? plan.endpoints.map((e, i) => [e, watch.seconds[i]]) : []),
  );
  const quota = plan.requests ?? Number.POSITIVE_INFINITY;
  const connections: Http1Connection[] = [];

  const loads = plan.endpoints.map((endpoint, i): EndpointLoad => {
    const endpointQuota = Number.isFinite(quota) ? shareOf(quota, endpointCount, i) : quota;
    if (plan.rate === undefined) return new ClosedLoad(run, endpoint, endpointQuota);
    const rate = plan.rate / endpointCount;
    // Endpoints take turns within one interval instead of all sending at the same instant.
    const firstDueAt = start + (i * 1000) / rate / endpointCount;
    return new OpenLoad(run, endpoint, rate, firstDueAt, endpointQuota);
  });

  loads.forEach((load, i) => {
    const share = shareOf(plan.connections, endpointCount, i);
    for (let c = 0; c < share; c++) {
      // Connecting counts against the request timeout like the rest of the request.
      const connection = new Http1Connection(load.target);
      connections.push(connection);
      for (let p = 0; p < plan.pipelining; p++) load.slots.push(new RequestSlot(load, connection));
    }
  });
  const slots = loads.flatMap((l) => l.slots);
  run.liveSlots = slots.length;

  const abortedError = new Error("the run was aborted");
  const stop = (aborted: boolean) => {
    if (run.stopped) return;
    const now = performance.now();
    // A send due just before the end whose timer had not fired yet still goes out.
    if (!aborted) for (const load of loads) load.flush(now);
    run.stopped = true;
    run.aborted = aborted;
    run.stoppedAt = now;
    for (const load of loads) load.stop(now, aborted);
    if (aborted) for (const connection of connections) connection.close(abortedError);
  };
  const onAbort = () => stop(true);
  // One sweep over the slots instead of a timer per request: a request is cancelled at most a
  // tenth of the timeout (and never more than 100 ms) after it is due to.
  const timeoutError = new RequestTimeoutError(plan.timeoutMs);
  const sweepTimer = setInterval(
    () => {
      const latestSend = performance.now() - plan.timeoutMs;
      for (const slot of slots) if (slot.inFlight && slot.sentAt < latestSend) slot.timeOut(timeoutError);
    },
    Math.min(100, Math.max(1, plan.timeoutMs / 10)),
  );
  // Node's timers run on a millisecond clock and may fire a little before performance.now()
  // reaches the end; ending early would leave the last sends of the schedule unsent.
  const endWhenDue = () => {
    const left = run.stopAt - performance.now();
    if (left > 0) stopTimer = setTimeout(endWhenDue, Math.max(1, left));
    else stop(false);
  };
  let stopTimer = setTimeout(endWhenDue, run.stopAt - performance.now());
  // Sliding windows: a second of measurement closes about every second, on the measuring clock.
  let earlyAbort: EarlyAbort | undefined;
  let windowTimer: NodeJS.Timeout | undefined;
  let secondsClosed = 0;
  let closedAt = measureFrom;
  if (watch) {
    const closeSecond = () => {
      if (run.stopped) return;
      const now = performance.now();
      // Timers run on a millisecond clock and may fire a little early: a second is a second.
      const due = measureFrom + (secondsClosed + 1) * 1000;
      if (now < due) {
        windowTimer = setTimeout(closeSecond, Math.max(1, due - now));
        return;
      }
      earlyAbort = watch.closeSecond((now - closedAt) / 1000);
      closedAt = now;
      secondsClosed++;
      if (earlyAbort) stop(true);
      else windowTimer = setTimeout(closeSecond, Math.max(1, measureFrom + (secondsClosed + 1) * 1000 - now));
    };
    windowTimer = setTimeout(closeSecond, Math.max(1, measureFrom + 1000 - performance.now()));
  }
  let progressTimer: NodeJS.Timeout | undefined;
  if (plan.onProgress) {
    const onProgress = plan.onProgress;
    progressTimer = setInterval(() => {
      const now = performance.now();
      let requests = 0;
      let failures = 0;
      for (const l of loads) {
        requests += l.recorder.requests;
        failures += l.recorder.failures;
      }
      const phase =
        run.stopped || now >= run.stopAt ? "draining" : now < measureFrom ? "warmup" : "measuring";
      onProgress({ phase, elapsedSeconds: (now - start) / 1000, requests, failures });
    }, 1000);
  }

  if (plan.signal?.aborted) {
    // Nothing was sent, so no slot will report back.
    stop(true);
  } else {
    plan.signal?.addEventListener("abort", onAbort, { once: true });
    const now = performance.now();
    for (const load of loads) load.start(now);
    if (run.liveSlots > 0) await run.finished;
  }

  clearTimeout(stopTimer);
  clearTimeout(windowTimer);
  clearInterval(sweepTimer);
  if (progressTimer) clearInterval(progressTimer);
  plan.signal?.removeEventListener("abort", onAbort);
  for (const connection of connections) connection.close(abortedError);

  const endedAt = run.aborted
    ? run.stoppedAt
    : Math.max(run.stoppedAt || run.lastCompletion, run.lastCompletion);
  // What completed since the last closed second (the drain included) is the last part-second;
  // after an early abort the seconds judged are all there is.
  watch?.finish(earlyAbort ? 0 : Math.max(0, endedAt - closedAt) / 1000);
  const measuredSeconds = Math.max(0, (endedAt - measureFrom) / 1000);
  const totals = loads.map((load) => {
    const open = load.openCounters();
    return load.recorder.totals(measuredSeconds, open && { ...open, lateToleranceMs: LATE_TOLERANCE_MS });
  });
  return {
    totals,
    aborted: run.aborted && earlyAbort === undefined,
    ...(earlyAbort ? { earlyAbort } : {}),
    measuredSeconds,
    startedAt,
    finishedAt: new Date(),
  };
}
