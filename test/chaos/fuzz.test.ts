/**
 * Parser fuzzing with fast-check: the parsers that read what comes from outside — EV2 answers
 * (through a real HTTP server answering arbitrary bodies), the scope grammar, the input
 * builders and the tasks' input shapes, the threshold language, endpoint files and stress
 * result files — answer any input with a value or a clear error of their own kind: never a
 * crash (TypeError, RangeError), never a message with "undefined", "NaN" or "[object Object]"
 * in it. Consumers of a parsed rollout (change log, outputs, Teams card) survive it too.
 *
 * Fixed seed for reproducible runs; CHAOS_FUZZ_SEED and CHAOS_FUZZ_RUNS (a multiplier) widen it.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { FakeAgent } from "../../shared/agent/fake-agent";
import { field, InputError, readInputs } from "../../shared/agent/inputs";
import { Ev2Client } from "../../shared/ev2/client";
import { checkConnection } from "../../shared/ev2/connection";
import { Ev2Error } from "../../shared/ev2/errors";
import { rolloutStatuses, type Rollout } from "../../shared/ev2/schemas";
import { checkScope } from "../../shared/ev2/scope";
import { parseRetryAfterMs } from "../../shared/http/retry";
import { ChangeLog, rolloutFacts, type FollowReporter } from "../../shared/rollout/follow";
import { parseEndpointLines, parseEndpointsFile } from "../../shared/stress/endpoints";
import { StressInputError } from "../../shared/stress/errors";
import { parseResultDocument } from "../../shared/stress/merge";
import {
  evaluateThresholds,
  parseThresholdLine,
  parseThresholds,
  THRESHOLD_FORMS,
  THRESHOLD_METRICS,
  ThresholdSyntaxError,
  type ThresholdObservables,
} from "../../shared/stress/thresholds";
import { followInputs } from "../../shared/tasks/follow-task";
import { gateInputs } from "../../shared/tasks/gate-task";
import { teamsInputs } from "../../shared/tasks/teams-task";
import { triggerInputs } from "../../shared/tasks/trigger-task";
import { buildNotificationCard } from "../../shared/teams/notification-card";
import { chooseNotificationKind } from "../../shared/teams/notification-kind";
import { chaosCounts, registerCountsReport } from "./chaos-support";

registerCountsReport();

const seed = Number(process.env.CHAOS_FUZZ_SEED) || 20261122;
const scale = Number(process.env.CHAOS_FUZZ_RUNS) || 1;
const runs = (n: number) => Math.max(1, Math.round(n * scale));

/** Runs a property and counts its cases. */
function check<T>(property: fc.IProperty<T>, numRuns: number): void {
  fc.assert(property, { seed, numRuns: runs(numRuns) });
  chaosCounts.fuzzCases += runs(numRuns);
}
async function checkAsync<T>(property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  await fc.assert(property, { seed, numRuns: runs(numRuns) });
  chaosCounts.fuzzCases += runs(numRuns);
}

/**
 * Words that mean a message was built from a missing or unprintable value. zod's wording for a
 * missing field ("expected string, received undefined") is let through: it is zod's own sentence
 * about a field that is absent, not a value the code lost (see the report).
 */
const sloppy = /(?<!received )\bundefined\b|\bNaN\b|\[object Object\]/;
/** Generated text never contains them itself, so finding one in a message is the code's doing. */
const clean = (s: string) => !sloppy.test(s);

function assertClearMessage(message: unknown, what: string): void {
  assert.equal(typeof message, "string", `${what}: the message is not a string`);
  assert.ok((message as string).trim().length > 0, `${what}: empty message`);
  assert.doesNotMatch(message as string, sloppy, `${what}: ${message as string}`);
}

