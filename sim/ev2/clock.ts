/**
 * The simulated clock: simulated time runs `speed` times faster than real time and can be
 * jumped forward, so tests and demos can run hour-long rollouts in seconds.
 */
export interface SimulatedClock {
  now(): Date;
  /** Jumps simulated time forward by `ms` simulated milliseconds. */
  advance(ms: number): void;
  /** Simulated seconds per real second; changing it keeps the current simulated time. */
  speed: number;
}

export class ScaledClock implements SimulatedClock {
  private anchorRealMs: number;
  private anchorSimMs: number;
  private currentSpeed: number;

  constructor(
    speed: number,
    startSimMs: number = Date.now(),
    private readonly realNow: () => number = Date.now,
  ) {
    assertValidSpeed(speed);
    this.currentSpeed = speed;
    this.anchorRealMs = this.realNow();
    this.anchorSimMs = startSimMs;
  }

  /** Simulated epoch milliseconds. */
  nowMs(): number {
    return this.anchorSimMs + (this.realNow() - this.anchorRealMs) * this.currentSpeed;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance needs a finite number of milliseconds >= 0, got ${ms}`);
    }
    this.anchorSimMs += ms;
  }

  get speed(): number {
    return this.currentSpeed;
  }

  set speed(value: number) {
    assertValidSpeed(value);
    // Re-anchor so the change applies from now on instead of rewriting the past.
    this.anchorSimMs = this.nowMs();
    this.anchorRealMs = this.realNow();
    this.currentSpeed = value;
  }
}

function assertValidSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed < 0) {
    throw new RangeError(
      `clock speed must be a finite number >= 0 (simulated seconds per real second), got ${speed}`,
    );
  }
}
