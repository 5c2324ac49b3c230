/**
 * A loopback HTTP server standing in for EV2 when a test needs an answer the simulator cannot
 * give (one that hangs, floods, or is huge). It counts the requests it gets.
 */
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RawEv2 {
  url: string;
  requests: () => number;
  close: () => Promise<void>;
}

/** `answer` gets each request and its 1-based number; it may leave the response unanswered. */
export async function startRawEv2(
  answer: (n: number, ...args: Parameters<RequestListener>) => void,
): Promise<RawEv2> {
  let requests = 0;
  const server: Server = createServer((req, res) => answer(++requests, req, res));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
