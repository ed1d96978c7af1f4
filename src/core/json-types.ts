/**
 * The JSON types. A leaf module (it imports nothing), so drivers can use it without
 * pulling in the engine.
 */

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value (no `undefined`, functions, `NaN`, `Infinity`, `BigInt`, class instances or cycles). */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object: the shape of context state and of metadata. */
export type JsonObject = { [key: string]: JsonValue };
