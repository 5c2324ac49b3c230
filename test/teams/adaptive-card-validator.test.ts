import assert from "node:assert/strict";
import {
  adaptiveCardProblems,
  assertValidAdaptiveCard,
  assertValidTeamsMessage,
} from "./adaptive-card-validator";

const valid = {
  type: "AdaptiveCard",
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
  version: "1.4",
  body: [
    {
      type: "Container",
      style: "good",
      bleed: true,
      items: [{ type: "TextBlock", text: "Done", wrap: true, color: "good" }],
    },
    { type: "FactSet", facts: [{ title: "Service", value: "orders-api" }] },
  ],
  actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://example.com" }],
};

/** `valid` with its first body element replaced. */
const withElement = (element: unknown) => ({ ...valid, body: [element, ...valid.body.slice(1)] });

describe("adaptive card validator", () => {
  it("accepts a valid card", () => {
    assert.deepEqual(adaptiveCardProblems(valid, { allowedActionTypes: ["Action.OpenUrl"] }), []);
    assertValidTeamsMessage({
      type: "message",
      attachments: [
        { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: valid },
      ],
    });
  });

  const broken: Array<[string, unknown, RegExp, string[]?]> = [
    ["an unknown element type", withElement({ type: "Fancy", text: "x" }), /Unknown element type "Fancy"/],
    [
      "an invalid property value",
      withElement({ type: "TextBlock", text: "x", color: "purple" }),
      /Invalid value "purple" for property "color"/,
    ],
    [
      "an unknown property",
      withElement({ type: "TextBlock", text: "x", colour: "good" }),
      /Unknown property "colour" on TextBlock/,
    ],
    [
      "an unknown property in a fact",
      { ...valid, body: [{ type: "FactSet", facts: [{ title: "a", text: "b" }] }] },
      /Unknown property "text" on Fact/,
    ],
    [
      "an unknown property on the card",
      { ...valid, msteams: { width: "Full" } },
      /Unknown property "msteams" on AdaptiveCard/,
    ],
    [
      "a property newer than 1.4",
      withElement({ type: "TextBlock", text: "x", style: "heading" }),
      /supported in version 1.5/,
    ],
    [
      "an element newer than 1.4",
      withElement({ type: "Table", columns: [], rows: [] }),
      /Unknown element type "Table"/,
    ],
    [
      "an invalid container style",
      withElement({ type: "Container", style: "loud", items: [] }),
      /Invalid value "loud" for property "style"/,
    ],
    [
      "an action missing its url",
      { ...valid, actions: [{ type: "Action.OpenUrl", title: "x" }] },
      /Property "url" must be set/,
    ],
    ["a version other than 1.4", { ...valid, version: "1.5" }, /declares version 1.5, expected 1.4/],
    ["no version", { ...valid, version: undefined }, /no "version"/],
    [
      "an action type not allowed",
      { ...valid, actions: [{ type: "Action.Submit", title: "Approve", data: {} }] },
      /Unknown action type "Action.Submit"/,
      ["Action.OpenUrl"],
    ],
  ];
  for (const [name, card, expected, allowedActionTypes] of broken) {
    it(`reports ${name}`, () => {
      const problems = adaptiveCardProblems(card, { allowedActionTypes });
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${expected} in ${JSON.stringify(problems)}`,
      );
      assert.throws(
        () => assertValidAdaptiveCard(card, { allowedActionTypes }),
        /The Adaptive Card is not valid/,
      );
    });
  }

  it("rejects an envelope that is not a Teams Workflows message", () => {
    const message = {
      type: "message",
      attachments: [{ contentType: "application/vnd.microsoft.teams.card.o365connector", content: valid }],
    };
    assert.throws(() => assertValidTeamsMessage(message), /application\/vnd.microsoft.card.adaptive/);
  });

  it("rejects a message over 28 KB", () => {
    const big = { ...valid, body: [{ type: "TextBlock", text: "x".repeat(29 * 1024) }] };
    const message = {
      type: "message",
      attachments: [
        { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: big },
      ],
    };
    assert.throws(() => assertValidTeamsMessage(message), /Teams refuses more than 28 KB/);
  });
});
