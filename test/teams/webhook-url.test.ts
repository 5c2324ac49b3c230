import assert from "node:assert/strict";
import { validateWebhookUrl } from "../../shared/teams/webhook-url";

describe("validateWebhookUrl", () => {
  const workflows =
    "https://prod-00.westus.logic.azure.com:443/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SeCrEtSiGnAtUrE";
  const accepted: Array<[string, string]> = [
    ["a Logic Apps Workflows URL", workflows],
    [
      "a Power Platform Workflows URL",
      "https://default0a1b.2c.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SeCrEt",
    ],
    ["surrounding whitespace (a pasted secret)", `  ${workflows}\n`],
    ["https to 127.0.0.1 (the local sink)", "https://127.0.0.1:41234/hook?sig=x"],
  ];
  for (const [name, raw] of accepted) {
    it(`accepts ${name}`, () => {
      const check = validateWebhookUrl(raw);
      assert.ok(check.ok, check.ok ? "" : check.error);
      assert.equal(check.url, raw.trim());
      assert.equal(check.warning, undefined);
    });
  }

  it("accepts an Office 365 connector URL with a warning that it is being retired", () => {
    const check = validateWebhookUrl(
      "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/SeCrEt/ghi",
    );
    assert.ok(check.ok);
    assert.match(check.warning ?? "", /Office 365 connector .* retiring .* Workflows webhook/);
    assert.doesNotMatch(check.warning ?? "", /contoso|SeCrEt/);
  });

  const rejected: Array<[string, string | undefined, RegExp]> = [
    ["undefined", undefined, /^webhookUrl is empty\./],
    ["blank", "   ", /^webhookUrl is empty\./],
    [
      "not a URL",
      "prod-00.westus.logic.azure.com/workflows/SeCrEt",
      /^webhookUrl is not a valid URL \(its value is not shown: it is a secret\)/,
    ],
    ["a secret variable left unexpanded", "$(teamsWebhook)", /^webhookUrl is not a valid URL/],
    [
      "plain http to a remote host",
      "http://prod-00.westus.logic.azure.com/workflows/SeCrEt",
      /^webhookUrl must be an https:\/\/ URL/,
    ],
    [
      "plain http even to this machine",
      "http://127.0.0.1:41234/hook?sig=SeCrEt",
      /^webhookUrl must be an https:\/\/ URL\./,
    ],
    ["plain http to localhost", "http://localhost:8080/SeCrEt", /^webhookUrl must be an https:\/\/ URL\./],
    ["another scheme", "ftp://example.com/SeCrEt", /^webhookUrl must be an https:\/\/ URL/],
    [
      "credentials in the URL",
      "https://user:SeCrEt@example.com/hook",
      /^webhookUrl must not contain a user name or password/,
    ],
  ];
  for (const [name, raw, expected] of rejected) {
    it(`rejects ${name} without echoing it`, () => {
      const check = validateWebhookUrl(raw);
      assert.equal(check.ok, false);
      if (check.ok) return;
      assert.match(check.error, expected);
      // The problem reads after the input's name in readInputs' "Input 'webhookUrl' <problem>."
      assert.equal(check.error, `webhookUrl ${check.problem}.`);
      assert.doesNotMatch(check.problem, /^webhookUrl|\.$/);
      assert.match(
        check.error,
        /Expected a Teams Workflows webhook URL such as https:\/\/<environment>\.environment\.api\.powerplatform\.com\/.* or https:\/\/prod-00\.westus\.logic\.azure\.com\/workflows\//,
      );
      assert.doesNotMatch(check.error, /SeCrEt|evil|teamsWebhook/);
    });
  }
});
