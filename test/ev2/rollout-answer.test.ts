/**
 * The rollout answer's own readers against JSON.parse and zod: readRolloutJson accepts and
 * refuses the texts JSON.parse does, and what it keeps reads as the whole does;
 * parseRolloutAnswer gives zod's rollout, field for field and in the same key order, or zod's
 * first issue.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  parseRolloutAnswer,
  readRolloutJson,
  regionKeys,
  rolloutKeys,
  stageKeys,
} from "../../shared/ev2/rollout-answer";
import * as schema from "../../shared/ev2/schemas";
import { rolloutIdentity } from "../tasks/ev2-fixture";

const time = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constant(null),
  fc.string({ maxLength: 6 }),
);
/** Mostly what the contract allows; now and then anything JSON can hold. */
const field = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
/** Fields EV2 may add that the contract does not name. */
const unknownFields = fc.dictionary(
  fc.constantFrom("displayName", "resourceGroups", "steps", "__proto__", "Name", "regionsCount"),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 2 },
);
const withUnknown = <T extends object>(known: fc.Arbitrary<T>) =>
  fc.tuple(unknownFields, known).map(([extra, k]) => ({ ...extra, ...k }));
const region = withUnknown(
  fc.record(
    {
      name: field(fc.string({ maxLength: 5 })),
      status: field(fc.string()),
      startTime: field(time),
      endTime: field(time),
    },
    { requiredKeys: [] },
  ),
);
const stage = withUnknown(
  fc.record(
    {
      endTime: field(time),
      status: field(fc.constantFrom("Pending", "InProgress", "Completed")),
      name: field(fc.string({ maxLength: 5 })),
      regions: field(
        fc.array(fc.oneof({ weight: 15, arbitrary: region }, fc.jsonValue({ maxDepth: 1 })), {
          maxLength: 4,
        }),
      ),
      startTime: field(time),
    },
    { requiredKeys: [] },
  ),
);
const rollout = fc.record(
  {
    rolloutId: field(fc.string({ maxLength: 5 })),
    serviceGroupName: fc.constant("g"),
    serviceId: fc.constant("s"),
    environment: fc.constant("PPE"),
    artifactVersionNumber: fc.constant("1.0.0"),
    stageMapName: fc.constant("m"),
    stageMapVersion: fc.constant("v1"),
    status: field(fc.constantFrom(...schema.rolloutStatuses)),
    currentStage: fc.option(fc.string({ maxLength: 5 })),
    stages: field(
      fc.array(fc.oneof({ weight: 15, arbitrary: stage }, fc.jsonValue({ maxDepth: 1 })), { maxLength: 4 }),
    ),
    waitActions: fc.constant([]),
    errors: field(fc.array(fc.record({ errorCode: fc.string(), stage: fc.string() }), { maxLength: 2 })),
    createdTimestamp: field(time),
    dashboardUrl: fc.string({ maxLength: 5 }),
  },
  { requiredKeys: ["serviceGroupName", "serviceId", "environment", "stageMapName"] },
);

/** Rollouts in the contract, unknown fields and all. */
const validRollout = fc
  .record({
    rolloutId: fc.constant("r-1"),
    identity: fc.constant(rolloutIdentity),
    status: fc.constantFrom(...schema.rolloutStatuses),
    createdTimestamp: fc.constant("2026-12-05T10:00:00Z"),
    stages: fc.array(
      withUnknown(
        fc.record(
          {
            name: fc.string({ maxLength: 3 }),
            status: fc.constantFrom("Pending", "Completed"),
            startTime: time,
            regions: fc.array(
              withUnknown(
                fc.record(
                  {
                    name: fc.string({ maxLength: 3 }),
                    status: fc.string({ maxLength: 3 }),
                    startTime: time,
                    endTime: time,
                  },
                  { requiredKeys: ["name", "status"] },
                ),
              ),
              { maxLength: 4 },
            ),
          },
          { requiredKeys: ["name", "status"] },
        ),
      ),
      { maxLength: 4 },
    ),
  })
  .map(({ identity, ...r }) => ({ ...identity, ...r }));

/** As it comes from JSON.parse: no undefined, `__proto__` an own key. */
const asParsed = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? "null");

function assertSameReading(json: unknown): void {
  const ours = parseRolloutAnswer(json);
  const zods = schema.rollout.safeParse(json);
  assert.equal(ours.success, zods.success, JSON.stringify(json));
  if (ours.success && zods.success) {
    assert.deepStrictEqual(ours.data, zods.data);
    // Key order too: records and summaries serialise the rollout as it was read.
    assert.equal(JSON.stringify(ours.data), JSON.stringify(zods.data));
  } else {
    assert.deepStrictEqual(ours.error?.issues, zods.error?.issues);
  }
}

