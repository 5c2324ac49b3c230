import { runTask, TaskFailure } from "../../shared/agent/run-task";

// Not built yet: its own issue brings the implementation.
void runTask("TriggerEv2Rollout", async () => {
  throw new TaskFailure("TriggerEv2Rollout is not built yet in this version of the extension.");
});