/** `fn` returns, or throws an error of one of the expected kinds with a clear message. */
function returnsOrExplains<T>(
  fn: () => T,
  kinds: Array<new (...a: never[]) => Error>,
  what: string,
): T | undefined {
  try {
    return fn();
  } catch (err) {
    assert.ok(
      kinds.some((k) => err instanceof k),
      `${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
    );
    assertClearMessage((err as Error).message, what);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const text = fc.string({ maxLength: 24 }).filter(clean);
const anyText = fc.oneof(text, fc.string({ unit: "binary", maxLength: 40 }).filter(clean), fc.constant(""));
const time = fc.oneof(
  fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString()),
  text,
  fc.constant(null),
);
const stageStatus = fc.oneof(
  fc.constantFrom("Pending", "InProgress", "Waiting", "Completed", "Failed", "Cancelled", "Skipped"),
  text,
);
const region = fc.record(
  { name: text, status: stageStatus, startTime: time, endTime: time },
  { requiredKeys: ["name", "status"] },
);
const stage = fc.record(
  {
    name: text,
    status: stageStatus,
    startTime: time,
    endTime: time,
    regions: fc.array(region, { maxLength: 4 }),
  },
  { requiredKeys: ["name", "status"] },
);
const waitAction = fc.record(
  {
    actionId: text,
    stage: text,
    reason: text,
    status: fc.oneof(fc.constantFrom("Waiting", "Approved", "Rejected"), text),
    waitingSince: fc.option(time, { nil: undefined }),
    decidedBy: fc.option(text),
    decidedAt: fc.option(text),
    comment: fc.option(text),
  },
  { requiredKeys: ["actionId", "stage", "status"] },
);
const rolloutError = fc.record(
  { stage: text, region: fc.option(text), timestamp: text, errorCode: text, message: text },
  { requiredKeys: ["errorCode"] },
);
/** Mostly contract-shaped rollouts, with wrong values where the dice say. */
const rolloutish = fc.record(
  {
    rolloutId: text,
    serviceGroupName: text,
    serviceId: text,
    environment: text,
    artifactVersionNumber: text,
    stageMapName: text,
    stageMapVersion: text,
    status: fc.oneof(fc.constantFrom(...rolloutStatuses), text),
    currentStage: fc.option(text),
    stages: fc.array(stage, { maxLength: 5 }),
    waitActions: fc.array(waitAction, { maxLength: 3 }),
    errors: fc.array(rolloutError, { maxLength: 3 }),
    createdTimestamp: time,
    lastUpdateTime: fc.option(time, { nil: undefined }),
    dashboardUrl: text,
  },
  {
    requiredKeys: [
      "rolloutId",
      "serviceGroupName",
      "serviceId",
      "environment",
      "artifactVersionNumber",
      "stageMapName",
      "stageMapVersion",
      "status",
      "stages",
      "createdTimestamp",
    ],
  },
);
const broken = fc
  .tuple(
    rolloutish,
    fc.constantFrom("status", "stages", "waitActions", "errors", "rolloutId", "createdTimestamp"),
    fc.anything(),
  )
  .map(([r, key, value]) => ({ ...r, [key]: value }));
const errorish = fc.record(
  {
    error: fc.oneof(
      fc.record(
        {
          code: text,
          message: fc.option(text),
          target: fc.option(text),
          details: fc.option(fc.dictionary(text, fc.jsonValue())),
        },
        { requiredKeys: ["code"] },
      ),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);
const jsonText = fc.json({ maxDepth: 4 }).filter(clean);
const body = fc.oneof(
  jsonText,
  anyText,
  rolloutish.map((r) => JSON.stringify(r)),
  broken.map((r) => JSON.stringify(r) ?? "null").filter(clean),
  errorish.map((e) => JSON.stringify(e)).filter(clean),
  fc
    .tuple(
      rolloutish.map((r) => JSON.stringify(r)),
      fc.nat(),
    )
    .map(([j, n]) => j.slice(0, n % (j.length + 1))),
  fc
    .record({ artifacts: fc.array(fc.record({ versionNumber: text, status: text })) })
    .map((x) => JSON.stringify(x)),
  fc
    .record({ rollouts: fc.array(fc.record({ rolloutId: text, status: text })) })
    .map((x) => JSON.stringify(x)),
);

// ---------------------------------------------------------------------------------------------

describe("chaos: parser fuzzing (fast-check)", function () {
  this.timeout(120_000);

  describe("EV2 answers through a real HTTP server answering arbitrary bodies", () => {
    let server: Server;
    let next = {
      status: 200,
      contentType: "application/json",
      body: "{}",
      etag: undefined as string | undefined,
    };
    let client: Ev2Client;
    before(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          const headers: Record<string, string> = {
            "content-type": next.contentType,
            "x-ms-request-id": "fuzz",
          };
          if (next.etag !== undefined) headers.etag = next.etag;
          res.writeHead(next.status, headers);
          res.end(next.status === 204 || next.status === 304 ? undefined : next.body);
        });
      });
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
      client = new Ev2Client({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        getToken: async () => "fuzz-token",
        // One attempt: the properties are about parsing, not about waiting.
        retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalWaitMs: 0 },
        timeoutMs: 5000,
      });
    });
    after(() => new Promise<void>((ok) => server.close(() => ok())));

    const calls: Record<string, (c: Ev2Client) => Promise<unknown>> = {
      getRollout: (c) => c.getRollout("r-1"),
      getRolloutConditional: (c) => c.getRollout("r-1", '"etag-1"'),
      listArtifactVersions: (c) => c.listArtifactVersions("sg", "svc"),
      listStageMapVersions: (c) => c.listStageMapVersions("sg", "svc", "map"),
      listRollouts: (c) => c.listRollouts("sg", "svc", { status: ["Completed"] }),
      startRollout: (c) =>
        c.startRollout(
          "sg",
          "svc",
          {
            stageMapName: "m",
            stageMapVersion: "v1",
            artifactVersionNumber: "1.0.0",
            environment: "PPE",
            selectionScope: [],
            exclusionScope: [],
            tags: {},
          },
          "key-1",
        ),
      decideWaitAction: (c) =>
        c.decideWaitAction("r-1", "wait-1", { decision: "Approve", comment: "ok", decidedBy: "me" }),
      cancelRollout: (c) => c.cancelRollout("r-1", "because"),
      restartRollout: (c) => c.restartRollout("r-1"),
    };

    it("every call answers with a value or an Ev2Error that reads well", async () => {
      await checkAsync(
        fc.asyncProperty(
          fc.constantFrom(...Object.keys(calls)),
          fc.constantFrom(200, 200, 200, 201, 204, 304, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503),
          fc.constantFrom(
            "application/json; charset=utf-8",
            "text/html",
            "text/plain",
            "application/octet-stream",
            "",
          ),
          body,
          fc.option(text, { nil: undefined }),
          async (call, status, contentType, answer, etag) => {
            next = { status, contentType: contentType || "application/json", body: answer, etag };
            let value: unknown;
            try {
              value = await calls[call](client);
            } catch (err) {
              assert.ok(
                err instanceof Ev2Error,
                `${call} threw ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
              );
              assertClearMessage(err.message, call);
              assert.match(err.message, /^EV2 .+ failed: \S+/, call);
              return;
            }
            assert.ok(status < 300 || status === 304, `${call} accepted HTTP ${status}`);
            assert.notEqual(value, undefined);
          },
        ),
        600,
      );
    });

    it("a rollout that passes the contract never breaks what consumes it: outputs, the change log, the Teams card", async () => {
      await checkAsync(
        fc.asyncProperty(
          fc.oneof(rolloutish, broken),
          fc.option(rolloutish, { nil: undefined }),
          async (candidate, earlier) => {
            next = {
              status: 200,
              contentType: "application/json",
              body: JSON.stringify(candidate),
              etag: '"e"',
            };
            let got;
            try {
              got = await client.getRollout("r-1");
            } catch (err) {
              assert.ok(err instanceof Ev2Error, `${(err as Error)?.name}: ${(err as Error)?.message}`);
              assertClearMessage(err.message, "getRollout");
              return;
            }
            assert.equal(got.notModified, false);
            const rollout = (got as { rollout: Rollout }).rollout;
            const lines: string[] = [];
            const reporter: FollowReporter = {
              event: (m) => lines.push(m),
              warning: (m) => lines.push(m),
              beginGroup: (t) => lines.push(t),
              endGroup: () => undefined,
              progress: (_p, a) => lines.push(a),
            };
            const facts = rolloutFacts(rollout);
            assert.equal(typeof facts.status, "string");
            const log = new ChangeLog(reporter);
            log.report(undefined, rollout);
            log.report(rollout, rollout);
            // A poll that finds a different rollout state (the earlier one parsed the same way).
            next = {
              status: 200,
              contentType: "application/json",
              body: JSON.stringify(earlier ?? candidate),
              etag: '"f"',
            };
            const other = await client.getRollout("r-1").catch(() => undefined);
            if (other && !other.notModified) log.report(other.rollout, rollout);
            for (const line of lines) assertClearMessage(line, "change log");
            const kind = chooseNotificationKind(rollout);
            const card = buildNotificationCard({
              kind,
              rollout,
              runUrl: "https://dev.azure.com/x/y/_build/results?buildId=1",
            });
            assert.ok(
              Buffer.byteLength(JSON.stringify(card)) < 28 * 1024,
              "the card stays under the Teams limit",
            );
            assert.doesNotMatch(JSON.stringify(card), /\bundefined\b|\bNaN\b|\[object Object\]/, "card text");
          },
        ),
        400,
      );
    });
  });

  describe("the scope grammar (checkScope)", () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
    const list = fc.oneof(
      fc.constant("*"),
      fc.array(name, { minLength: 1, maxLength: 4 }).map((a) => a.join(",")),
    );
    const scope = fc
      .tuple(list, list, list, list)
      .map(([a, b, c, d]) => `regions(${a}).steps(${b}).stamps(${c}).actions(${d})`);
    const strict =
      /^regions\((\*|[\w-]+(,[\w-]+)*)\)\.steps\((\*|[\w-]+(,[\w-]+)*)\)\.stamps\((\*|[\w-]+(,[\w-]+)*)\)\.actions\((\*|[\w-]+(,[\w-]+)*)\)$/;
    /** A valid scope with one character inserted, deleted or replaced. */
    const mutated = fc
      .tuple(
        scope,
        fc.nat(),
        fc.constantFrom("insert", "delete", "replace"),
        fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
      )
      .map(([s, at, how, ch]) => {
        const i = at % (s.length + 1);
        if (how === "insert") return s.slice(0, i) + ch + s.slice(i);
        if (how === "delete") return s.slice(0, i) + s.slice(i + 1);
        return s.slice(0, i) + ch + s.slice(i + 1);
      })
      .filter(clean);

    it("every scope the grammar generates is accepted", () => {
      check(
        fc.property(scope, (s) => assert.equal(checkScope(s), undefined, s)),
        500,
      );
    });

    it("anything else is refused with a reason, and only what the grammar allows is accepted", () => {
      check(
        fc.property(
          fc.oneof(
            mutated,
            anyText,
            fc
              .array(
                fc.constantFrom("regions(", "steps(", "*", ")", ".", ",", "a", "(", "stamps(", "actions("),
                { maxLength: 30 },
              )
              .map((a) => a.join("")),
          ),
          (s) => {
            const problem = returnsOrExplains(() => checkScope(s), [], `checkScope(${JSON.stringify(s)})`);
            if (problem === undefined) assert.match(s, strict, `accepted ${JSON.stringify(s)}`);
            else assertClearMessage(problem, `checkScope(${JSON.stringify(s)})`);
          },
        ),
        1500,
      );
    });

    it("answers long hostile input quickly (no catastrophic backtracking)", () => {
      check(
        fc.property(
          fc.constantFrom("a,", "a", ",", "(", "regions(a", ".steps(*)"),
          fc.integer({ min: 1000, max: 20_000 }),
          (unit, n) => {
            const s = `regions(${unit.repeat(n)}).steps(*).stamps(*).actions(*`;
            const started = performance.now();
            checkScope(s);
            assert.ok(
              performance.now() - started < 100,
              `${performance.now() - started} ms for ${s.length} characters`,
            );
          },
        ),
        30,
      );
    });
  });

  describe("the input builders and the tasks' input shapes (shared/agent/inputs.ts)", () => {
    const raw = fc.option(
      fc
        .oneof(
          anyText,
          fc.integer().map(String),
          fc.double().map(String),
          fc.constantFrom("true", "FALSE", " 5 ", "-0", "1e3", "0x10", "\n\n#c\n"),
        )
        .filter(clean),
      { nil: undefined },
    );
    const builders = {
      text: field.text({ pattern: /^[a-z]+$/, expected: "lower-case letters", maxLength: 10 }),
      requiredText: field.requiredText({
        pattern: /^[A-Za-z0-9._-]+$/,
        expected: "a name",
        example: "orders-api",
        maxLength: 20,
      }),
      secret: field.secret({ required: true }),
      integer: field.integer({ min: 5, max: 300, unit: "seconds" }),
      optionalNumber: field.optionalNumber({ min: 0, max: 100, unit: "percent" }),
      wholeOptional: field.optionalNumber({ min: -5, max: 5, integer: true }),
      choice: field.choice(["fail", "follow"] as const),
      boolean: field.boolean(false),
      lines: field.lines({
        check: (l) => (l.length > 10 ? "is too long (at most 10 characters)" : undefined),
        max: 3,
      }),
    };

    it("each builder gives a value of its type or an InputError naming the input and the valid form", () => {
      check(
        fc.property(
          fc.constantFrom(...(Object.keys(builders) as Array<keyof typeof builders>)),
          raw,
          (name, value) => {
            const agent = new FakeAgent({ inputs: { [name]: value } });
            const got = returnsOrExplains(
              () =>
                readInputs(agent, { [name]: builders[name] } as never, { secrets: ["secret"] }) as Record<
                  string,
                  unknown
                >,
              [InputError],
              `${name}=${JSON.stringify(value)}`,
            );
            if (got === undefined) {
              try {
                readInputs(agent, { [name]: builders[name] } as never);
              } catch (err) {
                assert.match((err as Error).message, new RegExp(`^Input '${name}' .+\\.$`, "s"));
                assert.match(
                  (err as Error).message,
                  /must be|is required|lines; at most|line \d+ /,
                  "says the valid form",
                );
                if (name === "secret" && value)
                  assert.ok(!(err as Error).message.includes(value.trim()), "a secret is echoed");
              }
              return;
            }
            const v = got[name];
            switch (name) {
              case "integer":
                assert.ok(Number.isInteger(v) && (v as number) >= 5 && (v as number) <= 300, String(v));
                break;
              case "optionalNumber":
              case "wholeOptional":
                assert.ok(
                  v === undefined || (Number.isFinite(v) && (v as number) >= -5 && (v as number) <= 100),
                  String(v),
                );
                break;
              case "choice":
                assert.ok(v === "fail" || v === "follow");
                break;
              case "boolean":
                assert.equal(typeof v, "boolean");
                break;
              case "lines":
                assert.ok(
                  Array.isArray(v) &&
                    (v as string[]).every((l) => l === l.trim() && l !== "" && !l.startsWith("#")),
                );
                break;
              default:
                assert.ok(v === undefined || typeof v === "string");
            }
          },
        ),
        2000,
      );
    });

    const shapes = {
      TriggerEv2Rollout: triggerInputs,
      FollowRollout: followInputs,
      GateApproval: gateInputs,
      TeamsNotify: teamsInputs,
    };
    for (const [task, shape] of Object.entries(shapes)) {
      it(`${task}: any set of input values is read or refused input by input`, () => {
        const names = Object.keys(shape);
        check(
          fc.property(
            fc.dictionary(
              fc.constantFrom(...names),
              raw.map((v) => v ?? ""),
            ),
            (inputs) => {
              const agent = new FakeAgent({ inputs });
              try {
                readInputs(agent, shape as never, { check: checkConnection as never });
              } catch (err) {
                assert.ok(
                  err instanceof InputError,
                  `${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
                );
                assertClearMessage(err.message, task);
                for (const sentence of err.message.match(/Input '[^']*'/g) ?? []) {
                  assert.ok(names.includes(sentence.slice(7, -1)), `${sentence} is not an input of ${task}`);
                }
                assert.match(err.message, /^Input '/);
              }
            },
          ),
          500,
        );
      });
    }
  });

  describe("the threshold language (shared/stress/thresholds.ts)", () => {
    const metric = fc.oneof(
      fc.constantFrom(...THRESHOLD_METRICS, "mean", "P95", "Error_Rate", "p999", "p", "latency"),
      text,
    );
    const operator = fc.constantFrom("<", "<=", ">", ">=", "=", "==", "=>", "!=", "");
    const value = fc.oneof(
      fc.nat({ max: 100_000 }).map(String),
      fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String),
      fc.constantFrom(".5", "5.", "-0", "1e3", "", "0.000001"),
    );
    const unit = fc.oneof(
      fc.constantFrom("", "%", "ms", "s", "us", "µs", "/s", "req/s", "MS", "m", "h"),
      text,
    );
    const endpoint = fc.option(
      fc.oneof(fc.constantFrom("https://orders.contoso.com/health", "health", "a:b"), text),
      { nil: undefined },
    );
    const line = fc
      .tuple(endpoint, metric, fc.constantFrom("", " "), operator, fc.constantFrom("", " "), value, unit)
      .map(([e, m, s1, op, s2, v, u]) => `${e === undefined ? "" : `${e}: `}${m}${s1}${op}${s2}${v}${u}`)
      .filter(clean);
    const observables: fc.Arbitrary<ThresholdObservables> = fc.record({
      errorRatePercent: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
      successRatePercent: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
      requestsPerSecond: fc.double({ min: 0, max: 1e6, noNaN: true }),
      latencyMs: fc.option(
        fc.record({
          min: fc.double({ min: 0, max: 1e7, noNaN: true }),
          mean: fc.double({ min: 0, max: 1e7, noNaN: true }),
          p50: fc.double({ min: 0, max: 1e7, noNaN: true }),
          p90: fc.double({ min: 0, max: 1e7, noNaN: true }),
          p95: fc.double({ min: 0, max: 1e7, noNaN: true }),
          p99: fc.double({ min: 0, max: 1e7, noNaN: true }),
          p99_9: fc.double({ min: 0, max: 1e7, noNaN: true }),
          max: fc.double({ min: 0, max: 1e7, noNaN: true }),
        }),
      ),
    });

    it("each line is a threshold with a finite limit, or a ThresholdSyntaxError naming the line and the valid forms", () => {
      check(
        fc.property(fc.oneof(line, anyText), fc.integer({ min: 1, max: 500 }), (l, n) => {
          const t = returnsOrExplains(
            () => parseThresholdLine(l, n),
            [ThresholdSyntaxError],
            `line ${JSON.stringify(l)}`,
          );
          if (t === undefined) {
            try {
              parseThresholdLine(l, n);
            } catch (err) {
              assert.ok((err as Error).message.startsWith(`thresholds line ${n} `), (err as Error).message);
              assert.ok((err as Error).message.endsWith(THRESHOLD_FORMS));
            }
            return;
          }
          if (t === null) return;
          assert.ok(Number.isFinite(t.limit) && t.limit >= 0, `${l} → limit ${t.limit}`);
          assert.ok((THRESHOLD_METRICS as readonly string[]).includes(t.metric));
        }),
        2000,
      );
    });

    it("whole inputs parse or name their first bad line; parsed thresholds evaluate against any figures", () => {
      check(
        fc.property(
          fc.array(fc.oneof(line, fc.constantFrom("", "# comment", "   ")), { maxLength: 6 }),
          observables,
          fc.array(observables, { maxLength: 3 }),
          (lines, overall, perEndpoint) => {
            const thresholds = returnsOrExplains(
              () => parseThresholds(lines.join("\n")),
              [ThresholdSyntaxError],
              "parseThresholds",
            );
            if (!thresholds) return;
            const endpoints = perEndpoint.map((observed, i) => ({
              name: i === 0 ? "health" : `e${i}`,
              url: `https://orders.contoso.com/${i}`,
              observed,
            }));
            const verdicts = evaluateThresholds(thresholds, overall, endpoints);
            for (const v of verdicts) {
              assertClearMessage(v.message, `verdict of ${v.threshold}`);
              assert.equal(typeof v.passed, "boolean");
            }
          },
        ),
        800,
      );
    });
  });

  describe("endpoint files, endpoint lines and stress result files", () => {
    const yamlish = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            "endpoints:",
            "  - url: https://x/y",
            "    method: GET",
            "    method: FETCH",
            "    expectedStatus: 200-299",
            "    headers: {a: 1}",
            "- url: [",
            "  body: {x: 1}",
            "url: 5",
            "	tab",
            "? key",
            "&anchor",
            "*alias",
          ),
          text,
        ),
        { maxLength: 8 },
      )
      .map((a) => a.join("\n"));
    const jsonish = fc.oneof(
      jsonText,
      fc
        .array(
          fc.record(
            {
              url: fc.oneof(text, fc.constant("https://x/y")),
              method: fc.oneof(text, fc.constantFrom("GET", "post")),
              headers: fc.dictionary(text, fc.jsonValue()),
              body: fc.jsonValue(),
              expectedStatus: fc.jsonValue(),
              name: text,
              extra: text,
            },
            { requiredKeys: [] },
          ),
        )
        .map((x) => JSON.stringify(x)),
    );

    it("an endpoints file (JSON or YAML) gives endpoints or a StressInputError naming the file", async () => {
      // The yaml library reports odd documents (unknown directives, tags) as process warnings;
      // they are collected here rather than printed over the test report.
      const warnings: string[] = [];
      const emitWarning = process.emitWarning;
      process.emitWarning = ((w: string | Error) =>
        void warnings.push(String(w))) as typeof process.emitWarning;
      await checkAsync(
        fc.asyncProperty(
          fc.oneof(yamlish, jsonish, anyText),
          fc.constantFrom("endpoints.json", "endpoints.yaml", "e.yml"),
          async (content, fileName) => {
            try {
              const specs = await parseEndpointsFile(content, fileName);
              assert.ok(Array.isArray(specs));
              for (const s of specs) assert.equal(typeof s.url, "string");
            } catch (err) {
              assert.ok(
                err instanceof StressInputError,
                `${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`,
              );
              assertClearMessage(err.message, "endpointsFile");
              assert.ok(err.message.startsWith(`endpointsFile ${fileName}: `), err.message);
            }
          },
        ),
        800,
      ).finally(() => {
        process.emitWarning = emitWarning;
      });
    });

    it("endpoint lines give endpoints or a StressInputError", () => {
      check(
        fc.property(
          fc.array(
            fc.oneof(anyText, fc.constantFrom("GET https://x", "FETCH https://x", "https://x y", "# c")),
            { maxLength: 5 },
          ),
          (lines) => {
            returnsOrExplains(() => parseEndpointLines(lines.join("\n")), [StressInputError], "endpoints");
          },
        ),
        800,
      );
    });

    it("a stress result file is read or refused with a StressInputError naming the file", () => {
      const doc = fc.record(
        {
          schemaVersion: fc.oneof(fc.constant(1), fc.jsonValue()),
          kind: fc.oneof(fc.constant("stressTestResult"), text),
          passed: fc.oneof(fc.boolean(), fc.jsonValue()),
          overall: fc.jsonValue(),
          endpoints: fc.oneof(fc.array(fc.jsonValue()), fc.jsonValue()),
          load: fc.jsonValue(),
          thresholdDefinitions: fc.jsonValue(),
        },
        { requiredKeys: [] },
      );
      check(
        fc.property(
          fc.oneof(
            doc.map((d) => JSON.stringify(d)),
            jsonText,
            anyText,
          ),
          (content) => {
            const thrown = returnsOrExplains(
              () => parseResultDocument(content, "result.json"),
              [StressInputError],
              "result file",
            );
            if (thrown === undefined) return;
          },
        ),
        800,
      );
    });

    it("Retry-After: any header value is a wait of zero or more finite milliseconds, or none", () => {
      check(
        fc.property(
          fc.oneof(
            anyText,
            fc.nat().map(String),
            fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
            fc.double().map(String),
          ),
          (header) => {
            const ms = parseRetryAfterMs(header);
            assert.ok(ms === undefined || (Number.isFinite(ms) && ms >= 0), `${header} → ${ms}`);
          },
        ),
        800,
      );
    });
  });
});
