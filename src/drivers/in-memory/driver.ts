/**
 * The in-memory driver: the reference implementation of the driver contract, and the
 * fastest store for tests. Every method runs synchronously to completion, so each call is
 * atomic in one process. Nothing survives the process.
 */
import { ContextError, VersionConflictError, contextNotFound, hasForks } from "../../errors.js";
import type { JsonObject, JsonValue } from "../../core/json-types.js";
import { compareHits, searchScore, searchTerms } from "../../core/words.js";
import { inMemoryMemories } from "./memories.js";
import { inMemoryBlocks } from "./blocks.js";
import type {
  ActiveSlot,
  ChangeNotice,
  CommitResult,
  ContextPatch,
  ContextQuery,
  ContextRecord,
  Driver,
  DriverCall,
  EventRecord,
  EventRecordInput,
  EventRecordQuery,
  EventSearch,
  EventSearchHit,
  LeaseRecord,
  Mutation,
  SchemaRecord,
  SnapshotRecord,
  StateUpdate,
} from "../driver.js";

interface StoredEvent {
  seq: number;
  type: string;
  timestamp: number;
  data: string;
  metadata: string;
  tokens: number | null;
  version: number | null;
  /** The words of `data` with their counts, computed by the first search that reads the event. */
  terms?: Map<string, number>;
}

interface StoredSnapshot {
  name: string;
  label: string | null;
  metadata: string;
  version: number;
  seq: number;
  stateJson: string;
  createdAt: number;
}

/**
 * Part of an ancestor's history that a fork reads as its own: the ancestor's events with
 * `after < seq <= upto`, and its states up to `uptoVersion`. A fork holds one per ancestor
 * that contributes events (flattened: a fork of a fork lists its grandparent too), nearest first.
 */
interface Segment {
  entry: Entry;
  after: number;
  upto: number;
  uptoVersion: number;
}

interface Entry {
  record: ContextRecord;
  lineage: Segment[];
  metadataJson: string;
  stateJson: string;
  events: StoredEvent[];
  checkpoints: { version: number; stateJson: string }[];
  snapshots: Map<string, StoredSnapshot>;
  lease: { holder: string | null; token: number; expiresAt: number } | null;
}

/** Options of {@link inMemoryDriver} (none yet; reserved). */
export type InMemoryDriverOptions = Record<string, never>;

const parse = <T>(text: string): T => JSON.parse(text) as T;

function toEvent(e: StoredEvent): EventRecord {
  return {
    seq: e.seq,
    type: e.type,
    timestamp: e.timestamp,
    data: parse<JsonValue>(e.data),
    metadata: parse<JsonObject>(e.metadata),
    tokens: e.tokens,
    version: e.version,
  };
}

function toSnapshot(s: StoredSnapshot): SnapshotRecord {
  return {
    name: s.name,
    label: s.label,
    metadata: parse<JsonObject>(s.metadata),
    version: s.version,
    seq: s.seq,
    state: parse<JsonObject>(s.stateJson),
    createdAt: s.createdAt,
  };
}

function matches(e: StoredEvent, q: Omit<EventRecordQuery, "order" | "limit">): boolean {
  if (q.afterSeq !== undefined && e.seq <= q.afterSeq) return false;
  if (q.beforeSeq !== undefined && e.seq >= q.beforeSeq) return false;
  if (q.since !== undefined && e.timestamp < q.since) return false;
  if (q.until !== undefined && e.timestamp > q.until) return false;
  if (q.types !== undefined && !q.types.includes(e.type)) return false;
  if (q.minVersion !== undefined && (e.version === null || e.version <= q.minVersion)) return false;
  if (q.maxVersion !== undefined && (e.version === null || e.version > q.maxVersion)) return false;
  return true;
}

/**
 * The in-memory reference driver.
 * @example
 * ```ts
 * const store = await createStore(inMemoryDriver());
 * ```
 */
