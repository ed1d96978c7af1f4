/**
 * What all tenant views of one store share: the driver, options, the schema cache,
 * the open/closed state and the watchers to wake on close.
 */
import { ContextError, contextNotFound, isContextError } from "../errors.js";
import type { ContextRecord, Driver, DriverCall, EventRecord } from "../drivers/driver.js";
import { SchemaValidator } from "./state-validator.js";
import type { Embedder } from "./embedder.js";
import { MemoryIndex } from "./memory-index.js";
import { DEFAULT_LIMITS, iso, throwIfAborted, type StoreLimits } from "./validate.js";
import type { CallOptions, ContextEvent, ContextInfo, JsonValue } from "./types.js";

/** Counts the tokens of an event as it is appended (see `defaultTokenCounter`). */
export type TokenCounter = (event: { type: string; data: JsonValue }) => number | null;

/** Options of `createStore` / `openStore`. */
export interface StoreOptions {
  /** The tenant of the returned view. @default "default" */
  tenant?: string;
  /** Size limits of input. */
  limits?: Partial<StoreLimits>;
  /** A full state checkpoint every this many versions, so rebuilding any version replays at most this many writes. @default 32 */
  checkpointEvery?: number;
  /** Fills `tokens` of appended events that do not carry it. @default none */
  tokenCounter?: TokenCounter;
  /** Purge expired contexts of all tenants on this interval; 0 turns it off. @default 0 */
  purgeIntervalMs?: number;
  /** How often a waiting `acquireLease` re-checks a lease held elsewhere. @default 50 */
  leasePollMs?: number;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
  /**
   * The embedding model of long-term memory (and of the history's vector search); `null` for
   * none (text search only). `openStore` and `createStore` default to the built-in
   * Universal Sentence Encoder. @default null (for `createCoreStore`)
   */
  embedder?: Embedder | null;
}

/** The shared core of a store. */
export class Engine {
  readonly driver: Driver;
  readonly limits: StoreLimits;
  readonly checkpointEvery: number;
  readonly tokenCounter: TokenCounter | undefined;
  readonly leasePollMs: number;
  readonly now: () => number;
  readonly schemas = new SchemaValidator();
  readonly embedder: Embedder | null;
  readonly #memoryIndexes = new Map<string, MemoryIndex>();
  /** Called once when the store closes (watchers and lease waits end). */
  readonly onClose = new Set<() => void>();
  #closed = false;
  #closing: Promise<void> | undefined;
  #purgeTimer: NodeJS.Timeout | undefined;

  constructor(driver: Driver, options: StoreOptions) {
    this.driver = driver;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.checkpointEvery = options.checkpointEvery ?? 32;
    this.tokenCounter = options.tokenCounter;
    this.leasePollMs = options.leasePollMs ?? 50;
    this.now = options.now ?? Date.now;
    this.embedder = options.embedder ?? null;
    const interval = options.purgeIntervalMs ?? 0;
    if (interval > 0) {
      this.#purgeTimer = setInterval(() => {
        // A failed background purge is retried on the next tick; the error is not lost
        // to the caller because no caller is waiting on it.
        this.driver.purgeExpired(undefined, { now: this.now() }).catch(() => undefined);
      }, interval);
      this.#purgeTimer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws `CLOSED` or `ABORTED` before any work starts. */
  enter(options: CallOptions | undefined): void {
    if (this.#closed) throw new ContextError("CLOSED", "the store is closed");
    throwIfAborted(options);
  }

  /**
   * Enters (see {@link Engine.enter}) and returns what the driver calls of this operation
   * carry: one reading of the store's clock, and the caller's signal.
   */
  begin(options: CallOptions | undefined): DriverCall {
    this.enter(options);
    return { now: this.now(), signal: options?.signal };
  }

  /** The in-process memory index of `tenant` (created empty; callers catch it up before use). */
  memoryIndex(tenant: string): MemoryIndex {
    let index = this.#memoryIndexes.get(tenant);
    if (index === undefined) {
      index = new MemoryIndex(tenant, this.embedder?.model ?? null, this.embedder?.dimensions ?? null);
      this.#memoryIndexes.set(tenant, index);
    }
    return index;
  }

  /** Runs a driver call, turning a stray native error into `INTERNAL` (drivers wrap their own). */
  async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw this.driverError(e);
    }
  }

  /**
   * What a driver's failure becomes for the caller: a {@link ContextError} as it is, `CLOSED`
   * once the store closed, anything else `INTERNAL` with the cause. {@link Engine.run} applies
   * it; a hot path that awaits the driver itself (one async frame less) applies it in its catch.
   */
  driverError(e: unknown): ContextError {
    if (isContextError(e)) return e;
    if (this.#closed) return new ContextError("CLOSED", "the store is closed", { cause: e });
    return new ContextError("INTERNAL", `driver ${this.driver.name} failed: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      if (this.#purgeTimer) clearInterval(this.#purgeTimer);
      for (const wake of this.onClose) wake();
      this.onClose.clear();
      this.#memoryIndexes.clear();
      await this.driver.close();
    })();
    return this.#closing;
  }
}

/** A driver record as the public {@link ContextInfo}. */
export function toContextInfo(r: ContextRecord): ContextInfo {
  return {
    id: r.id,
    tenant: r.tenant,
    kind: r.kind,
    userId: r.userId,
    chatId: r.chatId,
    agentId: r.agentId,
    title: r.title,
    metadata: r.metadata,
    version: r.version,
    lastSeq: r.lastSeq,
    status: r.status,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    expiresAt: r.expiresAt === null ? null : iso(r.expiresAt),
    parentId: r.parentId,
    parentVersion: r.parentVersion,
    parentSeq: r.parentSeq,
  };
}

/** A driver event as the public {@link ContextEvent}. */
export function toContextEvent(contextId: string, e: EventRecord): ContextEvent {
  return {
    contextId,
    seq: e.seq,
    type: e.type,
    timestamp: iso(e.timestamp),
    data: e.data,
    metadata: e.metadata,
    tokens: e.tokens,
    version: e.version,
  };
}

/** `NOT_SUPPORTED`: the store's driver lacks an optional area (see `DriverCapabilities`). */
export function notSupported(engine: Engine, area: string): ContextError {
  return new ContextError("NOT_SUPPORTED", `the ${engine.driver.name} driver has no ${area}`, {
    details: { driver: engine.driver.name, area },
  });
}

/** Throws `NOT_FOUND` unless the context exists (and has not expired) in `tenant`. */
export async function requireContext(engine: Engine, tenant: string, id: string, call: DriverCall): Promise<void> {
  if ((await engine.run(() => engine.driver.getContext(tenant, id, call))) === null) throw contextNotFound(id);
}
