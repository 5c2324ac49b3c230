import assert from "node:assert/strict";
import { neutraliseLoggingCommands } from "../../shared/agent/logging-commands";

describe("neutraliseLoggingCommands", () => {
  for (const [text, shown] of [
    ["##vso[task.setvariable variable=pwned]1", "##_vso[task.setvariable variable=pwned]1"],
    ["##VSO[task.setvariable variable=pwned]1", "##_VSO[task.setvariable variable=pwned]1"],
    ["say ##Vso[task.complete result=Succeeded]", "say ##_Vso[task.complete result=Succeeded]"],
    ["##[error]fake", "##_[error]fake"],
    ["# vso[ and ##vso are harmless", "# vso[ and ##vso are harmless"],
    ["\u001b[31mred\u001b[0m and \u001b]0;title\u0007", "[31mred[0m and ]0;title"],
    ["#\u0000#vso[task.complete]", "##_vso[task.complete]"],
    ["lines\nand\ttabs\r\n stay", "lines\nand\ttabs\r\n stay"],
  ]) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(shown)}`, () =>
      assert.equal(neutraliseLoggingCommands(text), shown));
  }
});
