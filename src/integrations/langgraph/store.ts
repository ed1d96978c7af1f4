/**
 * `ContextdStore`: LangGraph.js's `BaseStore` (long-term memory shared across threads) on
 * contextd's long-term memory, on any contextd store (embedded, SQLite, PostgreSQL, HTTP).
 *
 * One item is one memory (see docs/langgraph.md, "The store"):
 * - scope `{ namespace: [root, ...namespace], agentId: "k:<key>" }` (or `"h:<sha256 of key>"`
 *   for a key that is empty, long or has control characters). The root label keeps every
 *   LangGraph namespace away from contextd's reserved roots (`contextd`, `langgraph`), and the
 *   key in the scope makes contextd's idempotent add (same scope, same text) per item;
 * - `metadata` is the item's value (as JSON), so LangGraph's `filter` is contextd's metadata filter;
 * - `text` is what the index fields select (what search ranks and the model embeds);
 * - `value` is the key itself.
 */
import { createHash } from "node:crypto";
import { BaseStore, getTextAtPath, validateNamespace } from "@langchain/langgraph-checkpoint";
import type {
  GetOperation,
  Item,
  Operation,
  OperationResults,
  PutOperation,
  SearchItem,
  SearchOperation,
} from "@langchain/langgraph-checkpoint";
import { invalidInput, isContextError } from "../../index.js";
import type { ContextStore, JsonObject, Memory, MemoryInput, MemoryScope } from "../../index.js";
import { listNamespaces } from "./store-namespaces.js";

/** What `ContextdStore` needs of a contextd store. */
export type ItemStore = Pick<ContextStore, "addMemories" | "getMemory" | "updateMemory" | "deleteMemory" | "listMemories" | "searchMemories">;

/** Options of {@link ContextdStore}. */
export interface ContextdStoreOptions {
  /**
   * The contextd namespace label the items live under (`[root, ...namespace]`): stores with
   * different roots share a contextd store without seeing each other's items. Not `contextd`
   * or `langgraph` (contextd reserves them).
   * @default "lgstore"
   */
  root?: string;
  /**
   * What of a value is searched and embedded: LangGraph's field paths (`"title"`,
   * `"chapters[*].content"`, `"$"` for the whole value as JSON); a put's own `index` overrides
   * them and `false` skips. @default { fields: ["$"] }
   */
  index?: { fields?: string[] };
  /**
   * A time to live: an item expires `defaultTtlMs` after its last put and, with
   * `refreshOnRead` (the default), after its last `get` or `search` too.
   * @default no expiry
   */
  ttl?: { defaultTtlMs: number; refreshOnRead?: boolean };
}

/** What a put writes into a memory. */
interface Content {
  text: string;
  metadata: JsonObject;
  tags: string[];
  ttlMs?: number;
}

/** A new item to add. */
interface PendingAdd {
  input: MemoryInput;
  content: Content;
}

/** The tag of items whose value has nothing to index (`index: false`, or fields not present). */
const UNINDEXED = "langgraph:unindexed";
/** The text of such items: no word, so no query matches it. */
const NO_TEXT = "·";
const MAX_TEXT = 32_768;
const PAGE = 1000;

/** The scope field that holds the key: `k:<key>`, or `h:<sha256>` when the key does not fit. */
export function encodeKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  if (key.length > 0 && key.length <= 250 && !/[\u0000-\u001f\u007f]/.test(key)) return `k:${key}`;
  return `h:${createHash("sha256").update(key).digest("hex")}`;
}

function textOf(value: Record<string, unknown>, fields: readonly string[]): string {
  const texts = fields.flatMap((f) => (f === "$" ? [JSON.stringify(value, null, 2)] : getTextAtPath(value, f)));
  let text = texts.filter((t) => t.trim().length > 0).join("\n");
  if (text.length > MAX_TEXT) {
    text = text.slice(0, MAX_TEXT);
    // Do not leave half of a surrogate pair at the cut.
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  }
  return text;
}

/**
 * LangGraph's `BaseStore` on contextd's long-term memory: `get`/`put`/`delete`, `search` with
 * `filter` (LangGraph's operators) and `query` (contextd's hybrid search), `listNamespaces`,
 * index fields, and a time to live with refresh on read.
 *
 * @example
 * ```ts
 * const store = new ContextdStore(await openStore("in-memory:"));
 * await store.put(["users", "u1"], "prefs", { food: "spicy ramen" });
 * const item = await store.get(["users", "u1"], "prefs");
 * const hits = await store.search(["users"], { query: "what does u1 like to eat?" });
 * ```
 */
export class ContextdStore extends BaseStore {
  readonly #store: ItemStore;
  readonly #root: string;
  readonly #fields: readonly string[];
  readonly #ttlMs: number | null;
  readonly #refresh: boolean;
  #writing: Promise<void> = Promise.resolve();

