import assert from "node:assert/strict";
import { expandMacros, VariableSet } from "../../pipeline/variables";

describe("$(macro) expansion", () => {
  const vars = new VariableSet([
    { name: "env", value: "PPE", secret: false },
    { name: "Build.BuildId", value: "4711", secret: false },
    { name: "trigger.rolloutId", value: "r-42", secret: false },
    { name: "branch", value: "ev2/$(env)/$(Build.BuildId)", secret: false },
    { name: "loop", value: "x$(loop)", secret: false },
    { name: "a", value: "$(b)", secret: false },
    { name: "b", value: "$(a)", secret: false },
    { name: "blank", value: "", secret: false },
  ]);
  const table: Array<[string, string]> = [
    ["$(env)", "PPE"],
    ["to $(env) in run $(Build.BuildId)", "to PPE in run 4711"],
    ["$(ENV)", "PPE"], // names are case-insensitive
    ["$(trigger.rolloutId)", "r-42"], // output variables of a step
    ["$(branch)", "ev2/PPE/4711"], // values naming other variables are expanded too
    ["$(unknown)", "$(unknown)"], // unknown names stay as written, as in Azure Pipelines
    ["[$(blank)]", "[]"],
    ["$(loop)", "x$(loop)"], // a cycle stops instead of recursing forever
    ["$(a)", "$(a)"],
    ["$[ variables.env ]", "$[ variables.env ]"], // runtime expressions are not macros
    ["$(env", "$(env"],
    ["$$(env)", "$PPE"],
    ["line1\n$(env)\n", "line1\nPPE\n"],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(
        expandMacros(text, (n) => vars.get(n)),
        expected,
      );
    });
  }

  it("a secret stays secret when a later assignment does not say so", () => {
    const set = new VariableSet();
    set.set("token", "s3cret", { secret: true });
    set.set("TOKEN", "other");
    assert.equal(set.isSecret("token"), true);
    assert.equal(set.get("Token"), "other");
    assert.deepEqual(
      set.list().map((v) => v.name),
      ["token"],
    );
  });

  it("expandedValues gives conditions the values with macros expanded", () => {
    assert.equal(vars.expandedValues().branch, "ev2/PPE/4711");
  });
});
