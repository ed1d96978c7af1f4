/**
 * The working-memory area of the in-memory driver: the reference implementation of
 * `BlockArea` (see drivers/block-area.ts). Each call runs synchronously to completion, so
 * every write is atomic and writes of one block are serialised.
 */
import { blockConflict, parsedContent } from "../block-area.js";
import type { BlockArea, BlockContent, BlockKey, BlockRecord, BlockVersionRecord } from "../block-area.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";

interface Stored {
  label: string;
  content: BlockContent;
  version: number;
  deleted: boolean;
  createdAt: number;
  updatedAt: number;
  updatedBy: string | null;
  /** Each version's content as JSON text, parsed when read (a caller cannot change what is stored). */
  versions: { version: number; op: BlockVersionRecord["op"]; content: BlockContent; actor: string | null; at: number }[];
}

// Scope and label joined by NUL, which neither an id nor a label can hold.
const scopeKey = (tenant: string, key: BlockKey) => `${tenant}\u0000${key.kind}\u0000${key.id}`;

function toRecord(key: BlockKey, s: Stored): BlockRecord {
  const c = parsedContent(s.content);
  return {
    key: { ...key },
    label: s.label,
    description: c.description,
    value: c.value,
    schema: c.schema,
    limitChars: c.limitChars,
    limitTokens: c.limitTokens,
    version: s.version,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    updatedBy: s.updatedBy,
  };
}

/** The block area over maps of the driver's own. */
export function inMemoryBlocks(): BlockArea {
  const scopes = new Map<string, Map<string, Stored>>();
  const of = (tenant: string, key: BlockKey): Map<string, Stored> => {
    const k = scopeKey(tenant, key);
    let m = scopes.get(k);
    if (m === undefined) scopes.set(k, (m = new Map()));
    return m;
  };
  const live = (tenant: string, key: BlockKey, label: string): Stored | undefined => {
    const s = scopes.get(scopeKey(tenant, key))?.get(label);
    return s === undefined || s.deleted ? undefined : s;
  };

  return {
    async list(tenant, key) {
      const m = scopes.get(scopeKey(tenant, key));
      if (m === undefined) return [];
      return [...m.values()]
        .filter((s) => !s.deleted)
        .sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
        .map((s) => toRecord(key, s));
    },

    async get(tenant, key, label) {
      const s = live(tenant, key, label);
      return s === undefined ? null : toRecord(key, s);
    },

    async write(tenant, key, label, change, call) {
      const m = of(tenant, key);
      const stored = m.get(label);
      const current = stored === undefined || stored.deleted ? null : stored;
      const actual = current?.version ?? 0;
      if (change.ifVersion !== undefined && change.ifVersion !== actual) throw blockConflict(key, label, change.ifVersion, actual);
      const content = change.update(current === null ? null : toRecord(key, current));
      const s: Stored = stored ?? { label, content, version: 0, deleted: false, createdAt: call.now, updatedAt: call.now, updatedBy: null, versions: [] };
      if (current === null) s.createdAt = call.now;
      s.content = content;
      s.version += 1;
      s.deleted = false;
      s.updatedAt = call.now;
      s.updatedBy = change.actor;
      s.versions.push({ version: s.version, op: change.op, content, actor: change.actor, at: call.now });
      m.set(label, s);
      return toRecord(key, s);
    },

    async delete(tenant, key, label, guard, call) {
      const s = live(tenant, key, label);
      if (s === undefined) return false;
      if (guard.ifVersion !== undefined && guard.ifVersion !== s.version) throw blockConflict(key, label, guard.ifVersion, s.version);
      s.version += 1;
      s.deleted = true;
      s.updatedAt = call.now;
      s.updatedBy = guard.actor;
      s.versions.push({ version: s.version, op: "delete", content: s.content, actor: guard.actor, at: call.now });
      return true;
    },

    async history(tenant, key, label, page) {
      const s = scopes.get(scopeKey(tenant, key))?.get(label);
      const after = (s?.versions ?? []).filter((v) => v.version > page.afterVersion);
      return (page.limit === null ? after : after.slice(0, page.limit)).map((v) => {
        const c = parsedContent(v.content);
        return { label, version: v.version, op: v.op, ...c, value: c.value as JsonValue, schema: c.schema as JsonObject | null, actor: v.actor, at: v.at };
      });
    },
  };
}
