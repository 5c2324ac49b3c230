/**
 * The sample target service in a process of its own, so that the CPU the load generators use
 * is measured apart from the server's. Reports its URL over IPC; takes behaviour changes.
 */
import { startTargetService, type TargetBehaviour } from "../../sim/target-service";

export type TargetProcessMessage =
  { type: "behaviour"; change: Partial<TargetBehaviour> } | { type: "close" };
export type TargetProcessReport = { type: "ready"; url: string } | { type: "behaviour-set" };

async function main(): Promise<void> {
  // Regions to serve, as a JSON array in the first argument; the service's own default otherwise.
  const regions = process.argv[2] ? (JSON.parse(process.argv[2]) as string[]) : undefined;
  const service = await startTargetService({ regions });
  const send = (report: TargetProcessReport) => process.send?.(report);
  process.on("message", (message: TargetProcessMessage) => {
    if (message.type === "behaviour") {
      service.setBehaviour(message.change);
      send({ type: "behaviour-set" });
    } else {
      void service.close().then(() => process.exit(0));
    }
  });
  process.on("disconnect", () => void service.close().then(() => process.exit(0)));
  send({ type: "ready", url: service.url });
}

void main();
