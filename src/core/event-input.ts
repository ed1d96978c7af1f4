/**
 * Validation of appended events and of history queries.
 */
import { invalidInput } from "../errors.js";
import type { EventRecordInput, EventRecordQuery } from "../drivers/driver.js";
import type { TokenCounter } from "./engine.js";
import { checkJsonChars, encodeJson, encodeJsonObject, isPlainObject } from "./json.js";
import { isJsonText } from "./json-text.js";
import { checkEventType, checkInt, checkOptions, checkText, checkTime, decodeCursor, type StoreLimits } from "./validate.js";
import type { EventInput, EventQuery, JsonValue } from "./types.js";

const EVENT_FIELDS = ["type", "data", "metadata", "tokens", "timestamp"];

/** Validates and encodes events to append; the whole batch is checked before anything is written. */
export function parseEvents(
  input: EventInput | EventInput[],
  now: number,
  limits: StoreLimits,
  tokenCounter: TokenCounter | undefined,
): EventRecordInput[] {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw invalidInput("events", "must contain at least one event");
  if (list.length > limits.maxBatch) {
    throw invalidInput("events", `${list.length} events exceed the batch limit of ${limits.maxBatch}`, { limit: limits.maxBatch });
  }
  const out: EventRecordInput[] = [];
  for (let i = 0; i < list.length; i++) out.push(parseEvent(list[i], Array.isArray(input) ? `events[${i}]` : "event", now, limits, tokenCounter));
  return out;
}

/** One event of {@link parseEvents}; `field` names it in errors. */
function parseEvent(raw: unknown, field: string, now: number, limits: StoreLimits, tokenCounter: TokenCounter | undefined): EventRecordInput {
  if (!isPlainObject(raw)) throw invalidInput(field, "must be an object with a type");
  const e = checkOptions<EventInput>(raw, field, EVENT_FIELDS);
  const type = checkEventType(e.type, `${field}.type`);
  // Data contextd's own code built and encoded (json-text.ts) is stored as it is, size checked.
  const given: unknown = e.data;
  const trusted = isJsonText(given) ? given : undefined;
  const value = (trusted === undefined ? (e.data ?? null) : trusted.value) as JsonValue;
  const data = trusted === undefined ? encodeJson(value, `${field}.data`, limits.maxEventChars) : checkJsonChars(trusted.text, `${field}.data`, limits.maxEventChars);
  const metadata = e.metadata === undefined || e.metadata === null ? "{}" : encodeJsonObject(e.metadata, `${field}.metadata`, limits.maxMetadataChars);
  if (data.length + metadata.length > limits.maxEventChars) {
    throw invalidInput(field, `data and metadata exceed the event limit of ${limits.maxEventChars} characters`, {
      limit: limits.maxEventChars,
    });
  }
  let tokens: number | null = null;
  if (e.tokens !== undefined && e.tokens !== null) tokens = checkInt(e.tokens, `${field}.tokens`, 0);
  else if (tokenCounter) tokens = tokenCounter({ type, data: value });
  const timestamp = e.timestamp === undefined ? now : checkTime(e.timestamp, `${field}.timestamp`);
  return { type, data, metadata, tokens, timestamp, values: { data: value, metadata: e.metadata ?? {} } };
}

/** Validates a history query; `paged` allows order, limit and cursor. */
export function parseEventQuery(
  query: EventQuery | undefined,
  paged: boolean,
): { q: EventRecordQuery; limit: number; cursorSeq: number | undefined } {
  const allowed = ["afterSeq", "beforeSeq", "since", "until", "types", "signal"];
  if (paged) allowed.push("order", "limit", "cursor");
  const o = checkOptions<EventQuery>(query, "query", allowed);
  const order = o.order ?? "asc";
  if (order !== "asc" && order !== "desc") throw invalidInput("order", 'must be "asc" or "desc"');
  const limit = o.limit === undefined ? 100 : checkInt(o.limit, "limit", 1, 10_000);
  let types: string[] | undefined;
  if (o.types !== undefined) {
    if (!Array.isArray(o.types) || o.types.length === 0 || o.types.length > 100) {
      throw invalidInput("types", "must be a non-empty array of at most 100 event types");
    }
    types = o.types.map((t, i) => checkText(t, `types[${i}]`, 128));
  }
  let cursorSeq: number | undefined;
  if (o.cursor !== undefined) {
    const text = decodeCursor(o.cursor);
    cursorSeq = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(cursorSeq)) throw invalidInput("cursor", "must be the nextCursor of a previous page");
  }
  const q: EventRecordQuery = {
    order,
    limit,
    ...(o.afterSeq !== undefined && { afterSeq: checkInt(o.afterSeq, "afterSeq", 0) }),
    ...(o.beforeSeq !== undefined && { beforeSeq: checkInt(o.beforeSeq, "beforeSeq", 1) }),
    ...(o.since !== undefined && { since: checkTime(o.since, "since") }),
    ...(o.until !== undefined && { until: checkTime(o.until, "until") }),
    ...(types !== undefined && { types }),
  };
  return { q, limit, cursorSeq };
}
