import * as s from "../shared/http/request"; import * as h from "node:http"; (globalThis as any).x = [s,h];
