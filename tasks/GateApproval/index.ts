import { runTask } from "../../shared/agent/run-task";
import { runGate } from "../../shared/tasks/gate-task";

void runTask("GateApproval", runGate);
