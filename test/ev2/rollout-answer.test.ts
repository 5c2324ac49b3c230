/**
 * The rollout answer's own reader (parseRolloutAnswer) against zod's reading of the same JSON:
 * the same rollout, field for field and in the same key order, or the same first issue.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseRolloutAnswer } from "../../shared/ev2/rollout-answer";
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
