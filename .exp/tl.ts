import * as tl from "azure-pipelines-task-lib/task"; (globalThis as any).x = tl;
