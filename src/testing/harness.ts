/**
 * The harness every conformance file shares: the store of the current test, skip rules and
 * the few helpers (expected errors, bounded waits, fingerprints) the feature files use.
 */
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { isContextError } from "../errors.js";
import type { ContextError, ContextErrorCode } from "../errors.js";
import type { ContextEvent, JsonObject, StoreCapabilities } from "../core/types.js";
import type { ContextStore } from "../agent/types.js";
import { TEST_EMBEDDER_MODEL } from "./test-embedder.js";

/** A feature of the suite; each can be skipped as a whole. */
export type ConformanceFeature =
  | "contexts"
  | "state"
  | "history"
  | "search"
  | "snapshots"
  | "timeTravel"
  | "activeContext"
  | "schemas"
  | "leases"
  | "watch"
  | "retention"
  | "tenancy"
  | "badInput"
  | "errors"
  | "clock"
  | "memory"
  | "forks"
  | "blocks";

/**
 * Abilities some targets lack. The suite reads the store's `health().capabilities` once and
 * skips, saying why, the tests of what the driver declares it lacks (`search`,
 * `crossProcessWatch`); the others depend on the options:
 * - `crossProcessWatch`: a watcher on one store sees commits made through a second store on
 *   the same backend (needs {@link ConformanceOptions.openPeer}).
 * - `sharedBackend`: two stores on one backend see each other's data, compare-and-set and
 *   leases (needs {@link ConformanceOptions.openPeer}).
 * - `largeValues`: the 16 MiB / 1 MiB size limits are checked with values just above them.
 *
 * Tests that need `openPeer` are skipped, with that reason, when it is not given.
 */
export type ConformanceCapability = "crossProcessWatch" | "sharedBackend" | "largeValues" | "testEmbedder";

const NEEDS_PEER: readonly ConformanceSkipKey[] = ["crossProcessWatch", "sharedBackend"];

/** What {@link ConformanceOptions.skip} can name. */
export type ConformanceSkipKey = ConformanceFeature | ConformanceCapability;

/** Options of `describeConformance`. */
export interface ConformanceOptions {
  /** Features or abilities to skip, each with the reason printed in the test name. */
  skip?: Partial<Record<ConformanceSkipKey, string>>;
  /**
   * Opens a second store on the same backend as `store` (another connection, as another
   * process would). Needed by the `crossProcessWatch` tests; the suite closes it.
   */
  openPeer?: (store: ContextStore) => Promise<ContextStore>;
  /**
   * Run every test in a fresh random tenant (`store.withTenant(…)`), so that lists and
   * `purgeExpired` only see the test's own contexts on a shared database.
   * @default true
   */
  isolateTenants?: boolean;
  /** Upper bound of every wait on a condition (a failure guard, not a speed limit). @default 10000 */
  waitTimeoutMs?: number;
  /**
   * Opens a store on the same kind of backend whose clock is `now` (`StoreOptions.now`), for
   * the tests of everything time-dependent (expiry, leases, timestamps, time travel) without
   * waiting. Without it those tests are skipped, saying so (e.g. the HTTP client: the server
   * keeps its own clock).
   */
  openWithClock?: (now: () => number) => Promise<ContextStore>;
}

/** The capability each skip key needs, with the reason printed when the driver lacks it. */
const NEEDS_CAPABILITY: Partial<Record<ConformanceSkipKey, keyof StoreCapabilities>> = {
  search: "search",
  memory: "memory",
  blocks: "blocks",
  testEmbedder: "memory",
  crossProcessWatch: "crossProcessWatch",
};

/** What the suite learns from the store's `health()` once. */
interface Probe {
  capabilities: StoreCapabilities;
  embedderModel: string | null;
}

