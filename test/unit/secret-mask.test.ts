import assert from "node:assert/strict";
import { SecretMask } from "../../shared/agent/secret-mask";

describe("SecretMask", () => {
  const secret = "canary+token/with=odd&chars";

  it("masks a registered secret as is, URL-encoded, JSON-escaped, base64 and as a Basic password", () => {
    const mask = new SecretMask();
    mask.add(secret);
    const b64 = Buffer.from(secret).toString("base64");
    const basic = Buffer.from(`:${secret}`).toString("base64");
    const text = [
      `raw ${secret}`,
      `url ${encodeURIComponent(secret)}`,
      `twice ${encodeURIComponent(encodeURIComponent(secret))}`,
      `json ${JSON.stringify({ a: `say "${secret}"` })}`,
      `b64 ${b64}`,
      `b64url ${Buffer.from(secret).toString("base64url")}`,
      `Authorization: Basic ${basic}`,
    ].join("\n");
    const shown = mask.redact(text);
    for (const form of [secret, encodeURIComponent(secret), b64.replace(/=+$/, ""), basic.replace(/=+$/, "")])
      assert.ok(!shown.includes(form), `${form} shows in:\n${shown}`);
    assert.equal((shown.match(/\*\*\*/g) ?? []).length, 7, shown);
  });

  it("masks the JSON-escaped form of a secret with quotes, a backslash and a tab", () => {
    const tricky = 'pa"ss\\word\tz';
    const mask = new SecretMask();
    mask.add(tricky);
    const json = JSON.stringify({ password: tricky });
    assert.ok(json.includes('pa\\"ss\\\\word\\tz'), json);
    assert.equal(mask.redact(json), '{"password":"***"}');
  });

  it("masks the longest form first, leaves other text alone and ignores values too short to mask", () => {
    const mask = new SecretMask();
    mask.add("abc");
    mask.add("https://hook.example/x?sig=0123456789abcdef");
    mask.add("0123456789abcdef");
    assert.equal(
      mask.redact("post to https://hook.example/x?sig=0123456789abcdef failed; sig 0123456789abcdef; abc"),
      "post to *** failed; sig ***; abc",
    );
  });

  it("returns the forms it added once, for the agent to mask as well", () => {
    const mask = new SecretMask();
    assert.ok(mask.add(secret).includes(encodeURIComponent(secret)));
    assert.deepEqual(mask.add(secret), []);
    assert.equal(mask.redact("nothing secret here"), "nothing secret here");
  });
});
