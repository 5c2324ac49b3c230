import type { IncomingMessage } from "node:http";

/** A request body as text; undefined when it is over `maxBytes` (the rest is left unread). */
export async function readBody(req: IncomingMessage, maxBytes = 1024 * 1024): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
