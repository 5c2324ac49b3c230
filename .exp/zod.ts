import * as s from "../shared/ev2/schemas"; (globalThis as any).x = s;
