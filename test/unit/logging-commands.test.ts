import assert from "node:assert/strict";
import { neutraliseLoggingCommands } from "../../shared/agent/logging-commands";

describe("neutraliseLoggingCommands", () => {
  for (const [text, shown] of [
    ["##vso[task.setvariable variable=pwned]1", "##_vso[task.setvariable variable=pwned]1"],
    ["##VSO[task.setvariable variable=pwned]1", "##_VSO[task.setvariable variable=pwned]1"],
    ["say ##Vso[task.complete result=Succeeded]", "say ##_Vso[task.complete result=Succeeded]"],
    ["##[error]fake", "##_[error]fake"],
    ["# vso[ and ##vso are harmless", "# vso[ and ##vso are harmless"],
  ]) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(shown)}`, () =>
      assert.equal(neutraliseLoggingCommands(text), shown));
  }
});
