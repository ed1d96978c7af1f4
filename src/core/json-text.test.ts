import { describe, expect, it } from "vitest";
import { isContextError } from "../errors.js";
import { inMemoryDriver } from "../drivers/in-memory/driver.js";
import { createStore } from "../open.js";
import { wireEvent } from "../client/wire.js";
import { JsonText, isJsonText, trustedJsonText } from "./json-text.js";
import type { JsonValue } from "./types.js";

const value = { c: "messages", n: 2, items: [{ lc: 1, kwargs: { content: "hi \u2028 \ud800" } }, null] };

describe("trusted JSON text", () => {
  it("holds the value and its JSON.stringify text", () => {
    const t = trustedJsonText(value);
    expect(isJsonText(t)).toBe(true);
    expect(t.value).toBe(value);
    expect(t.text).toBe(JSON.stringify(value));
    expect(JSON.stringify({ data: t })).toBe(JSON.stringify({ data: value }));
  });

  it("cannot be forged: no constructor call, look-alike or prototype copy passes", () => {
    const t = trustedJsonText(value);
    const Ctor = t.constructor as new (...a: unknown[]) => JsonText;
    expect(() => new Ctor(Symbol("contextd.jsonText"), { evil: true }, "{}")).toThrow(TypeError);
    expect(isJsonText({ value, text: "{}" })).toBe(false);
    expect(isJsonText(Object.create(JsonText.prototype))).toBe(false);
    expect(isJsonText({ ...t })).toBe(false);
    expect(isJsonText(null)).toBe(false);
  });

  it("refuses a value that encodes to nothing", () => {
    expect(() => trustedJsonText(undefined as unknown as JsonValue)).toThrow(TypeError);
  });

  it("append stores its text and returns its value; a forged copy is refused as not JSON", async () => {
    const store = await createStore(inMemoryDriver());
    const ctx = await store.createContext({});
    const [e] = await store.append(ctx.id, { type: "lg.items", data: trustedJsonText(value) as unknown as JsonValue });
    expect(e?.data).toEqual(value);
    const read = await store.readEvents(ctx.id);
    expect(read.items[0]?.data).toEqual(value);
    const forged = Object.assign(Object.create(JsonText.prototype) as object, { value: {}, text: "{}" });
    const err = await store.append(ctx.id, { type: "m", data: { x: forged } as unknown as JsonValue }).catch((x: unknown) => x);
    expect(isContextError(err, "INVALID_INPUT")).toBe(true);
    expect((err as { details: { path: string } }).details.path).toBe("/x");
    await store.close();
  });

  it("append still holds its text to the event size limit", async () => {
    const store = await createStore(inMemoryDriver(), { limits: { maxEventChars: 100 } });
    const ctx = await store.createContext({});
    const big = trustedJsonText({ s: "x".repeat(200) }) as unknown as JsonValue;
    const err = await store.append(ctx.id, { type: "m", data: big }).catch((x: unknown) => x);
    expect(isContextError(err, "INVALID_INPUT")).toBe(true);
    expect((err as { details: { field: string; limit: number } }).details).toMatchObject({ field: "event.data", limit: 100 });
    await store.close();
  });

  it("the client sends its value, for the server to check", () => {
    const wired = wireEvent({ type: "m", data: trustedJsonText(value) }, "event");
    expect(wired.data).toBe(value);
  });
});
