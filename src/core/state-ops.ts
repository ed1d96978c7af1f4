/**
 * State writes as operations: what a `state` (or `restore`) event holds, so that any past
 * state can be rebuilt from a checkpoint by replaying the operations after it.
 */
import { ContextError } from "../errors.js";
import { isPlainObject, mergePatch, parsePath, removeAtPath, setAtPath } from "./json.js";
import type { JsonObject, JsonValue } from "./types.js";

/** The data of a `state` or `restore` event. */
export type StateOp =
  | { op: "replace"; value: JsonObject }
  | { op: "merge"; patch: JsonObject }
  | { op: "set"; path: string; value: JsonValue }
  | { op: "remove"; path: string };

/** Applies `op` to `state` (which it may mutate) and returns the new state. */
export function applyStateOp(state: JsonObject, op: StateOp): JsonObject {
  switch (op.op) {
    case "replace":
      return op.value;
    case "merge":
      return mergePatch(state, op.patch) as JsonObject;
    case "set":
      setAtPath(state, parsePath(op.path), op.value);
      return state;
    case "remove":
      removeAtPath(state, parsePath(op.path));
      return state;
  }
}

/** Reads the operation recorded in an event's data; `CORRUPT` when it is not one. */
export function readStateOp(data: JsonValue, seq: number): StateOp {
  if (isPlainObject(data)) {
    const d = data as JsonObject;
    if (d.op === "replace" && isPlainObject(d.value)) return { op: "replace", value: d.value as JsonObject };
    if (d.op === "merge" && isPlainObject(d.patch)) return { op: "merge", patch: d.patch as JsonObject };
    if (d.op === "set" && typeof d.path === "string" && d.value !== undefined) return { op: "set", path: d.path, value: d.value };
    if (d.op === "remove" && typeof d.path === "string") return { op: "remove", path: d.path };
  }
  throw new ContextError("CORRUPT", `event ${seq} does not hold a state operation`, { details: { seq } });
}
