import { runTask } from "../../shared/agent/run-task";
import { runFollow } from "../../shared/tasks/follow-task";

void runTask("FollowRollout", runFollow);
