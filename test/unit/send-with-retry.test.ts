import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sendWithRetry, type RetryNotice } from "../../shared/http/request";

describe("sendWithRetry: the total wait budget", () => {
  let server: Server;
  let url: string;
  let answered = 0;
  before(async () => {
    // Always busy, always asking for 200 ms: only the budget stops the retries.
    server = createServer((_req, res) => {
      answered++;
      res.writeHead(503, { "retry-after": "0.2" }).end("busy");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("stops when the next wait would pass maxTotalWaitMs, with attempts to spare, and returns the last answer", async () => {
    answered = 0;
    const notices: RetryNotice[] = [];
    const response = await sendWithRetry(
      { method: "GET", url, operation: "get busy", retryNetworkErrors: true },
      {
        retry: { maxAttempts: 20, baseDelayMs: 10, maxDelayMs: 10, maxTotalWaitMs: 500 },
        onRetry: (n) => notices.push(n),
      },
    );
    assert.equal(response.status, 503);
    // 200 + 200 fit in 500 ms; a third 200 would not.
    assert.deepEqual(
      notices.map((n) => [n.attempt, n.delayMs, n.retryAfterHonoured]),
      [
        [1, 200, true],
        [2, 200, true],
      ],
    );
    assert.equal(answered, 3);
  });
});
