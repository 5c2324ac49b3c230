import * as z from "zod";
import { ApiError, errorAnswer, invalidParameter, type ApiAnswer } from "./api-error";
import { faultRuleBodySchema, faultRuleFromBody, type FaultRule } from "./faults";
import type { FrontDoorContext, IncomingCall } from "./front-door";

/**
 * `/_sim/...`: lets another process (the demo, chaos tests) drive the simulator. No
 * authentication, never faulted, not recorded in `requests`.
 */
export function handleAdminRequest(call: IncomingCall, context: FrontDoorContext): ApiAnswer {
  try {
    return route(call, context);
  } catch (error) {
    if (error instanceof ApiError) return errorAnswer(error);
    throw error;
  }
}

const advanceSchema = z.object({ ms: z.number().nonnegative() });
const speedSchema = z.object({ speed: z.number().nonnegative() });

function route(call: IncomingCall, context: FrontDoorContext): ApiAnswer {
  const key = `${call.method} ${call.path}`;
  switch (key) {
    case "GET /_sim/requests":
      return { status: 200, body: { requests: context.requests } };
    case "DELETE /_sim/requests":
      context.requests.length = 0;
      return { status: 204, body: undefined };
    case "GET /_sim/faults":
      return { status: 200, body: { faults: context.faults.rules().map(serializeFault) } };
    case "POST /_sim/faults": {
      const rule = faultRuleFromBody(parseAdminBody(faultRuleBodySchema, call));
      context.faults.add(rule);
      return { status: 201, body: { faults: context.faults.rules().length } };
    }
    case "DELETE /_sim/faults":
      context.faults.clear();
      return { status: 204, body: undefined };
    case "GET /_sim/state":
      return {
        status: 200,
        body: {
          scenario: context.ev2.scenario.name,
          now: context.clock.now().toISOString(),
          speed: context.clock.speed,
          faultsInjected: context.faults.injected,
          requestCount: context.requests.length,
          rollouts: context.ev2.rollouts(),
        },
      };
    case "POST /_sim/clock/advance": {
      const { ms } = parseAdminBody(advanceSchema, call);
      context.clock.advance(ms);
      return { status: 200, body: { now: context.clock.now().toISOString() } };
    }
    case "POST /_sim/clock/speed": {
      const { speed } = parseAdminBody(speedSchema, call);
      context.clock.speed = speed;
      return { status: 200, body: { now: context.clock.now().toISOString(), speed } };
    }
    default:
      throw new ApiError(
        404,
        "NotFound",
        `no admin operation ${key}; see sim/README.md (GET /_sim/requests, POST|DELETE /_sim/faults, GET /_sim/state, POST /_sim/clock/advance, ...)`,
      );
  }
}

function parseAdminBody<T>(schema: z.ZodType<T>, call: IncomingCall): T {
  if (call.bodyIsNotJson) throw invalidParameter("body", "the request body is not valid JSON");
  const result = schema.safeParse(call.body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const target = issue.path.length > 0 ? issue.path.map(String).join(".") : "body";
  throw invalidParameter(target, `${target}: ${issue.message}`);
}

function serializeFault(rule: FaultRule): Record<string, unknown> {
  const { path, ...rest } = rule;
  if (path instanceof RegExp) return { ...rest, pathPattern: path.source };
  return path === undefined ? rest : { ...rest, path };
}
