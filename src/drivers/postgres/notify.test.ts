import { describe, expect, it } from "vitest";
import { createNotifier, parseNotice } from "./notify.js";
import type { PgClient, PgResult } from "./pg-module.js";

/** A client that records the notices it is asked to send; the first `failures` sends fail. */
function fakeClients(failures = 0) {
  const sent: string[][] = [];
  let left = failures;
  let release: (() => void) | undefined;
  const gate = { hold: false };
  const make = (): PgClient => ({
    connect: async () => undefined,
    end: async () => undefined,
    on: () => undefined,
    removeAllListeners: () => undefined,
    async query(_text: string, values?: unknown[]): Promise<PgResult> {
      if (gate.hold) await new Promise<void>((r) => (release = r));
      if (left > 0) {
        left--;
        throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" });
      }
      sent.push((values?.[1] as string[]) ?? []);
      return { rows: [], rowCount: 0 };
    },
  });
  return { sent, make, gate, open: () => release?.(), waiting: () => release !== undefined };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await new Promise((r) => setImmediate(r));
  }
}

describe("parseNotice", () => {
  it("reads tenant, context and sequence number, and the sender", () => {
    expect(parseNotice('{"t":"acme","c":"c1","s":7,"o":"node-1"}')).toEqual({
      notice: { tenant: "acme", contextId: "c1", lastSeq: 7 },
      origin: "node-1",
    });
  });

  it("turns an unreadable payload into a re-check of everything", () => {
    expect(parseNotice("not json")).toEqual({ notice: {} });
    expect(parseNotice(undefined)).toEqual({ notice: {} });
  });
});

describe("createNotifier", () => {
  it("coalesces the notices queued while a send is in flight, keeping the newest per context", async () => {
    const f = fakeClients();
    f.gate.hold = true;
    const n = createNotifier({ makeClient: f.make, channel: "ch", origin: "me" });
    n.send({ tenant: "t", contextId: "a", lastSeq: 1 });
    await until(f.waiting);
    f.gate.hold = false;
    n.send({ tenant: "t", contextId: "a", lastSeq: 2 });
    n.send({ tenant: "t", contextId: "a", lastSeq: 3 });
    n.send({ tenant: "t", contextId: "b", lastSeq: 1 });
    f.open();
    await until(() => f.sent.length === 2);
    expect(f.sent[0]?.map((p) => JSON.parse(p) as unknown)).toEqual([{ t: "t", c: "a", s: 1, o: "me" }]);
    expect(f.sent[1]?.map((p) => JSON.parse(p) as unknown)).toEqual([
      { t: "t", c: "a", s: 3, o: "me" },
      { t: "t", c: "b", s: 1, o: "me" },
    ]);
    await n.close();
  });

  it("retries a failed send on a new connection", async () => {
    const f = fakeClients(1);
    const n = createNotifier({ makeClient: f.make, channel: "ch", origin: "me" });
    n.send({ tenant: "t", contextId: "a", lastSeq: 5 });
    await until(() => f.sent.length === 1);
    expect(JSON.parse(f.sent[0]?.[0] ?? "null")).toEqual({ t: "t", c: "a", s: 5, o: "me" });
    await n.close();
  });

  it("ends a connection that was still being made when close() was called", async () => {
    let finishConnect: (() => void) | undefined;
    let ended = 0;
    let queries = 0;
    const n = createNotifier({
      makeClient: (): PgClient => ({
        connect: () => new Promise<void>((r) => (finishConnect = r)),
        end: async () => void ended++,
        on: () => undefined,
        removeAllListeners: () => undefined,
        query: async () => {
          queries++;
          return { rows: [], rowCount: 0 };
        },
      }),
      channel: "ch",
      origin: "me",
      windowMs: 0,
    });
    n.send({ tenant: "t", contextId: "a", lastSeq: 1 });
    await until(() => finishConnect !== undefined);
    const closing = n.close();
    finishConnect?.();
    await closing;
    expect(ended).toBe(1);
    expect(queries).toBe(1); // the queued notice still leaves
  });
});