describe("parseRolloutAnswer reads a rollout answer as zod's schema does", () => {
  it("gives zod's rollout or zod's first issue, for answers in and out of the contract", () => {
    fc.assert(
      fc.property(rollout, (r) => assertSameReading(asParsed(r))),
      { numRuns: 2000, seed: 16 },
    );
  });

  it("given an earlier rollout, reads the same, and what did not change is the earlier objects", () => {
    let shared = 0;
    fc.assert(
      fc.property(validRollout, fc.array(fc.nat(), { maxLength: 3 }), (r, changes) => {
        const earlier = parseRolloutAnswer(asParsed(r));
        assert.ok(earlier.success);
        // The next answer: the same, with a few regions' status or times changed.
        const next = asParsed(r) as { stages: Array<{ regions?: Array<Record<string, unknown>> }> };
        for (const n of changes) {
          const regions = next.stages[n % Math.max(1, next.stages.length)]?.regions;
          const region = regions?.[n % Math.max(1, regions.length)];
          if (region && n % 3 === 0) region.status = `changed ${n}`;
          else if (region && n % 3 === 1) region.endTime = `2026-12-06T00:00:0${n % 10}Z`;
          else if (region) region.startTime = null;
        }
        const alone = parseRolloutAnswer(next);
        const got = parseRolloutAnswer(next, earlier.data);
        assert.equal(got.success, alone.success);
        if (!got.success || !alone.success) return;
        assert.equal(JSON.stringify(got.data), JSON.stringify(alone.data));
        got.data.stages.forEach((stage, i) => {
          const was = earlier.data.stages[i];
          if (JSON.stringify(stage) === JSON.stringify(was)) {
            assert.equal(stage, was, "an unchanged stage is the earlier object");
            shared++;
          }
          stage.regions.forEach((region, j) => {
            const before = was?.regions[j];
            if (JSON.stringify(region) === JSON.stringify(before)) assert.equal(region, before);
            else assert.notEqual(region, before);
          });
        });
      }),
      { numRuns: 1000, seed: 16 },
    );
    assert.ok(shared > 500, `only ${shared} stages were shared`);
  });

  it("leaves out unknown fields, fills missing times with null and missing regions with []", () => {
    const json = asParsed({
      rolloutId: "r-1",
      ...rolloutIdentity,
      status: "InProgress",
      createdTimestamp: "2026-12-05T10:00:00Z",
      stages: [
        {
          status: "InProgress",
          name: "S1",
          owner: "x",
          regions: [{ status: "Completed", name: "eastus", steps: [1] }],
        },
        { name: "S2", status: "Pending", startTime: null },
      ],
    });
    const got = parseRolloutAnswer(json);
    assert.ok(got.success);
    assert.deepStrictEqual(got.data.stages, [
      {
        name: "S1",
        status: "InProgress",
        startTime: null,
        endTime: null,
        regions: [{ name: "eastus", status: "Completed", startTime: null, endTime: null }],
      },
      { name: "S2", status: "Pending", startTime: null, endTime: null, regions: [] },
    ]);
    assertSameReading(json);
  });

  it("names the field zod names when a region breaks the contract", () => {
    const json = asParsed({
      rolloutId: "r-1",
      status: "Sideways",
      stages: [{ name: "S1", status: "InProgress", regions: [{ name: "eastus", status: 3 }] }],
    });
    const got = parseRolloutAnswer(json);
    assert.ok(!got.success);
    assert.deepStrictEqual(got.error.issues[0].path, ["serviceGroupName"]);
    assert.ok(got.error.issues.some((i) => i.path.join(".") === "stages.0.regions.0.status"));
    assertSameReading(json);
  });
});

const swapped: Record<string, string> = {
  "{": "[",
  "[": "{",
  "}": "]",
  "]": "}",
  ",": ":",
  ":": ",",
  '"': "'",
};

/**
 * Text as a server might write it: spaced or not, now and then cut, or with a bracket, quote,
 * colon or comma (or a character one or two after it) replaced, swapped for another, dropped or
 * doubled.
 */
