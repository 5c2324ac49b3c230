import assert from "node:assert/strict";
import { isRegionSelected, parseScope, type RolloutScope } from "../../sim/ev2/scope";

describe("EV2 simulator: scope grammar", () => {
  const valid: [string, RolloutScope][] = [
    ["regions(*).steps(*).stamps(*).actions(*)", { regions: "*", steps: "*", stamps: "*", actions: "*" }],
    [
      "regions(eastus,westus).steps(deploy-app).stamps(Stamp_1).actions(*)",
      { regions: ["eastus", "westus"], steps: ["deploy-app"], stamps: ["Stamp_1"], actions: "*" },
    ],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${text}`, () => assert.deepEqual(parseScope(text), expected));
  }

  const invalid = [
    "",
    "regions(*)",
    "regions(*).steps(*).stamps(*)",
    "steps(*).regions(*).stamps(*).actions(*)",
    "regions().steps(*).stamps(*).actions(*)",
    "regions(east us).steps(*).stamps(*).actions(*)",
    "regions(eastus,).steps(*).stamps(*).actions(*)",
    "regions(eastus;westus).steps(*).stamps(*).actions(*)",
    "regions(*,eastus).steps(*).stamps(*).actions(*)",
    " regions(*).steps(*).stamps(*).actions(*)",
    "regions(*).steps(*).stamps(*).actions(*).extra(*)",
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseScope(text), undefined));
  }

  const scope = (text: string) => parseScope(text) as RolloutScope;
  const selection: [string, string[], string[], boolean][] = [
    ["no scopes select everything", [], [], true],
    ["a region listed in the selection", ["regions(eastus,westus).steps(*).stamps(*).actions(*)"], [], true],
    ["a region not listed", ["regions(westus).steps(*).stamps(*).actions(*)"], [], false],
    ["names compare case-insensitively", ["regions(EastUS).steps(*).stamps(*).actions(*)"], [], true],
    ["a whole-region exclusion", [], ["regions(eastus).steps(*).stamps(*).actions(*)"], false],
    ["a partial exclusion keeps the region", [], ["regions(eastus).steps(web).stamps(*).actions(*)"], true],
  ];
  for (const [what, selected, excluded, expected] of selection) {
    it(`region eastus: ${what}`, () =>
      assert.equal(isRegionSelected("eastus", selected.map(scope), excluded.map(scope)), expected));
  }
});