/** The test-time view of the suite that feature files register their tests with. */
export interface Suite {
  readonly options: ConformanceOptions;
  /** The store of the running test, in its own tenant unless `isolateTenants` is false. */
  readonly store: ContextStore;
  /** The store `makeStore` returned for the running test (close it to test `CLOSED`). */
  readonly root: ContextStore;
  /** A fresh store from `makeStore`, closed after the test. */
  makeStore(): Promise<ContextStore>;
  /** A second store on the same backend as the running test's, closed after the test. */
  openPeer(): Promise<ContextStore>;
  /**
   * A store whose clock is `clock.now` (see {@link ConformanceOptions.openWithClock}), in a
   * fresh tenant, closed after the test.
   */
  openWithClock(clock: TestClock): Promise<ContextStore>;
  /** Registers a test, skipped with its reason when one of `keys` is skipped. */
  test(keys: ConformanceSkipKey | ConformanceSkipKey[], name: string, fn: () => Promise<void>, timeoutMs?: number): void;
  /** The bound of waits on conditions. */
  readonly waitMs: number;
}

/** Creates the suite and registers the per-test store hooks in the current `describe`. */
export function createSuite(makeStore: () => Promise<ContextStore>, options: ConformanceOptions): Suite {
  let root: ContextStore | undefined;
  let view: ContextStore | undefined;
  let extra: ContextStore[] = [];
  const isolate = options.isolateTenants ?? true;
  let probed: Probe | undefined;

  beforeAll(async () => {
    const probe = await makeStore();
    try {
      const h = await probe.health();
      probed = { capabilities: h.capabilities, embedderModel: h.embedder?.model ?? null };
    } finally {
      await probe.close();
    }
  });

  /** Why a test of `keys` cannot run on this store, or undefined. */
  const lacking = (keys: ConformanceSkipKey[]): string | undefined => {
    for (const k of keys) {
      const c = NEEDS_CAPABILITY[k];
      if (c !== undefined && probed?.capabilities[c] === false) return `the driver declares capabilities.${c} = false`;
      if (k === "testEmbedder" && probed !== undefined && probed.embedderModel !== TEST_EMBEDDER_MODEL) {
        return `the store's embedding model is ${probed.embedderModel ?? "none"}; open it with testEmbedder() from contextd/testing`;
      }
    }
    return undefined;
  };

  beforeEach(async () => {
    root = await makeStore();
    view = isolate ? root.withTenant(randomName("t")) : root;
  });
  afterEach(async () => {
    const all = [...extra, root];
    extra = [];
    root = undefined;
    view = undefined;
    for (const s of all) await s?.close();
  });

  const suite: Suite = {
    options,
    waitMs: options.waitTimeoutMs ?? 10_000,
    get store(): ContextStore {
      if (view === undefined) throw new Error("no store: used outside a test");
      return view;
    },
    get root(): ContextStore {
      if (root === undefined) throw new Error("no store: used outside a test");
      return root;
    },
    async makeStore() {
      const s = await makeStore();
      extra.push(s);
      return s;
    },
    async openWithClock(clock) {
      if (options.openWithClock === undefined) throw new Error("ConformanceOptions.openWithClock is not set");
      const store = await options.openWithClock(() => clock.now);
      extra.push(store);
      return isolate ? store.withTenant(randomName("t")) : store;
    },
    async openPeer() {
      if (options.openPeer === undefined) throw new Error("ConformanceOptions.openPeer is not set");
      const peer = await options.openPeer(suite.root);
      extra.push(peer);
      return isolate ? peer.withTenant(suite.store.tenant) : peer;
    },
    test(keys, name, fn, timeoutMs) {
      const list = Array.isArray(keys) ? keys : [keys];
      const skipped = list.find((k) => options.skip?.[k] !== undefined);
      if (skipped !== undefined) {
        it.skip(`${name} [skipped: ${options.skip?.[skipped] ?? ""}]`, () => {});
        return;
      }
      if (options.openPeer === undefined && list.some((k) => NEEDS_PEER.includes(k))) {
        it.skip(`${name} [skipped: needs ConformanceOptions.openPeer]`, () => {});
        return;
      }
      if (options.openWithClock === undefined && list.includes("clock")) {
        it.skip(`${name} [skipped: needs ConformanceOptions.openWithClock]`, () => {});
        return;
      }
      if (!list.some((k) => NEEDS_CAPABILITY[k] !== undefined)) {
        it(name, fn, timeoutMs);
        return;
      }
      it(
        name,
        async (ctx) => {
          const why = lacking(list);
          if (why !== undefined) ctx.skip(why);
          await fn();
        },
        timeoutMs,
      );
    },
  };
  return suite;
}

