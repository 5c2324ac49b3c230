import * as im from "azure-pipelines-task-lib/internal"; im._loadData(); (globalThis as any).x = im;
