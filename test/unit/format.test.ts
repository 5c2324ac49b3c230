import assert from "node:assert/strict";
import { durationBetween, formatDuration, listWithMore, outputList } from "../../shared/format";

describe("formatDuration", () => {
  const table: Array<[number, string]> = [
    [0, "0s"],
    [50, "0s"],
    [400, "0.4s"],
    [999, "0.9s"],
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
    [Number.NaN, "-"],
    [Number.POSITIVE_INFINITY, "-"],
  ];
  for (const [ms, expected] of table) {
    it(`${ms} ms → ${expected}`, () => assert.equal(formatDuration(ms), expected));
  }
});

describe("durationBetween", () => {
  const now = Date.parse("2025-03-01T10:10:00Z");
  const table: Array<[string | null | undefined, string | null | undefined, number | undefined]> = [
    ["2025-03-01T10:00:00Z", "2025-03-01T10:04:10Z", 250_000],
    ["2025-03-01T10:00:00Z", null, 600_000],
    ["2025-03-01T10:00:00Z", "2025-03-01T09:59:00Z", 0],
    [undefined, "2025-03-01T10:04:10Z", undefined],
    ["not a time", undefined, undefined],
  ];
  for (const [start, end, expected] of table) {
    it(`${start} → ${end}: ${expected}`, () => assert.equal(durationBetween(start, end, now), expected));
  }
});

describe("listWithMore", () => {
  it("counts what it leaves out", () => {
    assert.equal(listWithMore(["a", "b", "c"], 3), "a, b, c");
    assert.equal(listWithMore(["a", "b", "c", "d"], 2), "a, b and 2 more");
  });
});

describe("outputList", () => {
  it("keeps a list that fits, and cuts a long one at the limit with +N more", () => {
    assert.equal(outputList(["a", "b"]), "a,b");
    const items = Array.from({ length: 5000 }, (_, i) => `region${i}`);
    const out = outputList(items);
    assert.ok(out.length <= 2000, `${out.length}`);
    const [, more] = /,\+(\d+) more$/.exec(out)!;
    assert.equal(out.split(",").length - 1 + Number(more), 5000);
    assert.equal(outputList(["abcdefgh", "xy"], 10), "+2 more");
  });
});
