/**
 * A loopback stand-in of the Log Analytics query API for the judge benchmark: it answers
 * `rowsPerRegion` request rows per region, generated as they are written (with backpressure), so
 * neither side holds the answer. The query text says which side: `new` (version 2.0.0) or
 * `baseline` (1.9.0, 5% faster). Seeded: every run sends the same rows.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { seededRandom } from "../../shared/random";

export const BENCH_REGIONS = ["eastus", "westeurope"];

export interface JudgeRunResult {
  mode: "judge" | "read";
  /** Rows the judge took (0 for a bare read). */
  rows: number;
  seconds: number;
  peakRssMb: number;
  verdict: string;
}

const COLUMNS = JSON.stringify([
  { name: "region", type: "string" },
  { name: "version", type: "string" },
  { name: "durationMs", type: "real" },
  { name: "success", type: "bool" },
  { name: "itemCount", type: "long" },
]);

/** Rows are written in batches of this many, each batch one chunk. */
const BATCH = 2000;

export async function startRowsServer(
  rowsPerRegion: number,
): Promise<{ url: string; server: Server; bytesSent: () => number }> {
  let sent = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const side = (JSON.parse(body) as { query: string }).query === "baseline" ? "baseline" : "new";
      const version = side === "new" ? "2.0.0" : "1.9.0";
      const scale = side === "new" ? 1 : 0.95;
      const random = seededRandom(side === "new" ? 11 : 12);
      const total = rowsPerRegion * BENCH_REGIONS.length;
      res.writeHead(200, { "content-type": "application/json; charset=utf-8" });
      const head = `{"tables":[{"name":"PrimaryResult","columns":${COLUMNS},"rows":[`;
      res.write(head);
      sent += head.length;
      let written = 0;
      const writeSome = (): void => {
        while (written < total) {
          const parts: string[] = [];
          const end = Math.min(total, written + BATCH);
          for (; written < end; written++) {
            const region = BENCH_REGIONS[written % BENCH_REGIONS.length];
            // Log-normal-ish latencies around 40 ms, 0.5% failures.
            const u = random() + random() + random() - 1.5;
            const durationMs = Math.round(40 * scale * Math.exp(0.5 * u) * 1000) / 1000;
            const success = random() >= 0.005;
            parts.push(`${written === 0 ? "" : ","}["${region}","${version}",${durationMs},${success},1]`);
          }
          const chunk = parts.join("");
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", writeSome);
            return;
          }
        }
        const tail = "]}]}";
        sent += tail.length;
        res.end(tail);
      };
      writeSome();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    bytesSent: () => sent,
  };
}
