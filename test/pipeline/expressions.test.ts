import assert from "node:assert/strict";
import {
  evaluateCondition,
  evaluateExpression,
  ExpressionError,
  type ExpressionContext,
  type ExprValue,
  type RunResult,
} from "../../pipeline/expressions";

const values: ExpressionContext["values"] = {
  variables: {
    "Build.SourceBranch": "refs/heads/main",
    isMain: "true",
    empty: "",
    count: "3",
    "trigger.rolloutId": "r-42",
  },
  dependencies: {
    produce: { result: "SucceededWithIssues", outputs: { "make.version": "1.2.3" } },
  },
  stageDependencies: {
    Build: { produce: { result: "Succeeded", outputs: { "make.region": "eastus" } } },
  },
};
const ctx: ExpressionContext = { values, status: { kind: "step", jobStatus: "Succeeded", canceled: false } };

describe("pipeline expressions: values, functions and conversions", () => {
  const table: Array<[string, ExprValue]> = [
    // literals
    ["'it''s'", "it's"],
    ["1.5", 1.5],
    ["-2", -2],
    ["True", true],
    ["null", null],
    // comparisons convert the right side to the left side's type; strings ignore case
    ["eq('Main', 'main')", true],
    ["eq(1, '1')", true],
    ["eq(1, '1.0')", true],
    ["eq(1, 'one')", false],
    ["ne(2, '1')", true],
    ["eq(true, 'false')", true], // any non-empty string is true, as documented
    ["eq(false, '')", true],
    ["eq(variables['missing'], '')", true],
    ["gt(10, '9')", true],
    ["lt('a', 'B')", true],
    ["ge(3, 3)", true],
    ["le(variables.count, 2)", false],
    // logic (any value has a truth: '' 0 null false are false)
    ["and(true, 'x', 1)", true],
    ["and(true, '')", false],
    ["or(false, 0, 'yes')", true],
    ["not('')", true],
    ["not(0)", true],
    ["xor(true, false)", true],
    // strings and lists
    ["in('b', 'a', 'B')", true],
    ["notIn('c', 'a', 'b')", true],
    ["contains('Hello', 'ELL')", true],
    ["startsWith(variables['Build.SourceBranch'], 'refs/heads/')", true],
    ["endsWith('orders-api', 'API')", true],
    ["format('{0}-{1} {{x}}', 'a', 1)", "a-1 {x}"],
    ["coalesce('', variables.missing, 'fallback')", "fallback"],
    ["iif(eq(1, 1), 'yes', 'no')", "yes"],
    ["length('abc')", 3],
    ["lower('AbC')", "abc"],
    ["upper('AbC')", "ABC"],
    ["join(',', split('a b c', ' '))", "a,b,c"],
    ["replace('a-b-c', '-', '.')", "a.b.c"],
    ["containsValue(split('x,y', ','), 'Y')", true],
    // named values: index and property access, case-insensitive
    ["variables['trigger.rolloutId']", "r-42"],
    ["variables.isMain", "true"],
    ["eq(variables.isMain, true)", true],
    ["variables['nope']", null],
    ["dependencies.produce.outputs['make.version']", "1.2.3"],
    ["Dependencies.PRODUCE.Outputs['MAKE.VERSION']", "1.2.3"],
    ["dependencies.produce.result", "SucceededWithIssues"],
    ["in(dependencies.produce.result, 'Succeeded', 'SucceededWithIssues')", true],
    ["stageDependencies.Build.produce.outputs['make.region']", "eastus"],
    ["dependencies.unknown.outputs['a.b']", null],
  ];
  for (const [source, expected] of table) {
    it(`${source} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(evaluateExpression(source, ctx), expected);
    });
  }
});

describe("pipeline expressions: status functions", () => {
  const step = (jobStatus: RunResult, canceled = false): ExpressionContext => ({
    values: {},
    status: { kind: "step", jobStatus, canceled },
  });
  const deps = (results: Record<string, RunResult>, canceled = false): ExpressionContext => ({
    values: {},
    status: { kind: "dependencies", results, canceled },
  });
  const table: Array<[string, ExpressionContext, Record<string, boolean>]> = [
    [
      "step, job so far Succeeded",
      step("Succeeded"),
      { succeeded: true, failed: false, succeededOrFailed: true, always: true, canceled: false },
    ],
    [
      "step, job SucceededWithIssues",
      step("SucceededWithIssues"),
      { succeeded: true, failed: false, succeededOrFailed: true, always: true, canceled: false },
    ],
    [
      "step, job Failed",
      step("Failed"),
      { succeeded: false, failed: true, succeededOrFailed: true, always: true, canceled: false },
    ],
    [
      "step, run canceled",
      step("Succeeded", true),
      { succeeded: false, failed: false, succeededOrFailed: false, always: true, canceled: true },
    ],
    [
      "job, no dependencies",
      deps({}),
      { succeeded: true, failed: false, succeededOrFailed: true, always: true },
    ],
    [
      "job, a dependency with issues",
      deps({ a: "Succeeded", b: "SucceededWithIssues" }),
      { succeeded: true, failed: false, succeededOrFailed: true },
    ],
    [
      "job, a dependency failed",
      deps({ a: "Succeeded", b: "Failed" }),
      { succeeded: false, failed: true, succeededOrFailed: true, always: true },
    ],
    [
      "job, a dependency skipped",
      deps({ a: "Skipped" }),
      { succeeded: false, failed: false, succeededOrFailed: false, always: true },
    ],
  ];
  for (const [what, context, expectations] of table) {
    for (const [fn, expected] of Object.entries(expectations)) {
      it(`${what}: ${fn}() is ${expected}`, () => {
        assert.equal(evaluateCondition(`${fn}()`, context), expected);
      });
    }
  }
  it("names dependencies: succeeded('a') and failed('b')", () => {
    const context = deps({ a: "Succeeded", b: "Failed" });
    assert.equal(evaluateCondition("succeeded('a')", context), true);
    assert.equal(evaluateCondition("failed('b')", context), true);
    assert.equal(evaluateCondition("and(succeeded('a'), not(failed('a')))", context), true);
  });
});

describe("pipeline expressions: errors say what is wrong", () => {
  const table: Array<[string, RegExp]> = [
    ["eqq(1, 1)", /Unrecognized function: 'eqq'. Known functions: and, or, not/],
    ["foo.bar", /Unrecognized value: 'foo'. Available here: variables, dependencies, stageDependencies/],
    ["not(1, 2)", /not\(\) takes 1 argument\(s\), got 2/],
    ["eq('open, 1)", /Unterminated string/],
    ["eq(1, 1", /ends too early/],
    ["eq(1, 1))", /Unexpected '\)'/],
    ["gt(1, 'x')", /cannot convert 'x' to a number/],
    ["failed('nope')", /'nope' is not a dependency here/],
    ["", /The expression is empty/],
  ];
  const context: ExpressionContext = {
    values,
    status: { kind: "dependencies", results: {}, canceled: false },
  };
  for (const [source, message] of table) {
    it(`${JSON.stringify(source)} → ${message}`, () => {
      assert.throws(
        () => evaluateExpression(source, context),
        (err: Error) => err instanceof ExpressionError && message.test(err.message),
      );
    });
  }
  it("status functions are refused outside a condition (variables, templates)", () => {
    assert.throws(() => evaluateExpression("succeeded()", { values: {} }), /can only be used in a condition/);
  });
});
