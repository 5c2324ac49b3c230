import { runTask } from "../../shared/agent/run-task";
import { runStressTestStage } from "../../shared/tasks/stress-task";

void runTask("StressTestStage", runStressTestStage);
