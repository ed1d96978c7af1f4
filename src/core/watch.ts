/**
 * `watch`: replay the history after a sequence number, then follow it live.
 *
 * Why there is no gap and no duplicate: the watcher subscribes to change notices
 * *before* its first read, and every read asks the driver for `seq > last seen`. A commit
 * that lands while a read is running raises a notice that triggers one more read; events
 * are never taken from the notice itself, only from the table, in seq order.
 */
import type { DriverCall, EventRecord } from "../drivers/driver.js";
import type { Engine } from "./engine.js";
import { toContextEvent } from "./engine.js";
import { contextNotFound, isContextError } from "../errors.js";
import { checkInt, checkOptions } from "./validate.js";
import { createWakeup } from "./wakeup.js";
import type { ContextEvent, WatchOptions } from "./types.js";

const PAGE = 500;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/** Follows the history of `id`; see the module docs. */
export function watchContext(engine: Engine, tenant: string, id: string, input: WatchOptions | undefined): AsyncIterableIterator<ContextEvent> {
  const o = checkOptions<WatchOptions>(input, "options", ["afterSeq", "signal"]);
  const afterSeq = o.afterSeq === undefined ? undefined : checkInt(o.afterSeq, "afterSeq", 0);
  engine.enter(o);
  return run(engine, tenant, id, afterSeq, o.signal);
}

async function* run(
  engine: Engine,
  tenant: string,
  id: string,
  afterSeq: number | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<ContextEvent, void, undefined> {
  const d = engine.driver;
  const wakeup = createWakeup(engine, signal);
  const unsubscribe = d.subscribe((n) => {
    if (n.contextId === undefined || (n.contextId === id && n.tenant === tenant)) wakeup.wake();
  });
  try {
    let last: number | undefined = afterSeq;
    if (last === undefined) {
      const call: DriverCall = { now: engine.now(), signal };
      let record;
      try {
        record = await engine.run(() => d.getContext(tenant, id, call));
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      if (record === null) throw contextNotFound(id);
      last = record.lastSeq;
    }
    let backoffMs = 0;
    for (;;) {
      if (signal?.aborted || engine.closed) return;
      const from: number = last;
      let page: EventRecord[];
      try {
        // Each read takes the clock anew: the context may expire while it is watched.
        const call: DriverCall = { now: engine.now(), signal };
        page = await engine.run(() => d.readEvents(tenant, id, { afterSeq: from, order: "asc", limit: PAGE }, call));
        backoffMs = 0;
      } catch (e) {
        // A read cut short by the caller's signal ends the watch as the signal promises.
        if (signal?.aborted || engine.closed) return;
        // A backend that went away comes back: wait and resume from the last delivered seq,
        // so an outage delays the stream but never ends it or loses an event.
        if (!isContextError(e, "DRIVER_UNAVAILABLE")) throw e;
        backoffMs = Math.min(Math.max(backoffMs * 2, RETRY_MIN_MS), RETRY_MAX_MS);
        const reason = await wakeup.wait(backoffMs);
        if (reason === "aborted" || reason === "closed") return;
        continue;
      }
      for (const e of page) {
        last = e.seq;
        yield toContextEvent(id, e);
        if (signal?.aborted || engine.closed) return;
      }
      if (page.length === PAGE) continue;
      const reason = await wakeup.wait();
      if (reason !== "woken") return;
    }
  } finally {
    unsubscribe();
    wakeup.dispose();
  }
}
