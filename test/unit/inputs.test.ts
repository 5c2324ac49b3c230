import assert from "node:assert/strict";
import { FakeAgent } from "../../shared/agent/fake-agent";
import { field, InputError, readInputs } from "../../shared/agent/inputs";

describe("input validation", () => {
  const shape = {
    mode: field.choice(["fail", "follow"] as const, "fail"),
    interval: field.integer({ min: 5, max: 300, default: 30, unit: "seconds" }),
    enabled: field.boolean(false),
    name: field.requiredText({
      pattern: /^[a-z-]+$/,
      expected: "lower-case letters and '-'",
      example: "orders-api",
    }),
    scopes: field.lines({
      check: (l) => (l.startsWith("regions(") ? undefined : "must start with regions("),
    }),
    token: field.secret(),
  };
  const read = (inputs: Record<string, string>) =>
    readInputs(new FakeAgent({ inputs }), shape, { secrets: ["token"] });

  it("gives typed defaults", () => {
    assert.deepEqual(read({ name: "orders-api" }), {
      mode: "fail",
      interval: 30,
      enabled: false,
      name: "orders-api",
      scopes: [],
      token: undefined,
    });
  });

  for (const [inputs, message] of [
    [{ name: "a", mode: "sometimes" }, `Input 'mode' must be one of fail, follow (got "sometimes").`],
    [{ name: "a", interval: "2" }, "Input 'interval' must be a whole number from 5 to 300 seconds (got 2)."],
    [
      { name: "a", interval: "ten" },
      `Input 'interval' must be a whole number from 5 to 300 seconds (got "ten").`,
    ],
    [{ name: "a", enabled: "yes" }, `Input 'enabled' must be true or false (got "yes").`],
    [{}, `Input 'name' is required, for example "orders-api".`],
    [{ name: "Orders API" }, `Input 'name' must be lower-case letters and '-' (got "Orders API").`],
    [
      { name: "a", scopes: "regions(*)\nsteps(*)" },
      `Input 'scopes' line 2 "steps(*)": must start with regions(.`,
    ],
    [
      { name: "$(serviceName)" },
      "Input 'name' holds $(serviceName): that variable is not defined in this run (Azure Pipelines leaves an unknown $(name) as written). Define it (pipeline or stage variables, a variable group, an output variable of an earlier step that ran), or check its spelling.",
    ],
  ] as const) {
    it(`rejects ${JSON.stringify(inputs)}`, () => {
      assert.throws(
        () => read(inputs as Record<string, string>),
        (e: InputError) => {
          assert.ok(e instanceof InputError);
          assert.equal(e.message, message);
          return true;
        },
      );
    });
  }

  it("lists every bad input at once", () => {
    assert.throws(() => read({ mode: "x", interval: "1" }), /mode.*interval.*name/);
  });

  it("accepts choices case-insensitively and returns the canonical spelling", () => {
    assert.equal(read({ name: "a", mode: "FOLLOW" }).mode, "follow");
  });

  it("registers secret inputs with the agent before validating anything", () => {
    const agent = new FakeAgent({ inputs: { token: " s3cret ", mode: "bad" } });
    assert.throws(() => readInputs(agent, shape, { secrets: ["token"] }));
    assert.deepEqual(agent.secrets, ["s3cret"]);
  });
});
