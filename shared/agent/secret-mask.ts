/**
 * The secrets a task registered, and the forms they take when a server or a library quotes them:
 * as is, URL-encoded (once or twice), JSON-escaped, base64 and base64url, and as the password of
 * a Basic credential. The agent masks only the exact value it was given; error texts from EV2,
 * Azure DevOps or a proxy that echo a request back bring the other forms, so every line the task
 * shows and every file it publishes goes through `redact` first.
 */
export class SecretMask {
  private readonly forms = new Set<string>();
  private pattern: RegExp | undefined;

  /** Registers `secret` and returns the forms it adds (for the agent to mask as well). */
  add(secret: string): string[] {
    if (secret.length < minimumLength) return [];
    const added = formsOf(secret).filter((f) => f.length >= minimumLength && !this.forms.has(f));
    for (const f of added) this.forms.add(f);
    if (added.length) this.pattern = undefined;
    return added;
  }

  redact(text: string): string {
    if (this.forms.size === 0 || !text) return text;
    this.pattern ??= new RegExp(
      // Longest first, so a form that contains another is masked whole.
      [...this.forms]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    return text.replace(this.pattern, "***");
  }
}

/** Shorter values would mask ordinary words all over the log (the agent's own rule is similar). */
const minimumLength = 4;

function formsOf(secret: string): string[] {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const b64url = (s: string) => Buffer.from(s, "utf8").toString("base64url");
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(encodeURIComponent(secret)),
    JSON.stringify(secret).slice(1, -1),
    // base64 without its padding, so the form is found inside a longer base64 text too.
    b64(secret).replace(/=+$/, ""),
    b64url(secret),
    b64(`:${secret}`).replace(/=+$/, ""),
    b64url(`:${secret}`),
  ];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
