/**
 * Reading the history: pages by sequence number, time and type, with cursors; counts.
 */
import { toContextEvent, type Engine } from "./engine.js";
import { parseEventQuery } from "./event-input.js";
import { encodeCursor } from "./validate.js";
import type { ContextEvent, EventQuery, Page } from "./types.js";

/** One page of events; the cursor continues after the last one in the query's order. */
export async function readEventPage(engine: Engine, tenant: string, id: string, query: EventQuery | undefined): Promise<Page<ContextEvent>> {
  const { q, limit, cursorSeq } = parseEventQuery(query, true);
  const call = engine.begin(query);
  if (cursorSeq !== undefined) {
    if (q.order === "asc") q.afterSeq = Math.max(q.afterSeq ?? 0, cursorSeq);
    else q.beforeSeq = Math.min(q.beforeSeq ?? Number.MAX_SAFE_INTEGER, cursorSeq);
  }
  q.limit = limit + 1;
  const rows = await engine.run(() => engine.driver.readEvents(tenant, id, q, call));
  const items = rows.slice(0, limit).map((ev) => toContextEvent(id, ev));
  const lastItem = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && lastItem ? encodeCursor(String(lastItem.seq)) : null };
}

/** How many events match the filters. */
export async function countEvents(
  engine: Engine,
  tenant: string,
  id: string,
  query: Omit<EventQuery, "limit" | "cursor" | "order"> | undefined,
): Promise<number> {
  const { q } = parseEventQuery(query, false);
  const call = engine.begin(query);
  const { order: _order, limit: _limit, ...filter } = q;
  return engine.run(() => engine.driver.countEvents(tenant, id, filter, call));
}
