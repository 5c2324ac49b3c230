/**
 * The sample target service in a process of its own, so that the CPU the load generators use
 * is measured apart from the server's. Reports its URL over IPC; takes behaviour changes.
 */
import { startTargetService, type TargetBehaviour } from "../../sim/target-service";

export type TargetProcessMessage =
  { type: "behaviour"; change: Partial<TargetBehaviour> } | { type: "close" };
export type TargetProcessReport = { type: "ready"; url: string } | { type: "behaviour-set" };

async function main(): Promise<void> {
  const service = await startTargetService();
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
