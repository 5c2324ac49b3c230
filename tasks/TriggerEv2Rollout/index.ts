import { runTask } from "../../shared/agent/run-task";
import { runTrigger } from "../../shared/tasks/trigger-task";

void runTask("TriggerEv2Rollout", runTrigger);
