/**
 * State writes: the guards every write may carry, and the `update` callback that computes the
 * new state inside the driver's transaction (apply the operation, check size and schema).
 */
import { ContextError, invalidInput } from "../errors.js";
import type { CommitResult, EventRecord, Mutation } from "../drivers/driver.js";
import { toContextEvent, type Engine } from "./engine.js";
import { parseEvents } from "./event-input.js";
import { copyEncodeJson, copyEncodeJsonObject, encodeJson, encodeJsonObject, MAX_DEPTH } from "./json.js";
import { applyStateOp, type StateOp } from "./state-ops.js";
import { checkId, checkInt, checkOptions, iso } from "./validate.js";
import type { ContextEvent, JsonObject, JsonValue, StateWriteOptions, StateWriteResult } from "./types.js";

/** The options of `append`. */
export const WRITE_OPTIONS = ["expectedVersion", "fencingToken", "metadata", "signal"] as const;
/** The options of state writes. */
export const STATE_WRITE_OPTIONS = [...WRITE_OPTIONS, "events"] as const;

/** Validates the guards of a write (and, for state writes, its event metadata). */
export function parseWriteGuards(
  engine: Engine,
  options: StateWriteOptions | undefined,
  allowed: readonly string[],
): { mutation: Pick<Mutation, "expectedVersion" | "fencingToken">; metadata: string; o: StateWriteOptions } {
  const o = checkOptions<StateWriteOptions>(options, "options", allowed);
  return {
    o,
    // Both keys always (undefined when not given): one object shape for every write.
    mutation: {
      expectedVersion: o.expectedVersion === undefined ? undefined : checkInt(o.expectedVersion, "expectedVersion", 1),
      fencingToken: o.fencingToken === undefined ? undefined : checkInt(o.fencingToken, "fencingToken", 1),
    },
    metadata: o.metadata === undefined ? "{}" : encodeJsonObject(o.metadata, "metadata", engine.limits.maxMetadataChars),
  };
}

/**
 * An operation whose value the caller validated and encoded once: `op` holds a private copy
 * made while the value was checked (so the caller's later mutations cannot change the write),
 * and `data` is the text of the `state` event, built around the copy's text.
 */
export interface EncodedOp {
  op: StateOp;
  data: string;
}

/** `{ op: "replace", value }` from the caller's state, encoded once. */
export function replaceOp(e: Engine, state: unknown): EncodedOp {
  const { value, text } = copyEncodeJsonObject(state, "state", e.limits.maxStateChars);
  return { op: { op: "replace", value }, data: `{"op":"replace","value":${text}}` };
}

/** `{ op: "merge", patch }` from the caller's RFC 7396 patch, encoded once. */
export function mergeOp(e: Engine, patch: unknown): EncodedOp {
  const { value, text } = copyEncodeJsonObject(patch, "patch", e.limits.maxStateChars);
  return { op: { op: "merge", patch: value }, data: `{"op":"merge","patch":${text}}` };
}

/** `{ op: "set", path, value }` from a JSON Pointer and the caller's value, encoded once. */
export function setOp(e: Engine, pointer: string, depth: number, value: unknown): EncodedOp {
  // The state stays within MAX_DEPTH levels: the value sits `depth` levels down.
  const copy = copyEncodeJson(value, "value", e.limits.maxStateChars, MAX_DEPTH - depth);
  const path = JSON.stringify(pointer);
  return { op: { op: "set", path: pointer, value: copy.value }, data: `{"op":"set","path":${path},"value":${copy.text}}` };
}

/** Applies `op` as one commit: a `state` (or `restore`) event, then the caller's events. */
export async function writeState(
  e: Engine,
  tenant: string,
  id: string,
  encoded: EncodedOp | { op: StateOp; extra?: JsonObject },
  options: StateWriteOptions | undefined,
  type: "state" | "restore",
): Promise<StateWriteResult> {
  checkId(id, "id");
  const { o, mutation, metadata } = parseWriteGuards(e, options, STATE_WRITE_OPTIONS);
  const op = encoded.op;
  const data = "data" in encoded ? encoded.data : encodeJson({ ...op, ...encoded.extra }, "state", e.limits.maxStateChars + 1024, MAX_DEPTH + 1);
  if (o.events !== undefined && !Array.isArray(o.events)) throw invalidInput("options.events", "must be an array of events");
  const call = e.begin(o);
  const now = call.now;
  const events = o.events === undefined ? [] : parseEvents(o.events, now, e.limits, e.tokenCounter);
  // An encoded op's `op` is the value of its event's data (its text is the copy's), so the
  // driver need not parse the data back; the state event's data is not returned to the caller.
  const values = "data" in encoded ? { data: op as unknown as JsonValue, metadata: metadata === "{}" ? {} : (JSON.parse(metadata) as JsonObject) } : undefined;
  let result: CommitResult;
  try {
    // Awaited here, not through Engine.run (one async frame less on the agent's hot path).
    // A literal with every key, not a spread: V8 (Node 20) gives `{ ...a, b }` a new hidden
    // class on every call, which turns every property read of the mutation in the driver into
    // a cache miss.
    result = await e.driver.commit(tenant, id, {
      events,
      update: (head) => {
        const state = applyStateOp(head.state, op);
        const stateJson = JSON.stringify(state);
        if (stateJson.length > e.limits.maxStateChars) {
          throw invalidInput("state", `${stateJson.length} characters of JSON exceed the limit of ${e.limits.maxStateChars}`, {
            size: stateJson.length,
            limit: e.limits.maxStateChars,
          });
        }
        if (head.schema) e.schemas.check(tenant, head.schema, state);
        const version = head.record.version + 1;
        return {
          state,
          stateJson,
          event: { type, data, metadata, tokens: null, timestamp: now, values }, // `values` always a key: one object shape
          checkpoint: version % e.checkpointEvery === 0,
        };
      },
      expectedVersion: mutation.expectedVersion,
      fencingToken: mutation.fencingToken,
    }, call);
  } catch (err) {
    throw e.driverError(err);
  }
  return stateResult(id, result, o.events !== undefined);
}

function stateResult(id: string, r: CommitResult, withEvents: boolean): StateWriteResult {
  const all = r.events;
  const event = all[0];
  if (r.state === undefined || event === undefined) throw new ContextError("INTERNAL", "the driver returned no state");
  const result: StateWriteResult = { state: r.state, version: r.record.version, seq: event.seq, timestamp: iso(event.timestamp) };
  if (withEvents) {
    // The caller's events follow the state event.
    const events: ContextEvent[] = [];
    for (let i = 1; i < all.length; i++) events.push(toContextEvent(id, all[i] as EventRecord));
    result.events = events;
  }
  return result;
}
