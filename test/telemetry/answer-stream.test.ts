import assert from "node:assert/strict";
import { AnswerSyntaxError, QueryAnswerReader } from "../../shared/telemetry/answer-stream";
import { seededRandom } from "../../shared/random";

/** Reads `text` cut into chunks by `cut` (byte counts), as the network would deliver it. */
function read(text: string, sizes: () => number) {
  const rows: unknown[] = [];
  const columns: [number, unknown][] = [];
  const reader = new QueryAnswerReader({
    onRow: (r) => rows.push(r),
    onColumns: (t, c) => columns.push([t, c]),
  });
  const bytes = Buffer.from(text, "utf8");
  for (let at = 0; at < bytes.length;) {
    const size = Math.max(1, sizes());
    reader.write(bytes.subarray(at, at + size));
    at += size;
  }
  return { rows, columns, envelope: reader.end(), reader };
}

const answer = {
  tables: [
    {
      name: "PrimaryResult",
      columns: [
        { name: "AppRoleName", type: "string" },
        { name: "AppVersion", type: "string" },
        { name: "DurationMs", type: "real" },
        { name: "Success", type: "bool" },
        { name: "ItemCount", type: "int" },
      ],
      rows: [
        ["eastus", "2.0.0", 12.5, true, 1],
        ["west]us", 'v"2,[x]', 1e3, false, null],
        ["régión ✓ 😀", "2.0.0\\", 0, "True", 10],
        ['a\\"b', "{}", -0.5e-3, 1, 2],
      ],
    },
    { name: "Other", columns: [{ name: "x", type: "int" }], rows: [[1], [2]] },
  ],
  statistics: { query: { executionTime: 0.1 } },
};

describe("Log Analytics answer read as it arrives", () => {
  const whole = JSON.stringify(answer);
  const spaced = JSON.stringify(answer, null, 2);
  for (const [name, text] of [
    ["compact", whole],
    ["indented", spaced],
  ] as const) {
    for (const [how, sizes] of [
      ["one chunk", () => 1 << 30],
      ["byte by byte", () => 1],
      ["random cuts (multi-byte characters split too)", seededSizes(3)],
    ] as const) {
      it(`${name}, ${how}: the rows of the first table, its columns early, the envelope with rows emptied`, () => {
        const { rows, columns, envelope, reader } = read(text, sizes);
        assert.deepEqual(rows, answer.tables[0].rows);
        assert.deepEqual(columns, [
          [0, answer.tables[0].columns],
          [1, answer.tables[1].columns],
        ]);
        assert.deepEqual(envelope, {
          ...answer,
          tables: answer.tables.map((t) => ({ ...t, rows: [] })),
        });
        assert.equal(reader.rows, 4);
        assert.equal(reader.droppedRows, 2);
      });
    }
  }

  it("an error beside the tables (a partial result) stays in the envelope", () => {
    const partial = {
      tables: [{ name: "t", columns: [], rows: [[1]] }],
      error: { code: "PartialError", message: "m" },
    };
    const { envelope } = read(JSON.stringify(partial), () => 7);
    assert.deepEqual(envelope, { ...partial, tables: [{ name: "t", columns: [], rows: [] }] });
  });

  const broken: [string, RegExp][] = [
    ['{"tables":[{"name":"t","columns":[],"rows":[[1,2]', /ends before its JSON does/],
    ['{"tables":[{"rows":[[1,]]}]}', /row 1 of the answer is not JSON/],
    ['{"tables":[]}{"x":1}', /more than one JSON value|goes on after/],
    ['{"tables":[]]', /unexpected "\]"/],
    ["[1] x", /goes on after its JSON ends/],
    ['"just a string"', /not a JSON object/],
  ];
  for (const [text, says] of broken) {
    it(`refuses ${text}`, () => {
      assert.throws(
        () => read(text, () => 5),
        (err: unknown) => err instanceof AnswerSyntaxError && says.test(err.message),
      );
    });
  }
});

function seededSizes(seed: number): () => number {
  const random = seededRandom(seed);
  return () => 1 + Math.floor(random() * 40);
}
