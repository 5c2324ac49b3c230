import assert from "node:assert/strict";
import { backoffDelayMs, defaultRetryPolicy, parseRetryAfterMs } from "../../shared/http/retry";

describe("retry policy", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");
  for (const [header, expected] of [
    [undefined, undefined],
    ["", undefined],
    ["3", 3000],
    ["0", 0],
    ["1.5", 1500],
    ["Sun, 22 Nov 2026 10:00:05 GMT", 5000],
    ["Sun, 22 Nov 2026 09:59:00 GMT", 0],
    ["soon", undefined],
  ] as const) {
    it(`reads Retry-After ${JSON.stringify(header)} as ${expected} ms`, () => {
      assert.equal(parseRetryAfterMs(header, now), expected);
    });
  }

  it("draws full jitter under the capped exponential step", () => {
    const p = { ...defaultRetryPolicy, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelayMs(1, p, () => 0.999),
      99,
    );
    assert.equal(
      backoffDelayMs(3, p, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelayMs(10, p, () => 0.999),
      999,
    );
    assert.equal(
      backoffDelayMs(4, p, () => 0),
      0,
    );
  });
});
