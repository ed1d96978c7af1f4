/**
 * Event data that contextd's own code built and encoded: `append` takes it in place of a
 * plain value and stores its text without walking the value again (`checkJson`) or encoding
 * it a second time. For producers that build JSON values themselves, by construction (the
 * LangGraph saver's json-plus walk), where the store's checks can find nothing to refuse.
 *
 * Not part of the public API (neither `index.ts` nor any entry of package.json exports it):
 * a user's data is always checked. An instance cannot be forged: the constructor refuses
 * callers without this module's private token, and {@link isJsonText} checks a private
 * field, which a look-alike object or a copy from another module instance lacks. Size limits
 * still apply to its text. Over HTTP the client sends its value like any other (the server
 * checks it).
 */
import type { JsonValue } from "./json-types.js";

const TOKEN: unique symbol = Symbol("contextd.jsonText");

/** A JSON value with its text (`JSON.stringify(value)`), made by {@link trustedJsonText} only. */
export class JsonText {
  /** The value; returned as the stored event's data. */
  readonly value: JsonValue;
  /** `JSON.stringify(value)`: what the driver stores. */
  readonly text: string;
  readonly #brand = true;

  /** @internal use {@link trustedJsonText} */
  constructor(token: typeof TOKEN, value: JsonValue, text: string) {
    if (token !== TOKEN) throw new TypeError("JsonText is made by contextd's own code only");
    this.value = value;
    this.text = text;
    void this.#brand;
  }

  /** The value, for code that serializes events itself (the client, a store wrapper). */
  toJSON(): JsonValue {
    return this.value;
  }

  /** True when `value` was made by this class (see {@link isJsonText}). */
  static isOne(value: object): boolean {
    return #brand in value;
  }
}

/**
 * Encodes a value its caller built as JSON exactly — plain objects and dense arrays only,
 * finite numbers, no cycle, at most `MAX_DEPTH` (256) levels — so the store stores it without
 * checking it. Never for a value that came from outside contextd.
 * @throws TypeError when `value` encodes to nothing (`undefined` at the top)
 */
export function trustedJsonText(value: JsonValue): JsonText {
  const text = JSON.stringify(value) as string | undefined;
  if (typeof text !== "string") throw new TypeError("not a JSON value");
  return new JsonText(TOKEN, value, text);
}

/** True for a {@link JsonText} made by {@link trustedJsonText} of this module instance. */
export function isJsonText(value: unknown): value is JsonText {
  return typeof value === "object" && value !== null && JsonText.isOne(value);
}
