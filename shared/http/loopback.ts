/** Host names that reach only this machine: the simulators, sinks and sample services of tests and demos. */
const loopbackHosts: ReadonlySet<string> = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether a URL (or a string that is not one: no) points at this machine. */
export function isLoopbackUrl(url: URL | string): boolean {
  try {
    return loopbackHosts.has((typeof url === "string" ? new URL(url) : url).hostname);
  } catch {
    return false;
  }
}
