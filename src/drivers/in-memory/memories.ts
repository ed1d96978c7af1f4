/**
 * The long-term memory area of the in-memory driver: the reference implementation of
 * `MemoryArea` (see drivers/memory-area.ts). Each call runs synchronously to completion, so
 * every call is atomic and tenant revs follow call order.
 */
import { ContextError, VersionConflictError } from "../../errors.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import { expiredAt } from "../memory-area.js";
import type { MemoryAdd, MemoryArea, MemoryContent, MemoryRecord, MemoryVersionRecord } from "../memory-area.js";

interface Stored {
  record: Omit<MemoryRecord, "value" | "metadata" | "vector">;
  valueJson: string;
  metadataJson: string;
  vector: Float32Array | null;
  scopeKey: string;
  textHash: string;
}

interface TenantMemories {
  rev: number;
  /** Every memory and tombstone; re-inserted on each write, so iteration order is rev order. */
  byId: Map<string, Stored>;
  /** Live memories by scope key and text hash. */
  byText: Map<string, string>;
  versions: Map<string, MemoryVersionRecord[]>;
}

const parse = <T>(text: string): T => JSON.parse(text) as T;

function toRecord(s: Stored): MemoryRecord {
  return {
    ...s.record,
    namespace: [...s.record.namespace],
    tags: [...s.record.tags],
    value: parse<JsonValue | null>(s.valueJson),
    metadata: parse<JsonObject>(s.metadataJson),
    vector: s.vector === null ? null : new Float32Array(s.vector),
  };
}

function versionOf(s: Stored, op: MemoryVersionRecord["op"], actor: string | null, at: number): MemoryVersionRecord {
  return {
    memoryId: s.record.id,
    version: s.record.version,
    op,
    text: s.record.text,
    value: parse<JsonValue | null>(s.valueJson),
    metadata: parse<JsonObject>(s.metadataJson),
    tags: [...s.record.tags],
    importance: s.record.importance,
    expiresAt: s.record.expiresAt,
    actor,
    at,
  };
}

const textKey = (scopeKey: string, textHash: string) => `${scopeKey}\u0000${textHash}`;

/** Applies `content` to a stored memory (not its version, rev or time). */
function setContent(s: Stored, c: MemoryContent): void {
  s.record.text = c.text;
  s.record.tags = [...c.tags];
  s.record.importance = c.importance;
  s.record.expiresAt = c.expiresAt;
  s.record.ttlMs = c.ttlMs;
  s.record.model = c.model;
  s.valueJson = c.valueJson;
  s.metadataJson = c.metadataJson;
  s.vector = c.vector === null ? null : new Float32Array(c.vector);
  s.textHash = c.textHash;
}