  /**
   * @param store any contextd store with long-term memory
   * @throws `INVALID_INPUT` for a reserved or empty `root`, or a `ttl` that is not a positive integer
   */
  constructor(store: ItemStore, options: ContextdStoreOptions = {}) {
    super();
    this.#store = store;
    const root = options.root ?? "lgstore";
    if (typeof root !== "string" || root.length === 0 || root === "contextd" || root === "langgraph") {
      throw invalidInput("options.root", `must be a namespace label other than "contextd" and "langgraph", got ${JSON.stringify(root)}`);
    }
    this.#root = root;
    this.#fields = options.index?.fields ?? ["$"];
    const ttl = options.ttl?.defaultTtlMs;
    if (ttl !== undefined && (!Number.isSafeInteger(ttl) || ttl < 1)) throw invalidInput("options.ttl.defaultTtlMs", "must be a positive integer (ms)");
    this.#ttlMs = ttl ?? null;
    this.#refresh = ttl !== undefined && options.ttl?.refreshOnRead !== false;
  }

  /**
   * Runs LangGraph's operations like `InMemoryStore`: the reads (get, search, listNamespaces)
   * see the store as it was before the batch; then the puts and deletes, the last one of each
   * namespace and key.
   * @throws `INVALID_INPUT` for a put under the root `langgraph`, which LangGraph reserves (a
   *   get, search or delete there finds nothing)
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const writes = new Map<string, PutOperation>();
    for (const op of operations) {
      // As BaseStore's own methods: only a put (a value) needs a namespace and refuses the root "langgraph".
      if ("namespace" in op) validateNamespace(op.namespace, { allowEmpty: !("value" in op) || op.value === null, allowReservedRoot: true });
      if ("value" in op) {
        if (op.value !== null && op.namespace[0] === "langgraph") {
          throw invalidInput("namespace[0]", `"langgraph" is the namespace root LangGraph reserves for itself; put items under another root label`);
        }
        writes.set(JSON.stringify([op.namespace, op.key]), op);
      }
    }
    const results = await Promise.all(
      operations.map((op): Promise<unknown> => {
        if ("value" in op) return Promise.resolve(null);
        if ("key" in op) return this.#get(op);
        if ("namespacePrefix" in op) return this.#search(op);
        return listNamespaces(this.#store, this.#root, op);
      }),
    );
    if (writes.size > 0) {
      // One batch's writes at a time: two concurrent first puts of a key must not both add it.
      const run = this.#writing.then(() => this.#writeAll([...writes.values()]));
      this.#writing = run.catch(() => undefined);
      await run;
    }
    return results as OperationResults<Op>;
  }

  async #writeAll(writes: PutOperation[]): Promise<void> {
    const adds: PendingAdd[] = [];
    for (const op of writes) {
      const add = await this.#write(op);
      if (add !== undefined) adds.push(add);
    }
    for (let i = 0; i < adds.length; i += PAGE) await this.#add(adds.slice(i, i + PAGE));
  }

  #scope(namespace: readonly string[], key?: string): MemoryScope {
    return key === undefined ? { namespace: [this.#root, ...namespace] } : { namespace: [this.#root, ...namespace], agentId: encodeKey(key) };
  }

  /** The memories of one item (one, unless two first puts of it raced). */
  async #find(namespace: readonly string[], key: string): Promise<Memory[]> {
    const out: Memory[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#store.listMemories({ scope: this.#scope(namespace, key), order: "asc", limit: PAGE, ...(cursor !== undefined && { cursor }) });
      for (const m of page.items) if (m.scope.namespace.length === namespace.length + 1 && this.#keyOf(m) === key) out.push(m);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return out;
  }

  #keyOf(m: Memory): string {
    return typeof m.value === "string" ? m.value : (m.scope.agentId ?? "").slice(2);
  }

