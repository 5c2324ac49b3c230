/**
 * Checks cards with Microsoft's own Adaptive Cards library (`adaptivecards`), the way a host
 * parses them, and reports what a host would drop or reject:
 * - the library's parse and validation events (unknown element or action types, invalid
 *   values, properties newer than the target version, missing required properties);
 * - properties the schema does not know (the library silently ignores those);
 * - action types outside an allowed list (Teams notifications: `Action.OpenUrl` only).
 *
 * The package's `lib/` build is ESM that Node cannot load, so the UMD bundle is loaded instead;
 * it only needs `window` to exist while parsing (rendering, which needs a DOM, is not used).
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";

interface SchemaProperty {
  name: string;
  objectType?: new () => SerializableObject;
}
interface SerializableObject {
  getSchema(): { getCount(): number; getItemAt(index: number): SchemaProperty };
  getJsonTypeName?(): string;
}
interface ValidationEvent {
  message: string;
}
interface SerializationContext {
  onParseElement?: (element: SerializableObject, source: unknown) => void;
  onParseAction?: (action: SerializableObject, source: unknown) => void;
  eventCount: number;
  getEventAt(index: number): ValidationEvent;
  setActionRegistry(registry: CardObjectRegistry): void;
}
interface CardObjectRegistry {
  getItemCount(): number;
  getItemAt(index: number): {
    typeName: string;
    objectType: new () => SerializableObject;
    schemaVersion?: Version;
  };
  register(typeName: string, objectType: new () => SerializableObject, schemaVersion?: Version): void;
}
interface Version {
  toString(): string;
}
interface AdaptiveCardsModule {
  AdaptiveCard: new () => SerializableObject & {
    parse(json: unknown, context: SerializationContext): void;
    validateProperties(): { validationEvents: ValidationEvent[] };
  };
  SerializationContext: new (targetVersion?: Version) => SerializationContext;
  CardObjectRegistry: new () => CardObjectRegistry;
  GlobalRegistry: { actions: CardObjectRegistry };
  Version: { parse(text: string, context: SerializationContext): Version | undefined };
  Versions: Record<string, Version>;
}

let loaded: AdaptiveCardsModule | undefined;

function adaptiveCards(): AdaptiveCardsModule {
  if (loaded) return loaded;
  const global = globalThis as { window?: unknown };
  const hadWindow = "window" in global;
  global.window ??= globalThis;
  try {
    const require = createRequire(import.meta.url);
    loaded = require("adaptivecards/dist/adaptivecards.js") as AdaptiveCardsModule;
  } finally {
    // Left behind, a global window tells the test files mocha runs next in this process that
    // they are in a browser (azure-devops-node-api then skips its Node-only paths).
    if (!hadWindow) delete global.window;
  }
  return loaded;
}

export interface CardValidationOptions {
  /** The newest Adaptive Cards version the card may use; default "1.4" (what the cards declare). */
  targetVersion?: string;
  /** When set, any other action type is a problem. */
  allowedActionTypes?: readonly string[];
}

// Child collections a type parses itself instead of through its property schema.
const childKeys: Record<string, readonly string[]> = {
  AdaptiveCard: ["body", "actions"],
  Container: ["items"],
  Column: ["items"],
  ColumnSet: ["columns"],
  ActionSet: ["actions"],
  RichTextBlock: ["inlines"],
  "Action.ShowCard": ["card"],
  Table: ["rows"],
  TableRow: ["cells"],
  TableCell: ["items"],
};

