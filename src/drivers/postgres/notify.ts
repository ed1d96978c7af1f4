/**
 * Cross-node change notices over LISTEN/NOTIFY, on one dedicated connection.
 *
 * Notices are hints: watchers read events from the table by sequence number. So when the
 * listening connection is lost, nothing is replayed from here: the listener reconnects
 * with backoff and then emits `{}` ("re-check everything"), and every watcher reads what
 * it missed from its last sequence number. No gap, no duplicate.
 */
import type { ChangeNotice } from "../driver.js";
import type { PgClient, PgNotification } from "./pg-module.js";

/** Options of {@link createNotifyListener}. */
export interface NotifyListenerOptions {
  /** Makes a new, not yet connected client. */
  makeClient: () => PgClient;
  /** The channel name (used quoted in LISTEN, so case matters). */
  channel: string;
  /** Notices carrying this origin were sent by this driver and are skipped. */
  origin: string;
  onNotice: (notice: ChangeNotice) => void;
  /** Reports a lost connection (once per outage). */
  onLost?: (e: unknown) => void;
  /** How often the listening connection is checked and watchers re-check (safety net). @default 10000 */
  checkIntervalMs?: number;
}

/** A running LISTEN connection. */
export interface NotifyListener {
  /** Resolves once LISTEN is in place (or rejects on the first failure; retries go on). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** Parses a notification payload `{t, c, s, o}`; anything unreadable becomes `{}` (re-check). */
export function parseNotice(payload: string | undefined): { notice: ChangeNotice; origin?: string } {
  try {
    const p = JSON.parse(payload ?? "") as { t?: unknown; c?: unknown; s?: unknown; o?: unknown };
    const notice: ChangeNotice = {};
    if (typeof p.t === "string") notice.tenant = p.t;
    if (typeof p.c === "string") notice.contextId = p.c;
    if (typeof p.s === "number") notice.lastSeq = p.s;
    return typeof p.o === "string" ? { notice, origin: p.o } : { notice };
  } catch {
    return { notice: {} };
  }
}

/** Starts listening; see the module docs. */
export function createNotifyListener(o: NotifyListenerOptions): NotifyListener {
  let client: PgClient | undefined;
  let closed = false;
  let lost = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let checkTimer: NodeJS.Timeout | undefined;
  const quoted = `"${o.channel.replace(/"/g, '""')}"`;

  const onNotification = (n: PgNotification) => {
    if (n.channel !== o.channel) return;
    const { notice, origin } = parseNotice(n.payload);
    if (origin !== undefined && origin === o.origin) return;
    o.onNotice(notice);
  };

  const drop = (c: PgClient, e: unknown) => {
    if (client !== c) return;
    client = undefined;
    c.removeAllListeners();
    c.on("error", () => undefined);
    c.end().catch(() => undefined);
    if (!lost) {
      lost = true;
      o.onLost?.(e);
    }
    schedule();
  };

  const schedule = () => {
    if (closed || retryTimer !== undefined) return;
    const delay = Math.min(2000, 50 * 2 ** Math.min(attempt, 6));
    attempt++;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch(() => undefined);
    }, delay);
    retryTimer.unref();
  };

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = o.makeClient();
    c.on("error", (e) => drop(c, e));
    c.on("end", () => drop(c, new Error("the LISTEN connection ended")));
    c.on("notification", onNotification);
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${quoted}`);
    } catch (e) {
      drop(c, e);
      throw e;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    attempt = 0;
    lost = false;
    // Anything may have been committed before LISTEN was in place (first connect, or while
    // the connection was down): every watcher re-reads from its last sequence number.
    o.onNotice({});
  };

  checkTimer = setInterval(() => {
    const c = client;
    if (c === undefined) return;
    // The check doubles as a safety net: a node that died between its commit and its
    // NOTIFY leaves watchers unwoken, so every watcher re-reads now and then.
    c.query("SELECT 1").then(
      () => o.onNotice({}),
      (e: unknown) => drop(c, e),
    );
  }, o.checkIntervalMs ?? 10_000);
  checkTimer.unref();

  const ready = connect();
  ready.catch(() => undefined);

  return {
    ready,
    async close() {
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (checkTimer !== undefined) clearInterval(checkTimer);
      retryTimer = checkTimer = undefined;
      const c = client;
      client = undefined;
      if (c !== undefined) {
        c.removeAllListeners();
        c.on("error", () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /** Makes a new, not yet connected client (its session should have `synchronous_commit=off`). */
  makeClient: () => PgClient;
  channel: string;
  origin: string;
  /** Reports a failed send (it is retried). */
  onError?: (e: unknown) => void;
  /** Notices of the commits within this many ms go out together. @default 2 */
  windowMs?: number;
}

/** Sends change notices to the other nodes; see {@link createNotifier}. */
export interface Notifier {
  /** Queues a notice for a commit that is already visible. Never blocks, never throws. */
  send(notice: ChangeNotice): void;
  close(): Promise<void>;
}

/**
 * Sends NOTIFYs after commits, on one dedicated connection, coalesced per context.
 *
 * Why not NOTIFY inside the commit's transaction: PostgreSQL serialises the commits of all
 * notifying transactions of a database behind one lock held across the WAL flush, which
 * caps every node together at one commit per flush and disables group commit. Sent
 * afterwards from a session with `synchronous_commit=off`, the lock is held for no flush,
 * and all notices of a short window (2 ms) and of the send in flight go out in one statement. A notice is a hint: a failed
 * send is retried on a new connection (a duplicate is harmless, watchers read by seq), and
 * listeners also re-check on a timer in case a node died between commit and send.
 */
export function createNotifier(o: NotifierOptions): Notifier {
  const pending = new Map<string, ChangeNotice>();
  let client: PgClient | undefined;
  let connecting: Promise<PgClient> | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let windowTimer: NodeJS.Timeout | undefined;
  const windowMs = o.windowMs ?? 2;

  const connect = (): Promise<PgClient> => {
    if (client !== undefined) return Promise.resolve(client);
    connecting ??= (async () => {
      const c = o.makeClient();
      c.on("error", () => {
        if (client === c) client = undefined;
      });
      c.on("end", () => {
        if (client === c) client = undefined;
      });
      try {
        await c.connect();
      } catch (e) {
        c.end().catch(() => undefined);
        throw e;
      }
      if (closed) {
        // close() ran while this connection was being made: it must not outlive the driver.
        await c.end().catch(() => undefined);
        throw new Error("the notifier is closed");
      }
      client = c;
      return c;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const flush = (): Promise<void> => {
    if (flushing !== undefined || closed || pending.size === 0) return Promise.resolve();
    flushing = send().then((sent) => {
      flushing = undefined;
      // Notices queued while this statement was in flight go out at once.
      if (sent && pending.size > 0 && windowTimer === undefined) void flush();
    });
    return flushing;
  };

  const send = async (): Promise<boolean> => {
    const batch = [...pending.values()];
    pending.clear();
    const payloads = batch.map((n) =>
      JSON.stringify(n.lastSeq === undefined ? { t: n.tenant, c: n.contextId, o: o.origin } : { t: n.tenant, c: n.contextId, s: n.lastSeq, o: o.origin }),
    );
    try {
      const c = await connect();
      await c.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [o.channel, payloads]);
      attempt = 0;
      return true;
    } catch (e) {
      const c = client;
      client = undefined;
      c?.end().catch(() => undefined);
      if (!closed) o.onError?.(e);
      // Put the batch back (newer notices for the same context win) and retry later.
      for (const n of batch) {
        const key = `${n.tenant}\u0000${n.contextId}`;
        const newer = pending.get(key);
        if (newer === undefined || (newer.lastSeq ?? 0) < (n.lastSeq ?? 0)) pending.set(key, n);
      }
      if (!closed && retryTimer === undefined) {
        retryTimer = setTimeout(() => {
          retryTimer = undefined;
          void flush();
        }, Math.min(2000, 50 * 2 ** Math.min(attempt++, 6)));
        retryTimer.unref();
      }
      return false;
    }
  };

  return {
    send(notice) {
      if (closed) return;
      const key = `${notice.tenant}\u0000${notice.contextId}`;
      const cur = pending.get(key);
      if (cur === undefined || cur.lastSeq === undefined || (notice.lastSeq ?? 0) >= cur.lastSeq) pending.set(key, notice);
      // Wait a moment, so that the commits of the next milliseconds share one statement.
      if (windowTimer === undefined && flushing === undefined) {
        windowTimer = setTimeout(() => {
          windowTimer = undefined;
          void flush();
        }, windowMs);
        windowTimer.unref();
      }
    },
    async close() {
      // Give the notices already queued one chance to leave.
      if (windowTimer !== undefined) clearTimeout(windowTimer);
      windowTimer = undefined;
      while (flushing !== undefined) await flushing;
      if (pending.size > 0 && client !== undefined) await flush();
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (windowTimer !== undefined) clearTimeout(windowTimer);
      const c = client;
      client = undefined;
      if (c !== undefined) await c.end().catch(() => undefined);
    },
  };
}