/** A clock a test moves by hand: the store reads `now`, the test advances it. */
export class TestClock {
  now: number;
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.now = start;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }
  /** The clock as the ISO text the store returns. */
  get iso(): string {
    return new Date(this.now).toISOString();
  }
}

/** A random name with a prefix, unique across processes sharing one database. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/**
 * Runs `call` (catching a synchronous throw too), expects it to fail with a ContextError of
 * `code`, and returns the error.
 */
export async function expectError(call: () => unknown, code: ContextErrorCode): Promise<ContextError> {
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await call() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  if (outcome.ok) {
    expect.fail(`expected a ContextError ${code}, but the call succeeded with ${preview(outcome.value)}`);
  }
  const error = outcome.error;
  if (!isContextError(error)) {
    expect.fail(`expected a ContextError ${code}, got ${error instanceof Error ? `${error.name}: ${error.message}` : preview(error)}`);
  }
  expect(error.code, `error code (message: ${error.message})`).toBe(code);
  return error;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 200);
  } catch {
    return String(value);
  }
}

/** Polls `condition` until it holds; fails after `timeoutMs`. A guard against hangs, not a sleep. */
export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) expect.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** Waits until the wall clock has passed `time` (so the next write gets a later millisecond). */
export async function clockPast(time: string | number): Promise<void> {
  const t = typeof time === "number" ? time : Date.parse(time);
  while (Date.now() <= t) await delay(1);
}

/** Resolves after `ms`; used only to pace retries of a condition. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with a descriptive error when `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `n` events from a watch iterator, failing after `timeoutMs`. */
export async function take(iter: AsyncIterator<ContextEvent>, n: number, timeoutMs: number): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  while (out.length < n) {
    const r = await within(iter.next(), timeoutMs, `watch event ${out.length + 1} of ${n}`);
    if (r.done === true) expect.fail(`watch ended after ${out.length} of ${n} events`);
    out.push(r.value);
  }
  return out;
}

/** Reads every event of a context, following cursors. */
export async function allEvents(store: ContextStore, id: string): Promise<ContextEvent[]> {
  const out: ContextEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.readEvents(id, { limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}

/** What must not change when a call fails: the tenant's contexts, one context's state, history, snapshots and lease. */
export async function fingerprint(store: ContextStore, id: string): Promise<unknown> {
  const list = await store.listContexts({ limit: 1000 });
  return {
    contexts: list.items.map((c) => JSON.stringify(c)),
    state: await store.getState(id),
    events: await store.countEvents(id),
    last: await store.lastEvents(id, 3),
    snapshots: (await store.listSnapshots(id)).map((s) => s.name),
    lease: await store.getLease(id),
    schemas: await store.listSchemas(),
  };
}

/** A context with some state, history and a snapshot, for tests that check nothing changed. */
export async function seedContext(store: ContextStore, kind = "seeded"): Promise<string> {
  const c = await store.createContext({ kind, title: "seed", metadata: { a: 1 }, state: { n: 1, list: [1, 2] } });
  await store.patchState(c.id, { n: 2, nested: { x: "y" } });
  await store.append(c.id, [{ type: "message", data: { text: "hi" } }, { type: "custom", data: [1, 2, 3] }]);
  await store.createSnapshot(c.id, { name: "seed" });
  return c.id;
}

/** Deep copy through JSON, so later mutations of a test's objects cannot leak into expectations. */
export function clone<T extends JsonObject>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
