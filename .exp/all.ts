import * as t from "../shared/tasks/follow-task"; import * as r from "../shared/agent/run-task"; (globalThis as any).x = [t,r];