export function inMemoryDriver(_options: InMemoryDriverOptions = {}): Driver {
  const tenants = new Map<string, Map<string, Entry>>();
  const activeContexts = new Map<string, string>();
  const schemas = new Map<string, Map<string, { json: string; revision: number; updatedAt: number }>>();
  const listeners = new Set<(n: ChangeNotice) => void>();
  let schemaRevision = 0;

  const notify = (n: ChangeNotice) => {
    for (const l of [...listeners]) l(n);
  };
  const entries = (tenant: string) => {
    let m = tenants.get(tenant);
    if (!m) tenants.set(tenant, (m = new Map()));
    return m;
  };
  const visible = (e: Entry | undefined, now: number): e is Entry =>
    e !== undefined && (e.record.expiresAt === null || e.record.expiresAt > now);
  const find = (tenant: string, id: string, now: number): Entry | null => {
    const e = tenants.get(tenant)?.get(id);
    return visible(e, now) ? e : null;
  };
  const need = (tenant: string, id: string, now: number): Entry => {
    const e = find(tenant, id, now);
    if (!e) throw contextNotFound(id);
    return e;
  };
  const recordOf = (e: Entry): ContextRecord => ({ ...e.record, metadata: parse<JsonObject>(e.metadataJson) });
  const schemaOf = (tenant: string, kind: string): SchemaRecord | null => {
    const s = schemas.get(tenant)?.get(kind);
    return s ? { kind, schema: parse<JsonObject>(s.json), revision: s.revision, updatedAt: s.updatedAt } : null;
  };
  /** The stored events of `source` with `lo < seq <= hi` that match `q`, in seq order. */
  const rangeOf = (source: Entry, lo: number, hi: number, q: Omit<EventRecordQuery, "order" | "limit">, out: StoredEvent[]) => {
    // Events are in seq order without gaps from firstSeq: start at the right index.
    const events = source.events;
    const first = events[0]?.seq ?? 1;
    const after = Math.max(lo, q.afterSeq ?? 0);
    const before = Math.min(hi + 1, q.beforeSeq ?? Number.MAX_SAFE_INTEGER);
    const start = Math.max(0, after - first + 1);
    const end = Math.max(0, Math.min(events.length, before - first));
    for (let i = start; i < end; i++) {
      const ev = events[i] as StoredEvent;
      if (matches(ev, q)) out.push(ev);
    }
  };
  /** A context's history, inherited segments included, in seq order (oldest ancestor first). */
  const eventsOf = (e: Entry, q: Omit<EventRecordQuery, "order" | "limit">): StoredEvent[] => {
    const out: StoredEvent[] = [];
    const floor = e.record.firstSeq - 1;
    for (let i = e.lineage.length - 1; i >= 0; i--) {
      const s = e.lineage[i] as Segment;
      rangeOf(s.entry, Math.max(s.after, floor), s.upto, q, out);
    }
    rangeOf(e, Math.max(e.record.parentSeq ?? 0, floor), Number.MAX_SAFE_INTEGER, q, out);
    return out;
  };
  /** Visible contexts of `tenant` that read some of `target`'s events with `lo < seq <= hi`. */
  const dependents = (tenant: string, target: Entry, now: number, lo = 0, hi = Number.MAX_SAFE_INTEGER): string[] => {
    const out: string[] = [];
    for (const [id, d] of tenants.get(tenant) ?? []) {
      if (d === target || !visible(d, now)) continue;
      for (const s of d.lineage) {
        if (s.entry === target && Math.max(s.after, d.record.firstSeq - 1, lo) < Math.min(s.upto, hi)) {
          out.push(id);
          break;
        }
      }
    }
    return out;
  };

  const search = {
    async searchEvents(tenant: string, q: EventSearch, call: DriverCall): Promise<EventSearchHit[]> {
      // A scan: the reference semantics, not a fast path (the other drivers keep an index).
      const hits: (EventSearchHit & { stored: StoredEvent })[] = [];
      const m = tenants.get(tenant);
      const candidates = q.contextId === undefined ? [...(m?.entries() ?? [])] : [[q.contextId, m?.get(q.contextId)] as const];
      for (const [id, e] of candidates) {
        if (!visible(e, call.now)) continue;
        // A search of one context reads its inherited history too; a tenant-wide search finds
        // each event once, in the context that wrote it.
        for (const ev of q.contextId === undefined ? e.events : eventsOf(e, {})) {
          if (q.types !== undefined && !q.types.includes(ev.type)) continue;
          ev.terms ??= searchTerms(parse<JsonValue>(ev.data));
          const score = searchScore(ev.terms, q.words);
          if (score > 0) hits.push({ contextId: id, event: { seq: ev.seq, timestamp: ev.timestamp } as EventRecord, score, stored: ev });
        }
      }
      hits.sort(compareHits);
      return hits.slice(0, q.limit).map((h) => ({ contextId: h.contextId, event: toEvent(h.stored), score: h.score }));
    },
  };

  return {
    name: "in-memory",
    capabilities: { crossProcessWatch: false, durable: false, search: true, memory: true, blocks: true },
    search,
    memory: inMemoryMemories(),
    blocks: inMemoryBlocks(),

    async open() {},
    async close() {
      listeners.clear();
    },
    async ping() {
      return { contexts: [...tenants.values()].reduce((n, m) => n + m.size, 0) };
    },

    async insertContext(record, stateJson, events, call) {
      const m = entries(record.tenant);
      if (m.has(record.id)) {
        throw new ContextError("ALREADY_EXISTS", `context ${record.id} already exists`, { details: { contextId: record.id } });
      }
      let lineage: Segment[] = [];
      let firstSeq = 1;
      const fork = record.parentSeq;
      if (fork !== null) {
        const p = find(record.tenant, record.parentId ?? "", call.now);
        if (!p) throw contextNotFound(record.parentId ?? "");
        const v = record.version;
        const own = p.record.parentSeq ?? 0;
        if (fork > own) lineage.push({ entry: p, after: own, upto: fork, uptoVersion: v });
        for (const s of p.lineage) {
          if (s.after < fork) lineage.push({ entry: s.entry, after: s.after, upto: Math.min(s.upto, fork), uptoVersion: Math.min(s.uptoVersion, v) });
        }
        // What the parent compacted away before the fork point, the fork does not have either.
        firstSeq = p.record.firstSeq <= fork ? p.record.firstSeq : fork + 1;
        lineage = lineage.filter((s) => s.upto >= firstSeq);
      }
      const base = fork ?? 0;
      const stored = events.map((ev, i) => ({ ...ev, seq: base + i + 1, version: null }));
      const { metadata, ...rest } = record;
      const entry: Entry = {
        record: { ...rest, metadata: {}, lastSeq: base + stored.length, firstSeq },
        lineage,
        metadataJson: JSON.stringify(metadata),
        stateJson,
        events: stored,
        checkpoints: [{ version: record.version, stateJson }],
        snapshots: new Map(),
        lease: null,
      };
      m.set(record.id, entry);
      if (stored.length > 0) notify({ tenant: record.tenant, contextId: record.id, lastSeq: entry.record.lastSeq });
      return { record: recordOf(entry), events: stored.map(toEvent) };
    },

    async getContext(tenant, id, call) {
      const e = find(tenant, id, call.now);
      return e && recordOf(e);
    },

    async listContexts(tenant, q: ContextQuery, call) {
      const rows = [...(tenants.get(tenant)?.values() ?? [])].filter(
        (e) =>
          visible(e, call.now) &&
          (q.kind === undefined || e.record.kind === q.kind) &&
          (q.userId === undefined || e.record.userId === q.userId) &&
          (q.chatId === undefined || e.record.chatId === q.chatId) &&
          (q.agentId === undefined || e.record.agentId === q.agentId) &&
          (q.status === undefined || e.record.status === q.status) &&
          (q.updatedSince === undefined || e.record.updatedAt >= q.updatedSince) &&
          (q.afterId === undefined || (q.order === "asc" ? e.record.id > q.afterId : e.record.id < q.afterId)),
      );
      rows.sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
      if (q.order === "desc") rows.reverse();
      return rows.slice(0, q.limit).map(recordOf);
    },

    async updateContext(tenant, id, patch: ContextPatch, call) {
      const e = find(tenant, id, call.now);
      if (!e) return null;
      if (patch.title !== undefined) e.record.title = patch.title;
      if (patch.metadata !== undefined) e.metadataJson = patch.metadata;
      if (patch.expiresAt !== undefined) e.record.expiresAt = patch.expiresAt;
      if (patch.status !== undefined) e.record.status = patch.status;
      e.record.updatedAt = call.now;
      return recordOf(e);
    },

    async deleteContext(tenant, id, call) {
      const e = find(tenant, id, call.now);
      if (!e) return false;
      const forks = dependents(tenant, e, call.now);
      if (forks.length > 0) throw hasForks(id, "delete", forks);
      tenants.get(tenant)?.delete(id);
      notify({ tenant, contextId: id });
      return true;
    },

    async readHead(tenant, id, call) {
      const e = find(tenant, id, call.now);
      return e && { record: recordOf(e), state: parse<JsonObject>(e.stateJson) };
    },

    async commit(tenant, id, m: Mutation, call): Promise<CommitResult> {
      const now = call.now;
      const e = need(tenant, id, now);
      if (m.fencingToken !== undefined) {
        const l = e.lease;
        if (!l || l.holder === null || l.token !== m.fencingToken || l.expiresAt <= now) {
          throw new ContextError("LEASE_LOST", `fencing token ${m.fencingToken} is not the current lease of context ${id}`, {
            details: { contextId: id, fencingToken: m.fencingToken, currentToken: l?.token ?? null },
          });
        }
      }
      if (m.expectedVersion !== undefined && m.expectedVersion !== e.record.version) {
        throw new VersionConflictError(id, m.expectedVersion, e.record.version);
      }
      let update: StateUpdate | undefined;
      let version = e.record.version;
      if (m.update) {
        update = m.update({ record: recordOf(e), state: parse<JsonObject>(e.stateJson), schema: schemaOf(tenant, e.record.kind) });
        version += 1;
      }
      if (m.snapshot && e.snapshots.has(m.snapshot.name)) {
        throw new ContextError("ALREADY_EXISTS", `context ${id} already has a snapshot "${m.snapshot.name}"`, {
          details: { contextId: id, snapshot: m.snapshot.name },
        });
      }
      // Every check has passed: from here on nothing throws, so the mutation is all-or-nothing.
      const inputs: EventRecordInput[] = update ? [{ ...update.event, version }, ...m.events] : m.events;
      let seq = e.record.lastSeq;
      const written: StoredEvent[] = inputs.map((ev) => ({
        seq: ++seq,
        type: ev.type,
        timestamp: ev.timestamp,
        data: ev.data,
        metadata: ev.metadata,
        tokens: ev.tokens,
        version: ev.version ?? null,
      }));
      e.events.push(...written);
      e.record.lastSeq = seq;
      e.record.updatedAt = now;
      let snapshot: SnapshotRecord | undefined;
      if (update) {
        e.stateJson = update.stateJson;
        e.record.version = version;
        if (update.checkpoint) e.checkpoints.push({ version, stateJson: update.stateJson });
      }
      if (m.snapshot) {
        const firstOfEvents = written[update ? 1 : 0];
        const s: StoredSnapshot = {
          ...m.snapshot,
          version,
          seq: firstOfEvents?.seq ?? seq,
          stateJson: e.stateJson,
          createdAt: now,
        };
        e.snapshots.set(s.name, s);
        snapshot = toSnapshot(s);
      }
      if (written.length > 0) notify({ tenant, contextId: id, lastSeq: seq });
      return {
        record: recordOf(e),
        events: written.map(toEvent),
        ...(update && { state: update.state }),
        ...(snapshot && { snapshot }),
      };
    },

    async readEvents(tenant, id, q, call) {
      const e = need(tenant, id, call.now);
      const rows = eventsOf(e, q);
      if (q.order === "desc") rows.reverse();
      return rows.slice(0, q.limit).map(toEvent);
    },

    async countEvents(tenant, id, q, call) {
      return eventsOf(need(tenant, id, call.now), q).length;
    },

    async readCheckpoint(tenant, id, version, call) {
      const e = find(tenant, id, call.now);
      if (!e) return null;
      const bestOf = (source: Entry, v: number) => {
        let best: { version: number; stateJson: string } | undefined;
        for (const c of source.checkpoints) if (c.version <= v && (!best || c.version > best.version)) best = c;
        return best;
      };
      // A fork's versions up to its fork point are its ancestors': their checkpoints serve them.
      let best = bestOf(e, version);
      for (const s of e.lineage) {
        if (best) break;
        if (version <= s.uptoVersion) best = bestOf(s.entry, version);
      }
      return best ? { version: best.version, state: parse<JsonObject>(best.stateJson) } : null;
    },

    async listSnapshots(tenant, id, call) {
      const e = need(tenant, id, call.now);
      return [...e.snapshots.values()].sort((a, b) => a.seq - b.seq).map(toSnapshot);
    },

    async getSnapshot(tenant, id, name, call) {
      const s = find(tenant, id, call.now)?.snapshots.get(name);
      return s ? toSnapshot(s) : null;
    },

    async latestSnapshotBefore(tenant, id, time, call) {
      const e = find(tenant, id, call.now);
      let best: StoredSnapshot | undefined;
      for (const s of e?.snapshots.values() ?? []) {
        if (s.createdAt <= time && (!best || s.seq > best.seq)) best = s;
      }
      return best ? toSnapshot(best) : null;
    },

    async compact(tenant, id, beforeSeq, checkpoint, call) {
      const e = need(tenant, id, call.now);
      const forks = dependents(tenant, e, call.now, Math.max(e.record.parentSeq ?? 0, e.record.firstSeq - 1), beforeSeq - 1);
      if (forks.length > 0) throw hasForks(id, "compact", forks);
      const before = e.events.length;
      e.events = e.events.filter((ev) => ev.seq >= beforeSeq);
      e.checkpoints = e.checkpoints.filter((c) => c.version > checkpoint.version);
      e.checkpoints.unshift({ version: checkpoint.version, stateJson: checkpoint.stateJson });
      e.record.firstSeq = Math.max(e.record.firstSeq, beforeSeq);
      // Ancestors whose events the fork no longer reads are no longer its ancestors.
      e.lineage = e.lineage.filter((s) => s.upto >= e.record.firstSeq);
      return before - e.events.length;
    },

    async purgeExpired(tenant, call) {
      const now = call.now;
      let n = 0;
      for (const [t, m] of tenants) {
        if (tenant !== undefined && t !== tenant) continue;
        // An expired context whose history a live fork reads stays (invisible) until the fork goes.
        for (const [id, e] of m) {
          if (e.record.expiresAt !== null && e.record.expiresAt <= now && dependents(t, e, now).length === 0) {
            m.delete(id);
            n++;
          }
        }
      }
      return n;
    },

    async tryAcquireLease(tenant, id, holder, ttlMs, call) {
      const now = call.now;
      const e = need(tenant, id, now);
      const l = e.lease;
      if (l && l.holder !== null && l.holder !== holder && l.expiresAt > now) {
        return { granted: false, lease: { holder: l.holder, token: l.token, expiresAt: l.expiresAt } };
      }
      e.lease = { holder, token: (l?.token ?? 0) + 1, expiresAt: now + ttlMs };
      return { granted: true, lease: { holder, token: e.lease.token, expiresAt: e.lease.expiresAt } };
    },

    async renewLease(tenant, id, holder, token, ttlMs, call) {
      const now = call.now;
      const l = need(tenant, id, now).lease;
      if (!l || l.holder !== holder || l.token !== token || l.expiresAt <= now) {
        throw new ContextError("LEASE_LOST", `the lease with token ${token} on context ${id} is no longer held by ${holder}`, {
          details: { contextId: id, token, currentToken: l?.token ?? null },
        });
      }
      l.expiresAt = now + ttlMs;
      return { holder, token, expiresAt: l.expiresAt };
    },

    async releaseLease(tenant, id, holder, token, call) {
      const l = find(tenant, id, call.now)?.lease;
      if (!l || l.holder !== holder || l.token !== token) return false;
      l.holder = null;
      notify({ tenant, contextId: id });
      return true;
    },

    async getLease(tenant, id, call): Promise<LeaseRecord | null> {
      const now = call.now;
      const l = find(tenant, id, now)?.lease;
      return l && l.holder !== null && l.expiresAt > now ? { holder: l.holder, token: l.token, expiresAt: l.expiresAt } : null;
    },

    async getActiveContext(tenant, holder, slot: ActiveSlot) {
      return activeContexts.get(`${tenant}\u0000${holder}\u0000${slot}`) ?? null;
    },

    async setActiveContext(tenant, holder, slot, contextId) {
      const key = `${tenant}\u0000${holder}\u0000${slot}`;
      const previous = activeContexts.get(key) ?? null;
      if (contextId === null) activeContexts.delete(key);
      else activeContexts.set(key, contextId);
      return previous;
    },

    async putSchema(tenant, kind, schemaJson, call) {
      const now = call.now;
      let m = schemas.get(tenant);
      if (!m) schemas.set(tenant, (m = new Map()));
      m.set(kind, { json: schemaJson, revision: ++schemaRevision, updatedAt: now });
      return schemaOf(tenant, kind) as SchemaRecord;
    },
    async getSchema(tenant, kind) {
      return schemaOf(tenant, kind);
    },
    async listSchemas(tenant) {
      return [...(schemas.get(tenant)?.keys() ?? [])].sort().map((k) => schemaOf(tenant, k) as SchemaRecord);
    },
    async deleteSchema(tenant, kind) {
      return schemas.get(tenant)?.delete(kind) ?? false;
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