/** Every problem a host would have with `card`; empty when it is valid. */
export function adaptiveCardProblems(card: unknown, options: CardValidationOptions = {}): string[] {
  const ac = adaptiveCards();
  const targetText = options.targetVersion ?? "1.4";
  const probe = new ac.SerializationContext();
  const target = ac.Version.parse(targetText, probe);
  if (!target) throw new Error(`Not an Adaptive Cards version: ${targetText}`);
  const problems: string[] = [];

  if (typeof card !== "object" || card === null || Array.isArray(card))
    return ["The card is not a JSON object."];
  const declared = (card as { version?: unknown }).version;
  if (typeof declared !== "string") problems.push('The card has no "version".');
  else if (declared !== targetText)
    problems.push(`The card declares version ${declared}, expected ${targetText}.`);

  const context = new ac.SerializationContext(target);
  if (options.allowedActionTypes) {
    const allowed = new ac.CardObjectRegistry();
    const all = ac.GlobalRegistry.actions;
    for (let i = 0; i < all.getItemCount(); i++) {
      const item = all.getItemAt(i);
      if (options.allowedActionTypes.includes(item.typeName)) {
        allowed.register(item.typeName, item.objectType, item.schemaVersion);
      }
    }
    context.setActionRegistry(allowed);
  }
  const checkKeys = (parsed: SerializableObject, source: unknown) =>
    problems.push(...unknownProperties(parsed, source));
  context.onParseElement = checkKeys;
  context.onParseAction = checkKeys;

  const parsed = new ac.AdaptiveCard();
  parsed.parse(card, context);
  checkKeys(parsed, card);
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const event of parsed.validateProperties().validationEvents) problems.push(event.message);
  return problems;
}

function typeName(parsed: SerializableObject, source: Record<string, unknown>): string {
  return (
    parsed.getJsonTypeName?.() ?? (typeof source.type === "string" ? source.type : parsed.constructor.name)
  );
}

/** Keys of `source` that `parsed`'s schema does not define, recursing into nested plain objects (facts, images...). */
function unknownProperties(parsed: SerializableObject, source: unknown): string[] {
  if (typeof source !== "object" || source === null) return [];
  const json = source as Record<string, unknown>;
  const name = typeName(parsed, json);
  const known = new Map<string, SchemaProperty>();
  const schema = parsed.getSchema();
  for (let i = 0; i < schema.getCount(); i++) known.set(schema.getItemAt(i).name, schema.getItemAt(i));
  const allowed = new Set([...known.keys(), "type", "fallback", ...(childKeys[name] ?? [])]);
  const problems: string[] = [];
  for (const key of Object.keys(json)) {
    if (!allowed.has(key)) problems.push(`Unknown property "${key}" on ${name}.`);
  }
  for (const [key, property] of known) {
    const value = json[key];
    // `requires` maps capability names to versions: any key is valid there.
    if (!property.objectType || value === undefined || key === "requires") continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      problems.push(
        ...unknownProperties(new property.objectType(), item).map((p) =>
          p.replace(/\.$/, ` (in ${name}.${key}).`),
        ),
      );
    }
  }
  return problems;
}

export function assertValidAdaptiveCard(card: unknown, options?: CardValidationOptions): void {
  const problems = adaptiveCardProblems(card, options);
  assert.deepEqual(problems, [], `The Adaptive Card is not valid:\n- ${problems.join("\n- ")}`);
}

/**
 * A Teams Workflows message as TeamsNotify must post it: the envelope, one Adaptive Card 1.4
 * attachment with the schema URL, only `Action.OpenUrl`, and under 28 KB serialised.
 */
export function assertValidTeamsMessage(message: unknown): void {
  const envelope = message as { type?: unknown; attachments?: unknown[] };
  assert.equal(envelope.type, "message", 'The envelope\'s type must be "message".');
  assert.ok(
    Array.isArray(envelope.attachments) && envelope.attachments.length === 1,
    "One attachment expected.",
  );
  const attachment = envelope.attachments[0] as {
    contentType?: unknown;
    contentUrl?: unknown;
    content?: unknown;
  };
  assert.equal(attachment.contentType, "application/vnd.microsoft.card.adaptive");
  assert.equal(attachment.contentUrl, null);
  assert.equal(
    (attachment.content as { $schema?: unknown }).$schema,
    "http://adaptivecards.io/schemas/adaptive-card.json",
  );
  assertValidAdaptiveCard(attachment.content, {
    targetVersion: "1.4",
    allowedActionTypes: ["Action.OpenUrl"],
  });
  const bytes = Buffer.byteLength(JSON.stringify(message), "utf8");
  assert.ok(bytes < 28 * 1024, `The message is ${bytes} bytes: Teams refuses more than 28 KB.`);
}