const answerText = fc
  .tuple(
    rollout,
    fc.constantFrom(undefined, 1, "\t"),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom(
          "cut",
          "drop",
          "double",
          "swap",
          "swap",
          "between",
          "{",
          "}",
          "[",
          "]",
          '"',
          ",",
          ":",
          " ",
          "0",
          "\\",
          "x",
          // Inside a string or a number: a control character, a bad escape, a bad number.
          "\u0001",
          "\n",
          "\\u12",
          "\\q",
          "01",
          "1.",
          "-",
          "e",
          "tru",
          "nul",
        ),
        fc.constantFrom(0, 1, 2),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([r, indent, edits]) => {
    let text = JSON.stringify(r, null, indent);
    for (const [n, edit, shift] of edits) {
      const marks = [...text.matchAll(/[{}[\]",:]/g)].map((m) => m.index);
      const i = Math.min(
        text.length,
        (marks.length ? marks[n % marks.length] : n % (text.length + 1)) + shift,
      );
      if (edit === "cut") text = text.slice(0, i);
      else if (edit === "drop") text = text.slice(0, i) + text.slice(i + 1);
      else if (edit === "double") text = text.slice(0, i) + text.slice(i, i + 1) + text.slice(i);
      // Every comma after a closing brace (between stages, regions, wait actions) turned into an x.
      else if (edit === "between")
        text = text.replace(/}(\s*),/g, (m, sp: string) => (n % 3 ? m : `}${sp}x`));
      else if (edit === "swap") text = text.slice(0, i) + (swapped[text[i]] ?? "") + text.slice(i + 1);
      else text = text.slice(0, i) + edit + text.slice(i + 1);
    }
    return text;
  });

function outcome(read: () => unknown): { value?: unknown; refused?: boolean } {
  try {
    return { value: read() };
  } catch {
    return { refused: true };
  }
}

describe("readRolloutJson reads a rollout answer as JSON.parse does, less what the contract leaves out", () => {
  it("refuses what JSON.parse refuses; what it reads gives the same rollout, or the same first issue", () => {
    let read = 0;
    fc.assert(
      fc.property(answerText, (text) => {
        const whole = outcome(() => JSON.parse(text));
        const kept = outcome(() => readRolloutJson(text));
        assert.equal(kept.refused, whole.refused, text);
        if (whole.refused) return;
        read++;
        const a = parseRolloutAnswer(whole.value);
        const b = parseRolloutAnswer(kept.value);
        assert.equal(b.success, a.success, text);
        if (a.success && b.success) assert.equal(JSON.stringify(b.data), JSON.stringify(a.data));
        else assert.deepStrictEqual(b.error?.issues, a.error?.issues);
      }),
      { numRuns: 5000, seed: 16 },
    );
    assert.ok(read > 1000, `only ${read} texts were JSON`);
  });

  it("keeps the fields schemas.ts names, no more and no fewer", () => {
    // The schemas are built on first use (z.lazy): their shape is the lazy schema's inner one.
    const fields = (s: unknown) => [
      ...Object.keys((s as { _zod: { innerType: { shape: object } } })._zod.innerType.shape),
    ];
    assert.deepStrictEqual([...rolloutKeys], fields(schema.rollout));
    assert.deepStrictEqual([...stageKeys], fields(schema.stage));
    assert.deepStrictEqual([...regionKeys], fields(schema.region));
  });

  it("keeps of each rollout, stage and region only the fields the contract names", () => {
    const text = JSON.stringify({
      rolloutId: "r-1",
      ...rolloutIdentity,
      status: "InProgress",
      createdTimestamp: "2026-12-05T10:00:00Z",
      deploymentLog: ["x".repeat(100)],
      stages: [
        {
          name: "S1",
          status: "InProgress",
          properties: { owner: "team" },
          regions: [
            { name: "eastus", status: "Completed", steps: [{ name: "deploy", message: "ok" }], name2: 1 },
            "not a region",
          ],
        },
      ],
      waitActions: [{ actionId: "w1", stage: "S1", status: "Waiting", extra: true }],
    });
    assert.deepStrictEqual(readRolloutJson(text), {
      rolloutId: "r-1",
      ...rolloutIdentity,
      status: "InProgress",
      createdTimestamp: "2026-12-05T10:00:00Z",
      stages: [
        {
          name: "S1",
          status: "InProgress",
          regions: [{ name: "eastus", status: "Completed" }, "not a region"],
        },
      ],
      // Read whole: few, and zod reads them field by field.
      waitActions: [{ actionId: "w1", stage: "S1", status: "Waiting", extra: true }],
    });
  });

  it("reads a repeated key as JSON.parse does (the last one), and other JSON whole", () => {
    const text = '{"status":"Failed","stages":[{"name":"a","regions":[]}],"status":"InProgress","stages":[]}';
    assert.deepStrictEqual(readRolloutJson(text), { status: "InProgress", stages: [] });
    assert.deepStrictEqual(readRolloutJson("[1,2]"), [1, 2]);
    assert.throws(() => readRolloutJson('{"stages":[{"regions":[{"name":"a",}]}]}'), SyntaxError);
  });
});
