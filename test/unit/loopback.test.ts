import assert from "node:assert/strict";
import { isLoopbackUrl } from "../../shared/http/loopback";

describe("isLoopbackUrl", () => {
  for (const [url, loopback] of [
    ["http://127.0.0.1:8080", true],
    ["http://localhost:8080/ev2", true],
    ["http://[::1]:8080", true],
    ["https://ev2.contoso.com", false],
    ["https://127.0.0.1.contoso.com", false],
    ["not a url", false],
  ] as const)
    it(`${url}: ${loopback}`, () => assert.equal(isLoopbackUrl(url), loopback));

  it("isLoopbackUrl takes URL objects too", () => {
    assert.equal(isLoopbackUrl(new URL("http://127.0.0.1/")), true);
    assert.equal(isLoopbackUrl(new URL("https://example.com/")), false);
  });
});
