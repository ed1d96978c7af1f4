/**
 * The context an append committed to, kept beside the events it returns: embedded stores
 * attach it to the array `append` resolves with (a non-enumerable symbol property, not part of
 * the public types); the HTTP client does not. Integrations that must tell a context from one
 * deleted and created again under the same id (the LangGraph saver) read it instead of a
 * `getContext` after each append: it is the context's row as of the append's own transaction.
 */
import type { ContextRecord } from "../drivers/driver.js";
import type { ContextEvent, ContextInfo } from "./types.js";
import { iso } from "./validate.js";

const COMMITTED: unique symbol = Symbol("contextd.committed");

/** Attaches `record` (the context as the append left it) to the append's events. */
export function withCommitted(events: ContextEvent[], record: ContextRecord): ContextEvent[] {
  Object.defineProperty(events, COMMITTED, { value: record });
  return events;
}

/**
 * What an append's events say of the context they were committed to — its metadata, creation
 * time and last seq, as `getContext` would give them right after the append — or undefined
 * when the store did not attach it (the HTTP client, a wrapper that copied the array).
 */
export function committedContext(events: readonly ContextEvent[]): Pick<ContextInfo, "metadata" | "createdAt" | "lastSeq"> | undefined {
  const r = (events as { [COMMITTED]?: ContextRecord })[COMMITTED];
  if (r === undefined) return undefined;
  return {
    metadata: r.metadata,
    lastSeq: r.lastSeq,
    // Formatted when read: most callers want the metadata only (and a time of another second
    // than the events' would make `iso` format both again).
    get createdAt() {
      return iso(r.createdAt);
    },
  };
}
