/**
 * `ContextdSaver`: a LangGraph.js checkpointer on any contextd store (embedded memory or
 * SQLite, PostgreSQL with or without Redis, or the HTTP client). One context per thread; the
 * thread's checkpoints, channel values and pending writes are events of its append-only
 * history (see log.ts): an unchanged channel is not stored again and a list channel such as
 * `messages` is stored as its new items, so a thread grows with what happened in it, not with
 * the square of its length.
 */
import { randomUUID } from "node:crypto";
import { BaseCheckpointSaver, TASKS, WRITES_IDX_MAP, maxChannelVersion } from "@langchain/langgraph-checkpoint";
import type {
  ChannelVersions,
  Checkpoint,
  CheckpointListOptions,
  CheckpointMetadata,
  CheckpointTuple,
  PendingWrite,
  SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import type { RunnableConfig } from "@langchain/core/runnables";
import { invalidInput, isContextError } from "../../index.js";
import { committedContext } from "../../core/committed.js";
import type { ContextEvent, ContextInfo, EventInput, JsonValue } from "../../index.js";
import { CHECKPOINT_EVENT, ITEMS_EVENT, VALUE_EVENT, WRITES_EVENT, ValueEncoder, decodeValue, eventData, threadContextId } from "./log.js";
import type { CheckpointData, ItemsData, ValueData, WritesData } from "./log.js";
import { ValueResolver, absoluteAt, allCheckpoints, findCheckpoint, orMissing, pendingWrites, readRange } from "./thread-reader.js";
import type { ListBase, StoredCheckpoint, ThreadStore } from "./thread-reader.js";
import { copyThreadLog, pruneThreadLog } from "./thread-maintenance.js";
import type { PruneOptions, PruneResult } from "./thread-maintenance.js";

/** Options of {@link ContextdSaver}. */
export interface ContextdSaverOptions {
  /**
   * The prefix of the threads' context ids (`<prefix>:<thread id>`) and their context kind:
   * savers with different prefixes share a store without seeing each other's threads.
   * @default "langgraph"
   */
  prefix?: string;
  /** A thread expires this long after its last checkpoint (its context's `expiresAt`). @default no expiry */
  ttlMs?: number;
  /** LangGraph's serializer. @default LangGraph's JsonPlusSerializer */
  serde?: SerializerProtocol;
}

/** What the saver remembers of a checkpoint it wrote or read: enough to write its child without a read. */
interface KnownCheckpoint {
  seq: number;
  versions: ChannelVersions;
  at: Record<string, number>;
}

/** A checkpoint event of a thread: its seq, namespace and id. */
interface Anchor {
  seq: number;
  ns: string;
  id: string;
}

/** Threads the saver remembers (the most recently used). */
const THREAD_LIMIT = 4096;
/** Per thread, checkpoints, lists and namespaces it remembers (the most recently written or read). */
const PER_THREAD_LIMIT = 256;

/**
 * A list channel a put stores: the cached base it extends (if any), the items it adds (a copy,
 * as they were when planned), and the index of its `lg.items` event among the put's events.
 */
interface PlannedList {
  channel: string;
  on: ListBase | undefined;
  added: unknown[];
  /** The added items as stored. */
  items: JsonValue[];
  index: number;
}

/** A bounded map that forgets its least recently set entries. */
class Lru<V> extends Map<string, V> {
  readonly #limit: number;
  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override set(key: string, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.#limit) this.delete(this.keys().next().value as string);
    return this;
  }
}

/**
 * What the saver remembers of one thread, made from its own writes and reads: kept and
 * forgotten as a whole (a thread's caches evicted one by one could leave, say, a list without
 * the seq that tells whether it is still current).
 */
class ThreadMemory {
  /** Checkpoints written or read, by `${ns}\0${id}`. */
  readonly known = new Lru<KnownCheckpoint>(PER_THREAD_LIMIT);
  /** The newest checkpoint id per namespace. */
  readonly latest = new Lru<string>(PER_THREAD_LIMIT);
  /** The list channels last stored or read, by `${ns}\0${channel}`. */
  readonly lists = new Lru<ListBase>(PER_THREAD_LIMIT);
  /** The thread's context exists (the saver created or read it). */
  created = false;
  /** The expiry the saver last set (with a TTL). */
  expiresAt: number | undefined;
  /**
   * The seq of the newest event the saver knows of (its own last append, or the thread's last
   * seq read before a `getTuple`): what the caches were made from. An append landing anywhere
   * but right after it means another writer came in between.
   */
  seen: number | undefined;
  /**
   * A checkpoint event the caches were made with (the last one remembered). A thread deleted
   * and written again up to the same seq is told apart by it: its event at that seq is another
   * one (checkpoint ids are unique).
   */
  anchor: Anchor | undefined;
  /**
   * Which context the caches were made from ({@link incarnationOf}): a thread deleted and
   * created again is another context under the same id. Checked after each put's append, on
   * the context the append committed to (embedded stores return it with the events; over HTTP
   * one `getContext`): the store has no guard on append that tells them apart.
   */
  incarnation: string | undefined;

  remember(ns: string, id: string, cp: KnownCheckpoint): void {
    this.known.set(`${ns}\0${id}`, cp);
    this.anchor = { seq: cp.seq, ns, id };
  }
}

/** The metadata of a thread's context as the saver creates it: the thread and a new incarnation. */
function threadMetadata(thread: string): { thread_id: string; incarnation: string } {
  return { thread_id: thread, incarnation: randomUUID() };
}

/** Whether the checkpoint event at `seq` holding `data` is the anchor. */
function isAnchor(anchor: Anchor, seq: number, data: CheckpointData): boolean {
  return seq === anchor.seq && data.id === anchor.id && data.ns === anchor.ns;
}

/**
 * What tells a thread's context from one deleted and created again under the same id: the
 * random `incarnation` the saver puts in the metadata of the contexts it creates, else (a
 * context made otherwise: a copy, an older saver) its creation time.
 */
function incarnationOf(info: Pick<ContextInfo, "metadata" | "createdAt">): string {
  const token = info.metadata.incarnation;
  return typeof token === "string" ? token : `created ${info.createdAt}`;
}

/** A seq or `null` (what the `base` and `first` of an `lg.items` event hold). */
function isSeq(v: number | null): boolean {
  return v === null || Number.isSafeInteger(v);
}

/** True when `list` starts with the items of `base`, the same objects in the same order. */
function extendsList(list: unknown[], base: unknown[]): boolean {
  // `every` (base is dense: the saver builds it with `push`): about twice as fast as the
  // equivalent indexed loop in V8, and this runs over the whole list at every put.
  return list.length >= base.length && base.every((item, i) => list[i] === item);
}

/**
 * The checkpoint as stored: its own keys in order, `channel_values` last and empty (the values
 * are events of their own). A loop, not `{ ...rest, channel_values: {} }` after an object rest
 * pattern: those copied the checkpoint twice, at every put.
 */
function withoutValues(checkpoint: Checkpoint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const from = checkpoint as unknown as Record<string, unknown>;
  for (const k of Object.keys(from)) {
    if (k === "channel_values") continue;
    // A `__proto__` key is data, never the copy's prototype.
    if (k === "__proto__") Object.defineProperty(out, k, { value: from[k], writable: true, enumerable: true, configurable: true });
    else out[k] = from[k];
  }
  out["channel_values"] = {};
  return out;
}

function threadOf(config: RunnableConfig, what: string): string {
  const threadId: unknown = config.configurable?.thread_id;
  if (typeof threadId !== "string" && typeof threadId !== "number") {
    throw invalidInput("config.configurable.thread_id", `${what} needs a thread_id (graph.invoke(input, { configurable: { thread_id } }))`);
  }
  return String(threadId);
}

function nsOf(config: RunnableConfig): string {
  const ns: unknown = config.configurable?.checkpoint_ns;
  if (ns === undefined || ns === null) return "";
  if (typeof ns !== "string") throw invalidInput("config.configurable.checkpoint_ns", "must be a string");
  return ns;
}

/**
 * A LangGraph.js checkpointer storing threads in contextd.
 *
 * @example
 * ```ts
 * import { openStore } from "contextd";
 * import { ContextdSaver } from "contextd/langgraph";
 * const store = await openStore("sqlite:./agent.db");
 * const checkpointer = new ContextdSaver(store);
 * // const graph = builder.compile({ checkpointer });
 * ```
 */
export class ContextdSaver extends BaseCheckpointSaver {
  /** The prefix of the threads' context ids and their kind. */
  readonly prefix: string;
  private readonly ttlMs: number | undefined;
  /** Per thread (context id), what the saver remembers of it. */
  private readonly memory = new Lru<ThreadMemory>(THREAD_LIMIT);
  /**
   * Per thread, the saver's appends run one after another (LangGraph issues a step's
   * `putWrites` and `put` concurrently): the seq check above then tells this saver's own
   * writes from another writer's. The store serializes appends to one context anyway.
   */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly encoder: ValueEncoder;

  /** The store: `openStore(…)`, `createClient(…)`, or a tenant view of one. */
  readonly store: ThreadStore;

  /** @throws `INVALID_INPUT` for a bad `prefix` or `ttlMs` */
  constructor(store: ThreadStore, options: ContextdSaverOptions = {}) {
    super(options.serde);
    this.store = store;
    this.prefix = options.prefix ?? "langgraph";
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(this.prefix)) throw invalidInput("options.prefix", "1–40 of A–Z a–z 0–9 . _ -, starting alphanumeric");
    if (options.ttlMs !== undefined && (!Number.isInteger(options.ttlMs) || options.ttlMs <= 0)) throw invalidInput("options.ttlMs", "must be a positive integer");
    this.ttlMs = options.ttlMs;
    this.encoder = new ValueEncoder(this.serde);
  }

  /** The id of the context holding `threadId`. */
  contextId(threadId: string): string {
    return threadContextId(this.prefix, threadId);
  }

  /** What the saver remembers of thread `ctx`: empty when nothing (then kept from now on). */
  private mem(ctx: string): ThreadMemory {
    let m = this.memory.get(ctx);
    if (m === undefined) {
      m = new ThreadMemory();
      this.memory.set(ctx, m);
    }
    return m;
  }

  /**
   * True when the event at the anchor's seq is still its checkpoint: the thread is the one the
   * caches were made from, not a thread deleted and written again since (one read of one event).
   */
  private async anchored(ctx: string, anchor: Anchor): Promise<boolean> {
    const page = await orMissing(() => this.store.readEvents(ctx, { types: [CHECKPOINT_EVENT], afterSeq: anchor.seq - 1, limit: 1 }));
    const e = page?.items[0];
    return e !== undefined && isAnchor(anchor, e.seq, e.data as unknown as CheckpointData);
  }

  /** Forgets what the saver remembers of a thread (after it was deleted, pruned or written elsewhere). */
  private forget(ctx: string): void {
    this.memory.delete(ctx);
  }

  /**
   * True when the caches of the thread were made from the context the store holds now (read
   * after this put's append): the incarnation they were made from, or, when the saver does not
   * know it (caches from `list`, or a put that read the parent), the anchor's checkpoint.
   */
  private sameThread(ctx: string, written: ContextEvent[]): boolean | Promise<boolean> {
    // The context the append committed to, when the store says (embedded stores: no read), else read.
    const committed = committedContext(written);
    return committed !== undefined ? this.sameIncarnation(ctx, committed) : this.sameAsStored(ctx);
  }

  private async sameAsStored(ctx: string): Promise<boolean> {
    const info = await orMissing(() => this.store.getContext(ctx));
    if (info === undefined) return false;
    return this.sameIncarnation(ctx, info);
  }

  /** {@link sameThread} for the context `info` (the one the caches must have been made from). */
  private sameIncarnation(ctx: string, info: Pick<ContextInfo, "metadata" | "createdAt">): boolean | Promise<boolean> {
    const now = incarnationOf(info);
    const m = this.memory.get(ctx);
    const known = m?.incarnation;
    const anchor = m?.anchor;
    if (known !== undefined || anchor === undefined) {
      const same = known === undefined || known === now;
      if (same) this.mem(ctx).incarnation = now;
      return same;
    }
    return this.anchored(ctx, anchor).then((same) => {
      if (same) this.mem(ctx).incarnation = now;
      return same;
    });
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId: unknown = config.configurable?.thread_id;
    if (threadId === undefined || threadId === null) return undefined;
    const thread = threadOf(config, "getTuple");
    const ns = nsOf(config);
    const id = config.configurable?.checkpoint_id as string | undefined;
    const ctx = this.contextId(thread);
    // The thread's last seq and incarnation, read before what the tuple is built from: a write
    // after this read makes the next append land past it, a thread deleted and created again
    // has another incarnation, and the caches made here are then dropped.
    const info = await orMissing(() => this.store.getContext(ctx));
    if (info === undefined) return undefined;
    const incarnation = incarnationOf(info);
    const before = this.memory.get(ctx);
    if (before?.seen !== info.lastSeq || before.incarnation !== incarnation) this.forget(ctx);
    const m = this.mem(ctx);
    m.seen = info.lastSeq;
    m.incarnation = incarnation;
    m.created = true;
    this.memory.set(ctx, m); // the most recently used
    const stored = await findCheckpoint(this.store, ctx, ns, id || undefined);
    if (stored === undefined) return undefined;
    return this.tuple(thread, ctx, stored, new ValueResolver(this.store, this.serde, ctx));
  }

  /** Builds the tuple of a stored checkpoint (values, writes, parent) and remembers it. */
  private async tuple(thread: string, ctx: string, stored: StoredCheckpoint, resolver: ValueResolver, writes?: ContextEvent[]): Promise<CheckpointTuple> {
    const { data, seq, at } = stored;
    const checkpoint = (await decodeValue(this.serde, data.cp)) as Checkpoint;
    const metadata = (await decodeValue(this.serde, data.md)) as CheckpointMetadata;
    // The list this saver last stored or read at the checkpoint's own seq (the checkpoint is
    // one it knows at that seq: not another thread's after a delete) is not read back again.
    const mine = this.memory.get(ctx)?.known.get(`${data.ns}\0${data.id}`)?.seq === seq;
    const { values, bases } = await resolver.values(at, (channel, s) => {
      const base = mine ? this.memory.get(ctx)?.lists.get(`${data.ns}\0${channel}`) : undefined;
      return base !== undefined && base.seq === s ? base.items : undefined;
    });
    checkpoint.channel_values = values;
    const now = this.mem(ctx);
    for (const [channel, base] of bases) now.lists.set(`${data.ns}\0${channel}`, base);
    now.remember(data.ns, data.id, { seq, versions: { ...checkpoint.channel_versions }, at });
    if (checkpoint.v < 4 && data.parent !== null) await this.migratePendingSends(checkpoint, ctx, data.ns, data.parent, writes);
    const tuple: CheckpointTuple = {
      config: { configurable: { thread_id: thread, checkpoint_ns: data.ns, checkpoint_id: data.id } },
      checkpoint,
      metadata,
      pendingWrites: await pendingWrites(this.store, this.serde, ctx, data.ns, data.id, seq, writes),
    };
    if (data.parent !== null) tuple.parentConfig = { configurable: { thread_id: thread, checkpoint_ns: data.ns, checkpoint_id: data.parent } };
    return tuple;
  }

  /** Checkpoints of format < 4 kept the sends of their parent's tasks as pending writes (as MemorySaver migrates them). */
  private async migratePendingSends(checkpoint: Checkpoint, ctx: string, ns: string, parentId: string, writes?: ContextEvent[]): Promise<void> {
    const parent = await findCheckpoint(this.store, ctx, ns, parentId);
    const sends = parent === undefined ? [] : await pendingWrites(this.store, this.serde, ctx, ns, parentId, parent.seq, writes);
    checkpoint.channel_values ??= {};
    checkpoint.channel_values[TASKS] = sends.filter(([, channel]) => channel === TASKS).map(([, , value]) => value);
    checkpoint.channel_versions ??= {};
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options;
    let limit = options.limit;
    const wantNs = config.configurable?.checkpoint_ns as string | undefined;
    const wantId = config.configurable?.checkpoint_id as string | undefined;
    const beforeId = before?.configurable?.checkpoint_id as string | undefined;
    const threads = config.configurable?.thread_id !== undefined ? [threadOf(config, "list")] : await this.threadIds();
    for (const thread of threads) {
      const ctx = this.contextId(thread);
      const all = await allCheckpoints(this.store, ctx);
      // What the saver remembers of the thread is of this thread only if its anchor is among them.
      const anchor = this.memory.get(ctx)?.anchor;
      if (anchor !== undefined && !all.some((c) => isAnchor(anchor, c.seq, c.data))) this.forget(ctx);
      const namespaces = [...new Set(all.map((c) => c.data.ns))];
      let writes: ContextEvent[] | undefined;
      const resolver = new ValueResolver(this.store, this.serde, ctx);
      for (const ns of namespaces) {
        if (wantNs !== undefined && ns !== wantNs) continue;
        const selected = all.filter((c) => c.data.ns === ns).sort((a, b) => (a.data.id < b.data.id ? 1 : a.data.id > b.data.id ? -1 : 0));
        for (const stored of selected) {
          if (wantId && stored.data.id !== wantId) continue;
          if (beforeId && stored.data.id >= beforeId) continue;
          if (filter && Object.keys(filter).length > 0) {
            const metadata = (await decodeValue(this.serde, stored.data.md)) as Record<string, unknown>;
            if (!Object.entries(filter).every(([k, v]) => metadata[k] === v)) continue;
          }
          if (limit !== undefined) {
            if (limit <= 0) return;
            limit -= 1;
          }
          writes ??= (await orMissing(() => readRange(this.store, ctx, [WRITES_EVENT], 0))) ?? [];
          yield await this.tuple(thread, ctx, stored, resolver, writes);
        }
      }
    }
  }

  /** Every thread id of this saver's prefix, oldest first. */
  async threadIds(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.store.listContexts({ kind: this.prefix, limit: 1000, ...(cursor && { cursor }) });
      for (const c of page.items) {
        const t = c.metadata.thread_id;
        if (typeof t === "string") out.push(t);
      }
      if (page.nextCursor === null) return out;
      cursor = page.nextCursor;
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    if (config.configurable === undefined) throw invalidInput("config.configurable", "put needs config.configurable with a thread_id");
    const thread = threadOf(config, "put");
    const ns = nsOf(config);
    const parentId = (config.configurable.checkpoint_id as string | undefined) || undefined;
    const ctx = this.contextId(thread);
    await this.serially(ctx, async () => {
      const seen = this.memory.get(ctx)?.seen;
      let plan = await this.plan(ctx, ns, checkpoint, metadata, newVersions, parentId);
      let written = await this.appendTo(ctx, thread, plan.events);
      const first = (written[0] as ContextEvent).seq;
      // The thread checked after the append: one deleted and written again before it is seen.
      const same = (seen === undefined || first === seen + 1) && this.sameThread(ctx, written);
      if (!(same instanceof Promise ? await same : same)) {
        // Another writer appended since the caches were made (another process's steps, a
        // prune), or the thread was deleted and written again (up to the same seq, or not):
        // what this put reused from them may be stale. Write the checkpoint again from what
        // the store holds; the newer event of the same id is the one read back.
        this.forget(ctx);
        plan = await this.plan(ctx, ns, checkpoint, metadata, newVersions, parentId, first);
        written = await this.appendTo(ctx, thread, plan.events);
      }
      const cpSeq = (written[written.length - 1] as ContextEvent).seq;
      const m = this.mem(ctx);
      for (const { channel, on, added, items, index } of plan.lists) {
        const seq = (written[index] as ContextEvent).seq;
        // The base's copies grow by the items added (the base is replaced by this list):
        // copying the whole list at every put made a long thread's puts O(list length).
        // (`items` is in the stored event's data: the base keeps a copy of it, not it.)
        const base: Pick<ListBase, "refs" | "items"> = on ?? { refs: [], items: [] };
        for (const item of added) base.refs.push(item);
        for (const item of items) base.items.push(item);
        m.lists.set(`${ns}\0${channel}`, { seq, first: on?.first ?? seq, refs: base.refs, items: base.items });
      }
      m.latest.set(ns, plan.max);
      m.remember(ns, checkpoint.id, { seq: cpSeq, versions: { ...checkpoint.channel_versions }, at: absoluteAt(cpSeq, plan.at) });
      m.seen = cpSeq;
      this.memory.set(ctx, m); // the most recently used
    });
    return { configurable: { thread_id: thread, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  /**
   * The events of a put: one per changed channel (a list as its items added to a list the
   * saver already stored or loaded), then the checkpoint. Reads only what the caches lack;
   * `before`: the seq of an append of this put to look past (when writing it again).
   */
  private async plan(
    ctx: string,
    ns: string,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
    parentId: string | undefined,
    before?: number,
  ): Promise<{ events: EventInput[]; lists: PlannedList[]; at: Record<string, number>; max: string }> {
    const m = this.memory.get(ctx);
    const parent = parentId === undefined ? undefined : (m?.known.get(`${ns}\0${parentId}`) ?? (await this.knownCheckpoint(ctx, ns, parentId)));
    const values = checkpoint.channel_values;
    const enc = this.encoder;
    const events: EventInput[] = [];
    const at: Record<string, number> = {};
    const lists: PlannedList[] = [];
    for (const channel of Object.keys(checkpoint.channel_versions)) {
      if (channel in newVersions) continue;
      const carried = parent?.at[channel];
      if (carried !== undefined && parent?.versions[channel] === checkpoint.channel_versions[channel]) at[channel] = carried;
    }
    for (const channel of Object.keys(newVersions)) {
      if (!(channel in values)) continue;
      const value = values[channel];
      const fallbacks = enc.fallbacks;
      if (Array.isArray(value)) {
        const base = m?.lists.get(`${ns}\0${channel}`);
        const on = base !== undefined && extendsList(value, base.refs) ? base : undefined;
        const items: JsonValue[] = [];
        for (let i = on?.refs.length ?? 0; i < value.length; i++) {
          const item = enc.item(value[i]);
          items.push(item instanceof Promise ? await item : item);
        }
        const data: ItemsData = { c: channel, base: on?.seq ?? null, first: on?.first ?? null, n: value.length, items };
        lists.push({ channel, on, added: value.slice(on?.refs.length ?? 0), items, index: events.length });
        const built = enc.fallbacks === fallbacks && isSeq(data.base) && isSeq(data.first);
        events.push({ type: ITEMS_EVENT, data: eventData(data, built), tokens: 0 });
      } else {
        const v = enc.value(value);
        const data: ValueData = { c: channel, v: v instanceof Promise ? await v : v };
        events.push({ type: VALUE_EVENT, data: eventData(data, enc.fallbacks === fallbacks), tokens: 0 });
      }
      at[channel] = events.length - 1; // made relative below
    }
    const relAt: Record<string, number> = {};
    for (const [channel, s] of Object.entries(at)) relAt[channel] = channel in newVersions && channel in values ? s - events.length : s;

    let latest = m?.latest.get(ns);
    if (latest === undefined) latest = (await findCheckpoint(this.store, ctx, ns, undefined, before))?.data.max ?? "";
    const max = latest > checkpoint.id ? latest : checkpoint.id;
    const fallbacks = enc.fallbacks;
    const cp = enc.value(withoutValues(checkpoint));
    const md = enc.value(metadata);
    const data: CheckpointData = {
      ns,
      id: checkpoint.id,
      parent: parentId ?? null,
      max,
      cp: cp instanceof Promise ? await cp : cp,
      md: md instanceof Promise ? await md : md,
      at: relAt,
    };
    const built =
      enc.fallbacks === fallbacks &&
      typeof data.id === "string" &&
      typeof data.max === "string" &&
      (data.parent === null || typeof data.parent === "string") &&
      Object.values(relAt).every((s) => Number.isSafeInteger(s));
    events.push({ type: CHECKPOINT_EVENT, data: eventData(data, built), tokens: 0 });
    return { events, lists, at: relAt, max };
  }

  /** A checkpoint's seq, versions and value locations: remembered, else read. */
  private async knownCheckpoint(ctx: string, ns: string, id: string): Promise<KnownCheckpoint | undefined> {
    const hit = this.memory.get(ctx)?.known.get(`${ns}\0${id}`);
    if (hit !== undefined) return hit;
    const stored = await findCheckpoint(this.store, ctx, ns, id);
    if (stored === undefined) return undefined;
    const cp = (await decodeValue(this.serde, stored.data.cp)) as Checkpoint;
    const known = { seq: stored.seq, versions: cp.channel_versions, at: stored.at };
    this.mem(ctx).remember(ns, id, known);
    return known;
  }

  /** Runs `fn` after the saver's earlier appends to `ctx` have settled. */
  private serially<T>(ctx: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queues.get(ctx);
    const run = before === undefined ? fn() : before.then(fn, fn);
    this.queues.set(ctx, run);
    // Not an async function awaiting `run`: each promise costs more where promise hooks are on
    // (LangChain's AsyncLocalStorage turns them on), and the caller awaits `run` itself.
    const settled = (): void => {
      if (this.queues.get(ctx) === run) this.queues.delete(ctx);
    };
    run.then(settled, settled);
    return run;
  }

  /** Appends to the thread's context, creating it on first use. */
  private async appendTo(ctx: string, thread: string, events: EventInput[]): Promise<ContextEvent[]> {
    if (this.memory.get(ctx)?.created === true) {
      try {
        return this.refreshed(ctx, await this.store.append(ctx, events));
      } catch (e) {
        if (!isContextError(e, "NOT_FOUND")) throw e;
        // Deleted: the caches stay until the caller's check, which the new context's
        // incarnation fails (a put's events were planned from them already).
        const m = this.memory.get(ctx);
        if (m !== undefined) m.created = false;
      }
    }
    await this.ensureThread(ctx, thread);
    let written: ContextEvent[];
    try {
      written = await this.store.append(ctx, events);
    } catch (e) {
      if (!isContextError(e, "NOT_FOUND")) throw e;
      // Expired but not purged yet: its id is still taken until the expired contexts are purged.
      await this.store.purgeExpired();
      await this.ensureThread(ctx, thread);
      written = await this.store.append(ctx, events);
    }
    this.mem(ctx).created = true;
    return this.refreshed(ctx, written);
  }

  /**
   * With a TTL, moves the thread's expiry to the time of its newest event + TTL, on the store's
   * clock (the events' timestamps); once more than half the TTL has passed since the last move,
   * so a busy thread pays one extra write per half TTL, not per step.
   */
  private refreshed(ctx: string, written: ContextEvent[]): ContextEvent[] | Promise<ContextEvent[]> {
    const ttl = this.ttlMs;
    const last = written[written.length - 1];
    if (ttl === undefined || last === undefined) return written;
    const now = Date.parse(last.timestamp);
    const expiresAt = this.memory.get(ctx)?.expiresAt;
    if (expiresAt !== undefined && expiresAt - now >= ttl / 2) return written;
    return this.store.updateContext(ctx, { expiresAt: now + ttl }).then(() => {
      this.mem(ctx).expiresAt = now + ttl;
      return written;
    });
  }

  /** Creates the thread's context unless its id is taken. */
  private async ensureThread(ctx: string, thread: string): Promise<void> {
    const ttl = this.ttlMs;
    try {
      const created = await this.store.createContext({ id: ctx, kind: this.prefix, metadata: threadMetadata(thread), ...(ttl !== undefined && { ttlMs: ttl }) });
      // Caches made before (of a thread deleted since) stay unconfirmed: the check after the append drops them.
      const m = this.memory.get(ctx);
      if (m?.incarnation === undefined && m?.anchor === undefined) this.mem(ctx).incarnation = incarnationOf(created);
    } catch (e) {
      if (!isContextError(e, "ALREADY_EXISTS")) throw e;
    }
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const thread = threadOf(config, "putWrites");
    const ns = nsOf(config);
    const id = config.configurable?.checkpoint_id as string | undefined;
    if (!id) throw invalidInput("config.configurable.checkpoint_id", "putWrites needs the checkpoint the writes belong to");
    const w: WritesData["w"] = [];
    const enc = this.encoder;
    const fallbacks = enc.fallbacks;
    let built = typeof id === "string" && typeof taskId === "string" && (taskPath === undefined || typeof taskPath === "string");
    if (!Array.isArray(writes)) throw invalidInput("writes", "must be an array of [channel, value] pairs");
    for (let i = 0; i < writes.length; i++) {
      const write: unknown = writes[i];
      if (!Array.isArray(write)) throw invalidInput(`writes[${i}]`, "must be a [channel, value] pair");
      const channel = write[0] as string;
      const value: unknown = write[1];
      // Own keys only: a channel named `constructor` is not one of LangGraph's special channels.
      const idx = Object.hasOwn(WRITES_IDX_MAP, channel) ? (WRITES_IDX_MAP[channel] as number) : i;
      if (typeof channel !== "string" || !Number.isSafeInteger(idx)) built = false;
      const v = enc.value(value);
      w.push([idx, channel, v instanceof Promise ? await v : v]);
    }
    const data: WritesData = { ns, cp: id, task: taskId, path: taskPath ?? "", w };
    const event: EventInput = { type: WRITES_EVENT, data: eventData(data, built && enc.fallbacks === fallbacks), tokens: 0 };
    const ctx = this.contextId(thread);
    await this.serially(ctx, async () => {
      const seen = this.memory.get(ctx)?.seen;
      const written = await this.appendTo(ctx, thread, [event]);
      const seq = (written[0] as ContextEvent).seq;
      // Writes reuse nothing cached; another writer in between only makes the caches stale.
      if (seen !== undefined && seq !== seen + 1) this.forget(ctx);
      const m = this.mem(ctx);
      m.seen = seq;
      this.memory.set(ctx, m); // the most recently used
    });
  }

  async deleteThread(threadId: string): Promise<void> {
    const ctx = this.contextId(String(threadId));
    this.forget(ctx);
    await orMissing(() => this.store.deleteContext(ctx));
  }

  /**
   * Keeps the newest `keepLast` checkpoints of each namespace of a thread (and the pending
   * writes of those kept) and removes the rest; the newest checkpoint of every namespace is
   * always kept, with its pending writes, so an interrupted run resumes after a prune.
   * @throws `INVALID_INPUT` for a `keepLast` below 1
   */
  async prune(threadId: string, options: PruneOptions): Promise<PruneResult> {
    const ctx = this.contextId(String(threadId));
    const result = await pruneThreadLog(this.store, ctx, options);
    this.forget(ctx);
    return result;
  }

  /**
   * Copies every checkpoint and pending write of thread `from` to a new thread `to`.
   * @throws `NOT_FOUND` when `from` has no checkpoint; `ALREADY_EXISTS` when `to` exists
   */
  async copyThread(from: string, to: string): Promise<void> {
    await copyThreadLog(this.store, this.contextId(String(from)), this.contextId(String(to)), {
      kind: this.prefix,
      metadata: threadMetadata(String(to)),
      ...(this.ttlMs !== undefined && { ttlMs: this.ttlMs }),
    });
  }
}
