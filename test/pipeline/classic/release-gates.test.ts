/**
 * The gate evaluator's timing rules (delay before evaluation, sampling interval, minimum success
 * duration, timeout) and Ev2RolloutGate's request, against a small EV2 stand-in on loopback that
 * answers a scripted sequence of rollout states, on a clock that moves only when the gates wait.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { GateStep, ReleaseTask } from "../../../pipeline/classic/release-definition";
import { runGates, type GateClock } from "../../../pipeline/classic/release-gates";
import { TaskCatalog } from "../../../pipeline/task-catalog";

const catalog = TaskCatalog.load(join(__dirname, "..", "..", "..", "tasks"));
const gateTask = catalog.byId("a2e88ed7-f762-538b-8b02-6a08e118d862")!;
const minute = 60_000;

/** A clock that jumps when waited on: what the gates did, not how long the test took. */
function virtualClock(): GateClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms / minute);
      now += ms;
    },
  };
}

interface Stand {
  url: string;
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Answers each request with the next status of `statuses` (the last one repeats). */
async function ev2Answering(statuses: string[]): Promise<Stand> {
  const requests: Stand["requests"] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    const status = statuses[Math.min(requests.length - 1, statuses.length - 1)];
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        rollouts:
          status === "none"
            ? []
            : [{ rolloutId: "r-1", status, errors: [], stages: [{ name: "Stage1", status }] }],
      }),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

const task: ReleaseTask = {
  taskId: gateTask.id,
  version: "1.*",
  name: "EV2 rollout healthy",
  enabled: true,
  alwaysRun: false,
  continueOnError: false,
  timeoutInMinutes: 0,
  retryCountOnTaskFailure: 0,
  inputs: { ev2Connection: "0b9d7e52-1c3a-4f8e-b6d4-5e7a9c2f1d08", rolloutId: "$(pinned)" },
  env: {},
};

function gates(options: Partial<GateStep>): GateStep {
  return {
    enabled: true,
    timeoutMinutes: 60,
    samplingIntervalMinutes: 5,
    stabilizationMinutes: 0,
    minimumSuccessMinutes: 0,
    tasks: [task],
    ...options,
  };
}

async function evaluate(statuses: string[], options: Partial<GateStep>) {
  const stand = await ev2Answering(statuses);
  const clock = virtualClock();
  const notices: string[] = [];
  try {
    const failure = await runGates(gates(options), "The gates", {
      catalog,
      connections: (id, type) =>
        type === "ev2rollout" && id === task.inputs.ev2Connection
          ? { url: stand.url, scheme: "Token", parameters: { apitoken: "gate-token" } }
          : undefined,
      variables: { "Release.ReleaseId": "42", pinned: "" },
      clock,
      notice: (_level, message) => notices.push(message),
    });
    return { failure, samples: stand.requests.length, waits: clock.waits, requests: stand.requests, notices };
  } finally {
    await stand.close();
  }
}

describe("classic release gates: evaluated as the server does", () => {
  it("sends Ev2RolloutGate's request with the connection's token and the release's tag", async () => {
    const { failure, requests } = await evaluate(["Completed"], {});
    assert.equal(failure, undefined);
    assert.equal(requests[0].url, "/rollouts?rolloutId=&tag=ado.releaseId:42&top=1");
    assert.equal(requests[0].headers.authorization, "Bearer gate-token");
    assert.equal(requests[0].headers.accept, "application/json");
  });

  const cases: Array<{
    what: string;
    statuses: string[];
    options: Partial<GateStep>;
    samples: number;
    waits: number[];
    passed: boolean;
  }> = [
    {
      what: "waits the delay before the first sample, then passes at once",
      statuses: ["Completed"],
      options: { stabilizationMinutes: 10 },
      samples: 1,
      waits: [10],
      passed: true,
    },
    {
      what: "samples every interval until the rollout completes",
      statuses: ["none", "InProgress", "Waiting", "Completed"],
      options: {},
      samples: 4,
      waits: [5, 5, 5],
      passed: true,
    },
    {
      what: "needs the minimum success duration of passing samples in a row",
      statuses: ["Completed"],
      options: { minimumSuccessMinutes: 10 },
      samples: 3,
      waits: [5, 5],
      passed: true,
    },
    {
      what: "starts the success duration again after a failing sample",
      statuses: ["Completed", "InProgress", "Completed"],
      options: { minimumSuccessMinutes: 5 },
      samples: 4,
      waits: [5, 5, 5],
      passed: true,
    },
    {
      what: "fails when the timeout comes first (the delay counts)",
      statuses: ["InProgress"],
      options: { timeoutMinutes: 30, stabilizationMinutes: 10, samplingIntervalMinutes: 5 },
      samples: 4,
      waits: [10, 5, 5, 5],
      passed: false,
    },
    {
      what: "fails when passing samples never last the minimum success duration",
      statuses: ["Completed"],
      options: { timeoutMinutes: 15, minimumSuccessMinutes: 30 },
      samples: 3,
      waits: [5, 5],
      passed: false,
    },
  ];
  for (const c of cases)
    it(c.what, async () => {
      const result = await evaluate(c.statuses, c.options);
      assert.deepEqual(
        { samples: result.samples, waits: result.waits, passed: result.failure === undefined },
        { samples: c.samples, waits: c.waits, passed: c.passed },
        result.notices.join("\n"),
      );
    });

  it("says why it failed: the last sample's answer", async () => {
    const { failure, notices } = await evaluate(["InProgress"], { timeoutMinutes: 10 });
    assert.match(
      failure ?? "",
      /^The gates did not pass within 10 min \(2 sample\(s\)\): EV2 rollout healthy: GET http:\/\/127\.0\.0\.1:\d+\/rollouts\?rolloutId=&tag=ado\.releaseId:42&top=1 answered 200; success criteria not met: rollout r-1 is InProgress$/,
    );
    assert.ok(!notices.join("\n").includes("gate-token"));
  });

  it("does not pass a gate it cannot evaluate (a task of another extension)", async () => {
    const stand = await ev2Answering(["Completed"]);
    try {
      const failure = await runGates(
        gates({
          timeoutMinutes: 5,
          tasks: [{ ...task, taskId: "e213ff0f-5d5c-4791-802d-52ea3e7be1f1", name: "" }],
        }),
        "The gates",
        { catalog, variables: {}, clock: virtualClock(), notice: () => undefined },
      );
      assert.match(
        failure ?? "",
        /task e213ff0f-.* is not one of this extension's tasks, so it cannot be evaluated here/,
      );
      assert.equal(stand.requests.length, 0);
    } finally {
      await stand.close();
    }
  });
});
