import assert from "node:assert/strict";
import { formatDuration } from "../../shared/teams/format-duration";

describe("formatDuration", () => {
  const table: Array<[number, string]> = [
    [0, "0s"],
    [999, "0s"],
    [1000, "1s"],
    [12_900, "12s"],
    [59_999, "59s"],
    [60_000, "1m 0s"],
    [250_000, "4m 10s"],
    [3_599_999, "59m 59s"],
    [3_600_000, "1h 0m"],
    [(83 * 60 + 59) * 1000, "1h 23m"],
    [23 * 3_600_000 + 59 * 60_000, "23h 59m"],
    [86_400_000, "1d 0h"],
    [(2 * 24 + 5) * 3_600_000 + 1, "2d 5h"],
    [-5000, "0s"],
    [Number.NaN, "0s"],
    [Number.POSITIVE_INFINITY, "0s"],
  ];
  for (const [ms, expected] of table) {
    it(`${ms} ms → ${expected}`, () => assert.equal(formatDuration(ms), expected));
  }
});
