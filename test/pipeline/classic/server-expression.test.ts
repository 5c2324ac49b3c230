import assert from "node:assert/strict";
import {
  evaluateServerExpression,
  jsonPath,
  substituteMacros,
  ServerExpressionError,
} from "../../../pipeline/classic/server-expression";

const body = {
  status: "Completed",
  count: 3,
  rollouts: [
    {
      rolloutId: "r-2",
      status: "InProgress",
      errors: [],
      stages: [
        { name: "Stage1-Canary", status: "Completed", regions: [{ name: "eastus" }] },
        { name: "Stage2-O'Brien", status: "Pending", regions: [{ name: "westus" }, { name: "centralus" }] },
      ],
    },
    { rolloutId: "r-1", status: "Completed", errors: [{ errorCode: "X" }], stages: [] },
  ],
};

describe("server-side expressions of a release gate (success criteria against the answer)", () => {
  const cases: Array<[string, unknown]> = [
    ["eq(root['status'], 'Completed')", true],
    ["eq(root['status'], 'completed')", true], // strings compare ignoring case
    ["eq(root.status, 'Failed')", false],
    ["ne(root['rollouts'][0]['status'], 'Completed')", true],
    ["eq(root['rollouts'][5]['status'], 'Completed')", false], // past the end: Null
    ["eq(jsonpath('$.rollouts[0].status')[0], 'InProgress')", true],
    ["eq(jsonpath('$.rollouts[9].status')[0], 'InProgress')", false],
    ["eq(count(jsonpath('$.rollouts[0].errors[*]')), 0)", true],
    ["eq(count(jsonpath('$.rollouts[1].errors[*]')), 0)", false],
    ["eq(jsonpath('$.rollouts[0].stages[?(@.name == ''Stage1-Canary'')].status')[0], 'Completed')", true],
    ["eq(jsonpath('$.rollouts[0].stages[?(@.name == ''Stage9'')].status')[0], 'Completed')", false],
    ["and(eq(root['count'], '3'), gt(root['count'], 2), le(root['count'], 3))", true], // right side converted to the left's type
    ["or(eq(1, 2), not(eq(1, 2)))", true],
    ["in(root['status'], 'Failed', 'Completed')", true],
    ["notIn(root['status'], 'Failed', 'Cancelled')", true],
    [
      "and(startsWith(root['status'], 'Comp'), endsWith(root['status'], 'eted'), contains(root['status'], 'PLE'))",
      true,
    ],
    ["containsValue(jsonpath('$..name'), 'westus')", true],
    ["eq(count(jsonpath('$..regions[*].name')), 3)", true],
    ["eq(null, root['missing'])", true],
    ["xor(true, False)", true],
  ];
  for (const [expression, expected] of cases) {
    it(`${expression} → ${String(expected)}`, () => {
      assert.equal(evaluateServerExpression(expression, body), expected);
    });
  }

  it("names the position of a syntax error and an unknown function", () => {
    assert.throws(() => evaluateServerExpression("eq(root['status'], 'x'", body), ServerExpressionError);
    assert.throws(() => evaluateServerExpression("same(1, 1)", body), /unknown function 'same'/);
    assert.throws(() => evaluateServerExpression("eq(1)", body), /eq takes 2 argument/);
  });

  it("JSONPath: names, indexes from the end, unions, wildcards, deep scan and filters", () => {
    assert.deepEqual(jsonPath(body, "$.rollouts[-1].rolloutId"), ["r-1"]);
    assert.deepEqual(jsonPath(body, "$['rollouts'][0,1].rolloutId"), ["r-2", "r-1"]);
    assert.deepEqual(jsonPath(body, "$.rollouts[*].rolloutId"), ["r-2", "r-1"]);
    assert.deepEqual(jsonPath(body, "$.rollouts[?(@.status != 'Completed')].rolloutId"), ["r-2"]);
    assert.deepEqual(jsonPath(body, '$.rollouts[0].stages[?(@.name == "Stage2-O\'Brien")].status'), [
      "Pending",
    ]);
    assert.deepEqual(jsonPath(body, "$..stages[?(@.regions)].name"), ["Stage1-Canary", "Stage2-O'Brien"]);
    assert.deepEqual(jsonPath(body, "$.nothing.here"), []);
    assert.throws(() => jsonPath(body, "rollouts"), /starts with \$/);
  });

  it("macros: $(name) replaced (ignoring case), an unknown one left as written", () => {
    assert.equal(
      substituteMacros("$(endpoint.url)/rollouts?tag=ado.releaseId:$(release.releaseid)&x=$(nope)", {
        "endpoint.url": "http://h",
        "Release.ReleaseId": "7",
      }),
      "http://h/rollouts?tag=ado.releaseId:7&x=$(nope)",
    );
  });
});
