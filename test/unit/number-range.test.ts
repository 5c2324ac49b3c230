import assert from "node:assert/strict";
import { FakeAgent } from "../../shared/agent/fake-agent";
import { InputError } from "../../shared/agent/inputs";
import { checkNumber, describeRange, type NumberRange } from "../../shared/number-range";
import { STRESS_RANGES, StressInputError, validateLoadSettings } from "../../shared/stress";
import { readStressInputs } from "../../shared/tasks/stress/inputs";

describe("the one number check", () => {
  const whole: NumberRange = { min: 1, max: 300, integer: true, unit: "seconds" };
  const positive: NumberRange = { min: 0, max: 600, exclusiveMin: true };
  const cases: [unknown, NumberRange, number | string][] = [
    ["30", whole, 30],
    ["-1", { min: -5, max: 5, integer: true }, -1],
    [30, whole, 30],
    ["0.5", positive, 0.5],
    [600, positive, 600],
    ["0", whole, "must be a whole number from 1 to 300 seconds (got 0)"],
    ["301", whole, "must be a whole number from 1 to 300 seconds (got 301)"],
    ["5.5", whole, 'must be a whole number from 1 to 300 seconds (got "5.5")'],
    [5.5, whole, "must be a whole number from 1 to 300 seconds (got 5.5)"],
    ["1e3", whole, 'must be a whole number from 1 to 300 seconds (got "1e3")'],
    [" 3", whole, 'must be a whole number from 1 to 300 seconds (got " 3")'],
    ["0x10", positive, 'must be a number greater than 0 and at most 600 (got "0x10")'],
    [0, positive, "must be a number greater than 0 and at most 600 (got 0)"],
    ["0", positive, "must be a number greater than 0 and at most 600 (got 0)"],
    [Infinity, positive, "must be a number greater than 0 and at most 600 (got Infinity)"],
    [NaN, positive, "must be a number greater than 0 and at most 600 (got NaN)"],
    [null, positive, "must be a number greater than 0 and at most 600 (got null)"],
    [
      "9".repeat(100),
      positive,
      `must be a number greater than 0 and at most 600 (got ${Number("9".repeat(100))})`,
    ],
    [
      "x".repeat(100),
      positive,
      `must be a number greater than 0 and at most 600 (got "${"x".repeat(77)}...")`,
    ],
  ];
  for (const [value, range, expected] of cases) {
    it(`${JSON.stringify(value)} against ${describeRange(range)} → ${expected}`, () => {
      assert.deepEqual(
        checkNumber(value, range),
        typeof expected === "number" ? { value: expected } : { problem: expected },
      );
    });
  }

  // StressTestStage reads its number inputs with the stress library's ranges: a value the library
  // refuses the task refuses first, with the same words; the edges the library accepts, so does the task.
  for (const [name, range] of Object.entries(STRESS_RANGES) as [string, NumberRange][]) {
    const below = range.min - (range.integer ? 1 : 0.5);
    for (const value of [below, range.max + 1, range.min + (range.integer ? 1 : 0.5), range.max]) {
      it(`StressTestStage input ${name}: ${value} is judged as the library judges it`, () => {
        let library: string | undefined;
        try {
          validateLoadSettings({ [name]: value });
        } catch (err) {
          assert.ok(err instanceof StressInputError);
          library = err.message;
        }
        let task: string | undefined;
        try {
          readStressInputs(
            new FakeAgent({ inputs: { endpoints: "https://x.test/", [name]: String(value) } }),
          );
        } catch (err) {
          assert.ok(err instanceof InputError);
          task = err.message;
        }
        const expectRefused = value === below || value === range.max + 1;
        assert.equal(library !== undefined, expectRefused, `library: ${library}`);
        assert.equal(task, library && `Input '${library.replace(" must", "' must")}.`);
      });
    }
  }
});
