import { runTask } from "../../shared/agent/run-task";
import { runTeamsNotify } from "../../shared/tasks/teams-task";

void runTask("TeamsNotify", runTeamsNotify);
