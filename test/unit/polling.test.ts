import assert from "node:assert/strict";
import { FakeAgent } from "../../shared/agent/fake-agent";
import { isLoopbackUrl } from "../../shared/http/loopback";
import { pollingIntervalMs, pollingOverrideVariable } from "../../shared/tasks/common";

describe("the polling override (simulators only)", () => {
  const withOverride = (value?: string) =>
    new FakeAgent({ variables: value === undefined ? {} : { [pollingOverrideVariable]: value } });

  for (const [url, expected] of [
    ["http://127.0.0.1:8080", 100],
    ["http://localhost:8080/ev2", 100],
    ["http://[::1]:8080", 100],
    ["https://ev2.contoso.com", 5000],
    ["https://127.0.0.1.contoso.com", 5000],
    ["not a url", 5000],
  ] as const) {
    it(`${url}: ${expected === 100 ? "honoured" : "ignored, the task's interval stands"}`, () => {
      assert.equal(pollingIntervalMs(withOverride("100"), 5000, url), expected);
    });
  }

  for (const value of [undefined, "", "5", "abc", "-100"])
    it(`an override of ${JSON.stringify(value)} is ignored`, () => {
      assert.equal(pollingIntervalMs(withOverride(value), 5000, "http://127.0.0.1:8080"), 5000);
    });

  it("isLoopbackUrl takes URL objects too", () => {
    assert.equal(isLoopbackUrl(new URL("http://127.0.0.1/")), true);
    assert.equal(isLoopbackUrl(new URL("https://example.com/")), false);
  });
});
