/**
 * A loopback HTTP server standing in for EV2 when a test needs an answer the simulator cannot
 * give (one that hangs, floods, or is huge). It counts the requests it gets.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from "node:http";
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

/** Answers 200 with a JSON body that never ends (chunked, no Content-Length), until the client hangs up. */
export function flood(res: ServerResponse): void {
  const chunk = Buffer.alloc(1024 * 1024, " ");
  res.writeHead(200, { "content-type": "application/json" });
  res.write("{");
  const pump = () => {
    while (res.write(chunk));
    res.once("drain", pump);
  };
  res.on("close", () => res.removeAllListeners("drain"));
  pump();
}
