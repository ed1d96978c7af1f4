/**
 * State writes: the guards every write may carry, and the `update` callback that computes the
 * new state inside the driver's transaction (apply the operation, check size and schema).
 */
import { ContextError, invalidInput } from "../errors.js";
import type { CommitResult, Mutation } from "../drivers/driver.js";
import { toContextEvent, type Engine } from "./engine.js";
import { parseEvents } from "./event-input.js";
import { encodeJson, encodeJsonObject } from "./json.js";
import { applyStateOp, type StateOp } from "./state-ops.js";
import { checkId, checkInt, checkOptions, iso } from "./validate.js";
import type { JsonObject, StateWriteOptions, StateWriteResult } from "./types.js";

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
    mutation: {
      ...(o.expectedVersion !== undefined && { expectedVersion: checkInt(o.expectedVersion, "expectedVersion", 1) }),
      ...(o.fencingToken !== undefined && { fencingToken: checkInt(o.fencingToken, "fencingToken", 1) }),
    },
    metadata: encodeJsonObject(o.metadata ?? {}, "metadata", engine.limits.maxMetadataChars),
  };
}

/** Applies `op` as one commit: a `state` (or `restore`) event, then the caller's events. */
export async function writeState(
  e: Engine,
  tenant: string,
  id: string,
  op: StateOp,
  options: StateWriteOptions | undefined,
  type: "state" | "restore",
  extra: JsonObject = {},
): Promise<StateWriteResult> {
  checkId(id, "id");
  const { o, mutation, metadata } = parseWriteGuards(e, options, STATE_WRITE_OPTIONS);
  const data = encodeJson({ ...op, ...extra }, "state", e.limits.maxStateChars + 1024);
  const now = e.now();
  if (o.events !== undefined && !Array.isArray(o.events)) throw invalidInput("options.events", "must be an array of events");
  const events = o.events === undefined ? [] : parseEvents(o.events, now, e.limits, e.tokenCounter);
  e.enter(o);
  const result = await e.run(() =>
    e.driver.commit(tenant, id, {
      now,
      ...mutation,
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
          event: { type, data, metadata, tokens: null, timestamp: now },
          checkpoint: version % e.checkpointEvery === 0,
        };
      },
    }),
  );
  return stateResult(id, result, o.events !== undefined);
}

function stateResult(id: string, r: CommitResult, withEvents: boolean): StateWriteResult {
  const [event, ...rest] = r.events;
  if (r.state === undefined || event === undefined) throw new ContextError("INTERNAL", "the driver returned no state");
  const result: StateWriteResult = { state: r.state, version: r.record.version, seq: event.seq, timestamp: iso(event.timestamp) };
  if (withEvents) result.events = rest.map((ev) => toContextEvent(id, ev));
  return result;
}