/** The memory area over maps of the driver's own. */
export function inMemoryMemories(): MemoryArea {
  const tenants = new Map<string, TenantMemories>();
  const of = (tenant: string): TenantMemories => {
    let t = tenants.get(tenant);
    if (t === undefined) tenants.set(tenant, (t = { rev: 0, byId: new Map(), byText: new Map(), versions: new Map() }));
    return t;
  };
  /** Bumps the rev of a changed memory and moves it to the end of the rev order. */
  const touch = (t: TenantMemories, s: Stored): void => {
    s.record.rev = ++t.rev;
    t.byId.delete(s.record.id);
    t.byId.set(s.record.id, s);
  };
  const live = (t: TenantMemories | undefined, id: string): Stored | undefined => {
    const s = t?.byId.get(id);
    return s === undefined || s.record.deleted ? undefined : s;
  };
  /** Purged content leaves no trace; the tombstone keeps its version and time. */
  const purgeOne = (t: TenantMemories, s: Stored): void => {
    if (!s.record.deleted) {
      t.byText.delete(textKey(s.scopeKey, s.textHash));
      s.record.deleted = true;
    }
    setContent(s, { ...emptyContent, textHash: "" });
    t.versions.delete(s.record.id);
    touch(t, s);
  };

  return {
    async add(tenant, memories: MemoryAdd[], actor, call) {
      const t = of(tenant);
      // Check everything first: the batch lands whole or not at all.
      const ids = new Set<string>();
      for (const m of memories) {
        if (t.byId.has(m.id) || ids.has(m.id)) {
          throw new ContextError("ALREADY_EXISTS", `memory ${m.id} already exists`, { details: { memoryId: m.id } });
        }
        ids.add(m.id);
      }
      const out: { record: MemoryRecord; created: boolean }[] = [];
      const createdInBatch = new Map<string, Stored>();
      for (const m of memories) {
        const key = textKey(m.scopeKey, m.textHash);
        const existingId = t.byText.get(key);
        const existing = existingId === undefined ? createdInBatch.get(key) : live(t, existingId);
        if (existing !== undefined && !expiredAt(existing.record.expiresAt, call.now)) {
          out.push({ record: toRecord(existing), created: false });
          continue;
        }
        // An expired memory no longer holds its text: it is purged here, as purgeMemories would.
        if (existing !== undefined) purgeOne(t, existing);
        const s: Stored = {
          record: {
            id: m.id,
            tenant,
            userId: m.userId,
            agentId: m.agentId,
            contextId: m.contextId,
            namespace: [...m.namespace],
            text: m.text,
            tags: [...m.tags],
            importance: m.importance,
            sourceContextId: m.sourceContextId,
            sourceSeq: m.sourceSeq,
            createdAt: call.now,
            updatedAt: call.now,
            expiresAt: m.expiresAt,
            ttlMs: m.ttlMs,
            version: 1,
            rev: 0,
            deleted: false,
            model: m.model,
          },
          valueJson: m.valueJson,
          metadataJson: m.metadataJson,
          vector: m.vector === null ? null : new Float32Array(m.vector),
          scopeKey: m.scopeKey,
          textHash: m.textHash,
        };
        touch(t, s);
        t.byText.set(key, m.id);
        t.versions.set(m.id, [versionOf(s, "add", actor, call.now)]);
        createdInBatch.set(key, s);
        out.push({ record: toRecord(s), created: true });
      }
      return out;
    },

    async get(tenant, id) {
      const s = live(tenants.get(tenant), id);
      return s === undefined ? null : toRecord(s);
    },

    async update(tenant, id, change, call) {
      const t = of(tenant);
      const s = live(t, id);
      if (s === undefined) throw new ContextError("NOT_FOUND", `memory ${id} does not exist`, { details: { memoryId: id } });
      if (change.expectedVersion !== undefined && change.expectedVersion !== s.record.version) {
        throw new VersionConflictError(id, change.expectedVersion, s.record.version);
      }
      const newKey = textKey(s.scopeKey, change.content.textHash);
      const holderId = t.byText.get(newKey);
      const holder = holderId === undefined || holderId === id ? undefined : live(t, holderId);
      if (holder !== undefined && !expiredAt(holder.record.expiresAt, call.now)) {
        throw new ContextError("ALREADY_EXISTS", `memory ${holderId} of the same scope already has this text`, {
          details: { memoryId: id, existingId: holderId },
        });
      }
      if (holder !== undefined) purgeOne(t, holder);
      t.byText.delete(textKey(s.scopeKey, s.textHash));
      setContent(s, change.content);
      t.byText.set(newKey, id);
      s.record.version += 1;
      s.record.updatedAt = call.now;
      touch(t, s);
      t.versions.get(id)?.push(versionOf(s, change.op, change.actor, call.now));
      return toRecord(s);
    },

    async refresh(tenant, id, expiresAt) {
      const t = tenants.get(tenant);
      const s = live(t, id);
      if (t === undefined || s === undefined) return null;
      s.record.expiresAt = expiresAt;
      touch(t, s);
      return toRecord(s);
    },

    async delete(tenant, id, guard, call) {
      const t = tenants.get(tenant);
      const s = live(t, id);
      if (t === undefined || s === undefined) return false;
      if (guard.expectedVersion !== undefined && guard.expectedVersion !== s.record.version) {
        throw new VersionConflictError(id, guard.expectedVersion, s.record.version);
      }
      t.byText.delete(textKey(s.scopeKey, s.textHash));
      s.record.version += 1;
      t.versions.get(id)?.push(versionOf(s, "delete", guard.actor, call.now));
      s.record.deleted = true;
      s.record.updatedAt = call.now;
      setContent(s, { ...emptyContent, textHash: "" });
      touch(t, s);
      return true;
    },

    async history(tenant, id) {
      return (tenants.get(tenant)?.versions.get(id) ?? []).map((v) => ({ ...v, tags: [...v.tags] }));
    },

    async changes(tenant, afterRev, limit) {
      const t = tenants.get(tenant);
      if (t === undefined || afterRev >= t.rev) return [];
      const out: MemoryRecord[] = [];
      for (const s of t.byId.values()) {
        if (s.record.rev > afterRev) out.push(toRecord(s));
        if (out.length >= limit) break;
      }
      return out;
    },

    async setVector(tenant, id, version, model, vector) {
      const t = tenants.get(tenant);
      const s = live(t, id);
      if (t === undefined || s === undefined || s.record.version !== version) return false;
      s.record.model = model;
      s.vector = new Float32Array(vector);
      touch(t, s);
      return true;
    },

    async purge(tenant, ids) {
      const t = tenants.get(tenant);
      if (t === undefined) return 0;
      let n = 0;
      for (const id of ids) {
        const s = t.byId.get(id);
        if (s === undefined) continue;
        if (!s.record.deleted) n++;
        purgeOne(t, s);
      }
      return n;
    },
  };
}

const emptyContent: Omit<MemoryContent, "textHash"> = {
  text: "",
  valueJson: "null",
  metadataJson: "{}",
  tags: [],
  importance: 0,
  expiresAt: null,
  ttlMs: null,
  model: null,
  vector: null,
};
