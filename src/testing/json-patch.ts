/**
 * A tiny, strict RFC 6902 applier (add / remove / replace) used to check what `diff` returns.
 * Kept independent of the core so a bug there cannot hide itself here.
 */
import type { JsonPatchOperation, JsonValue } from "../core/types.js";

/** Splits an RFC 6901 pointer into unescaped segments. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`bad pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((s) => {
      if (/~[^01]|~$/.test(s)) throw new Error(`bad escape in pointer ${JSON.stringify(pointer)}`);
      return s.replace(/~1/g, "/").replace(/~0/g, "~");
    });
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function arrayIndex(arr: JsonValue[], seg: string, forAdd: boolean): number {
  if (forAdd && seg === "-") return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(seg)) throw new Error(`bad array index ${seg}`);
  const i = Number(seg);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new Error(`array index ${seg} out of range`);
  return i;
}

/** Applies `ops` to a deep copy of `doc` and returns the result; throws on any invalid operation. */
export function applyPatch(doc: JsonValue, ops: readonly JsonPatchOperation[]): JsonValue {
  let root = JSON.parse(JSON.stringify(doc)) as JsonValue;
  for (const op of ops) {
    const segs = parsePointer(op.path);
    if (segs.length === 0) {
      if (op.op === "remove") throw new Error("cannot remove the root");
      root = JSON.parse(JSON.stringify(op.value)) as JsonValue;
      continue;
    }
    let parent: JsonValue = root;
    for (const seg of segs.slice(0, -1)) {
      if (Array.isArray(parent)) parent = parent[arrayIndex(parent, seg, false)] as JsonValue;
      else if (isObject(parent) && Object.hasOwn(parent, seg)) parent = parent[seg] as JsonValue;
      else throw new Error(`path ${op.path} does not exist`);
    }
    const last = segs[segs.length - 1] as string;
    const value = op.op === "remove" ? undefined : (JSON.parse(JSON.stringify(op.value)) as JsonValue);
    if (Array.isArray(parent)) {
      const i = arrayIndex(parent, last, op.op === "add");
      if (op.op === "add") parent.splice(i, 0, value as JsonValue);
      else if (op.op === "remove") parent.splice(i, 1);
      else parent[i] = value as JsonValue;
    } else if (isObject(parent)) {
      if (op.op !== "add" && !Object.hasOwn(parent, last)) throw new Error(`${op.op} of missing ${op.path}`);
      if (op.op === "remove") delete parent[last];
      // Defined, not assigned: a key named __proto__ is a key here too.
      else Object.defineProperty(parent, last, { value, writable: true, enumerable: true, configurable: true });
    } else {
      throw new Error(`path ${op.path} goes through a scalar`);
    }
  }
  return root;
}