  #item(m: Memory): Item {
    return {
      namespace: m.scope.namespace.slice(1),
      key: this.#keyOf(m),
      value: m.metadata as Record<string, unknown>,
      createdAt: new Date(m.createdAt),
      updatedAt: new Date(m.updatedAt),
    };
  }

  /** With refresh on read, the memory with its expiry moved (gone meanwhile: as it was). */
  async #refreshed(m: Memory): Promise<Memory> {
    if (!this.#refresh || m.ttlMs === null) return m;
    try {
      return await this.#store.getMemory(m.id, { refresh: true });
    } catch (e) {
      if (isContextError(e, "NOT_FOUND")) return m;
      throw e;
    }
  }

  async #get(op: GetOperation): Promise<Item | null> {
    if (op.namespace.length === 0) return null;
    const [m] = await this.#find(op.namespace, op.key);
    return m === undefined ? null : this.#item(await this.#refreshed(m));
  }

  /** Applies a put or delete, except the add of a new item, which it returns (adds go in one call). */
  async #write(op: PutOperation): Promise<PendingAdd | undefined> {
    const found = await this.#find(op.namespace, op.key);
    if (op.value === null) {
      for (const m of found) await this.#deleteQuietly(m.id);
      return undefined;
    }
    const text = op.index === false ? "" : textOf(op.value, op.index ?? this.#fields);
    const content: Content = {
      text: text.length > 0 ? text : NO_TEXT,
      // As LangGraph's database stores keep values: JSON text (a Date becomes its ISO string).
      metadata: JSON.parse(JSON.stringify(op.value)) as JsonObject,
      tags: text.length > 0 ? [] : [UNINDEXED],
      ...(this.#ttlMs !== null && { ttlMs: this.#ttlMs }),
    };
    const [current, ...extra] = found;
    // Two first puts that raced left two memories: keep the oldest, as one item.
    for (const m of extra) await this.#deleteQuietly(m.id);
    if (current !== undefined) {
      await this.#replace(current, content);
      return undefined;
    }
    return { input: { scope: this.#scope(op.namespace, op.key), value: op.key, ...content }, content };
  }

  /** Adds new items in one atomic `addMemories`. */
  async #add(pending: PendingAdd[]): Promise<void> {
    const added = await this.#store.addMemories(pending.map((p) => p.input));
    for (const [i, a] of added.entries()) {
      const p = pending[i] as PendingAdd;
      if (a.outcome === "created") continue;
      // The same text is stored for this key already: a racing put (take it over; if a racing
      // delete took it meanwhile, add afresh). An expired item never comes back here: contextd
      // purges it when its text is added again.
      try {
        await this.#replace(a.memory, p.content);
      } catch (e) {
        if (!isContextError(e, "NOT_FOUND")) throw e;
        await this.#deleteQuietly(a.memory.id);
        await this.#store.addMemories(p.input);
      }
    }
  }

  /** Replaces a memory's content (createdAt stays), compare-and-set on the version read. */
  async #replace(m: Memory, content: Content): Promise<void> {
    const update = { ...content, ...(content.ttlMs === undefined && { ttlMs: null }) };
    try {
      await this.#store.updateMemory(m.id, update, { expectedVersion: m.version });
    } catch (e) {
      // Another memory of this scope (so of this very item, written by a racing put) holds the
      // new text: it goes, and the update is made again.
      const holder = isContextError(e, "ALREADY_EXISTS") ? e.details?.existingId : undefined;
      if (typeof holder !== "string" || holder === m.id) throw e;
      await this.#deleteQuietly(holder);
      await this.#store.updateMemory(m.id, update, { expectedVersion: m.version });
    }
  }

  async #deleteQuietly(id: string): Promise<void> {
    try {
      await this.#store.deleteMemory(id);
    } catch (e) {
      if (!isContextError(e, "NOT_FOUND")) throw e;
    }
  }

  async #search(op: SearchOperation): Promise<SearchItem[]> {
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    const scope = this.#scope(op.namespacePrefix);
    const filter = op.filter as JsonObject | undefined;
    if (op.query === undefined || op.query.length === 0) {
      const items = await this.#list(scope, filter, offset + limit);
      const page = await Promise.all(items.slice(offset).map((m) => this.#refreshed(m)));
      return page.map((m) => ({ ...this.#item(m), score: undefined }));
    }
    // Items with nothing indexed follow the ranked ones, unscored (as in InMemoryStore); they
    // can take places among contextd's hits (by their placeholder's vector), so ask for more.
    const unindexed = await this.#list(scope, filter, PAGE, [UNINDEXED]);
    const asked = Math.min(1000, offset + limit + unindexed.length);
    const hits = await this.#store.searchMemories({
      text: op.query,
      scope,
      ...(filter !== undefined && { filter }),
      limit: asked,
      ...(this.#refresh && { refresh: true }),
    });
    const ranked: SearchItem[] = hits.filter((h) => !h.memory.tags.includes(UNINDEXED)).map((h) => ({ ...this.#item(h.memory), score: h.score }));
    if (ranked.length >= offset + limit || hits.length >= asked) return ranked.slice(offset, offset + limit);
    const rest = unindexed.slice(Math.max(0, offset - ranked.length), offset + limit - ranked.length);
    const refreshed = await Promise.all(rest.map((m) => this.#refreshed(m)));
    return [...ranked.slice(offset), ...refreshed.map((m) => ({ ...this.#item(m), score: undefined }))];
  }

  /** The first `count` memories selected, oldest first. */
  async #list(scope: MemoryScope, filter: JsonObject | undefined, count: number, tags?: string[]): Promise<Memory[]> {
    const out: Memory[] = [];
    let cursor: string | undefined;
    while (out.length < count) {
      const page = await this.#store.listMemories({
        scope,
        order: "asc",
        limit: Math.min(PAGE, count - out.length),
        ...(filter !== undefined && { filter }),
        ...(tags !== undefined && { tags }),
        ...(cursor !== undefined && { cursor }),
      });
      out.push(...page.items);
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    return out;
  }
}
