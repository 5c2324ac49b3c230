/**
 * Checks the TeamsNotify `webhookUrl` input. The URL carries its own credential (the `sig`
 * query parameter of a Workflows trigger), so no message here ever repeats any part of it.
 */
export type WebhookUrlCheck =
  | { ok: true; url: string; warning?: string }
  | {
      ok: false;
      /** `webhookUrl is not a valid URL ...`: the whole message. */
      error: string;
      /** The same without the input's name and the final full stop, for `readInputs`' checks. */
      problem: string;
    };

const validForms =
  "a Teams Workflows webhook URL such as https://<environment>.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/... " +
  "or https://prod-00.westus.logic.azure.com/workflows/... (copy it from the Workflows flow, and pass it as a secret variable)";

/** `problem` reads after the input's name: `webhookUrl <problem>.` */
function refuse(problem: string): WebhookUrlCheck {
  return { ok: false, error: `webhookUrl ${problem}.`, problem };
}

export function validateWebhookUrl(raw: string | undefined): WebhookUrlCheck {
  const value = raw?.trim() ?? "";
  if (value === "") return refuse(`is empty. Expected ${validForms}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse(`is not a valid URL (its value is not shown: it is a secret). Expected ${validForms}`);
  }
  // https only, for every host: the local sink of tests and demos serves https too, with a
  // certificate from a CA given to the task as the agent gives one (Agent.CAInfo).
  if (url.protocol !== "https:") return refuse(`must be an https:// URL. Expected ${validForms}`);
  if (url.username || url.password) {
    return refuse(`must not contain a user name or password. Expected ${validForms}`);
  }
  if (/(^|\.)webhook\.office\.com$/i.test(url.hostname)) {
    return {
      ok: true,
      url: value,
      warning:
        "webhookUrl is an Office 365 connector (Incoming Webhook) URL. Microsoft is retiring these connectors: create a Workflows webhook for the channel and use its URL instead.",
    };
  }
  return { ok: true, url: value };
}
