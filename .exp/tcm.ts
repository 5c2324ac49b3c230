import * as tcm from "azure-pipelines-task-lib/taskcommand"; (globalThis as any).x = tcm;
