/**
 * A circuit breaker: the state machine every backend tier shares (the PostgreSQL driver's
 * breaker, the Redis cache tier, the embedder). A leaf module (it imports nothing), so
 * drivers and embedding models may use it.
 *
 * - **closed**: calls go through; `failureThreshold` failures in a row open it.
 * - **open**: calls fail at once (the tier throws its own error code) until `openMs` has
 *   passed; then the next call is let through as the probe.
 * - **half-open**: one probe is in flight, every other call still fails fast. The probe's
 *   success closes the circuit; its failure opens it again for twice as long (at most
 *   `maxOpenMs`).
 *
 * Every transition goes to the circuit's own `onTransition` and to every listener of
 * {@link onCircuitTransition}; {@link circuitSnapshots} lists the live circuits of the process
 * with their counters (what metrics exporters and health reports read).
 */

/** The state of a circuit. */
export type CircuitState = "closed" | "open" | "half-open";

/** Timings and threshold of a circuit. */
export interface CircuitOptions {
  /** Failures in a row that open the circuit. @default 5 */
  failureThreshold?: number;
  /** How long an opened circuit fails fast before it lets a probe through, ms. @default 5000 */
  openMs?: number;
  /** Each failed probe doubles the open time, up to this, ms. @default 60000 */
  maxOpenMs?: number;
  /** The clock (tests pass a fake one). @default Date.now */
  now?: () => number;
}

/** One change of state. */
export interface CircuitTransition {
  /** The circuit's name, e.g. `postgres`, `redis`, `embedder`. */
  circuit: string;
  /** The kind of backend: `postgres`, `redis`, `embedder`, … (a bounded label). */
  backend: string;
  from: CircuitState;
  to: CircuitState;
  /** When, by the circuit's clock (ms since the epoch). */
  at: number;
  /** Failures in a row when it happened. */
  failures: number;
  /** The last failure's message (open transitions). */
  reason: string | null;
}

/** Counters of one circuit since it was made. */
export interface CircuitCounters {
  /** Transitions into `open`. */
  opened: number;
  /** Transitions into `half-open` (probes sent). */
  halfOpened: number;
  /** Transitions into `closed` (recoveries). */
  closed: number;
  /** Calls refused without reaching the backend. */
  rejected: number;
  failures: number;
  successes: number;
}

/** What a circuit looks like now. */
export interface CircuitSnapshot {
  name: string;
  backend: string;
  state: CircuitState;
  /** Failures in a row. */
  failures: number;
  /** When the circuit last opened, or `null`. */
  openedAt: number | null;
  /** When an open circuit lets its next probe through, or `null`. */
  nextProbeAt: number | null;
  /** The last failure's message, or `null`. */
  lastError: string | null;
  counters: CircuitCounters;
}

/** A circuit breaker (see the module docs). */
export interface Circuit {
  readonly name: string;
  readonly backend: string;
  readonly state: CircuitState;
  /**
   * Asks to make a call: `"call"` (closed), `"probe"` (this call is the half-open probe: report
   * its outcome with `probe` set) or `"reject"` (fail fast; counted).
   */
  admit(): "call" | "probe" | "reject";
  /** The backend answered. */
  succeed(probe?: boolean): void;
  /** The backend did not answer (`error` is kept as the reason). */
  fail(error: unknown, probe?: boolean): void;
  /** Opens the circuit at once, whatever the count (a tier that must stop at the first failure). */
  trip(error: unknown): void;
  /** Moves an open circuit to half-open for a probe the tier sends itself. */
  beginProbe(): void;
  /** How long until an open circuit lets a probe through, ms (0 when it is not open). */
  retryInMs(): number;
  /** The last failure itself (the `cause` of fast failures), or `undefined`. */
  readonly lastFailure: unknown;
  snapshot(): CircuitSnapshot;
  /** Removes it from {@link circuitSnapshots} (its tier closed). */
  dispose(): void;
}

const live = new Set<Circuit>();
const listeners = new Set<(t: CircuitTransition) => void>();

/**
 * Calls `listener` on every transition of every circuit of this process (to log, count or
 * export them). Returns the function that removes it.
 * @example
 * ```ts
 * const off = onCircuitTransition((t) => console.warn(`${t.circuit}: ${t.from} → ${t.to}`));
 * off();
 * ```
 */
export function onCircuitTransition(listener: (t: CircuitTransition) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

/** The circuits of this process that are in use, as they are now. */
export function circuitSnapshots(): CircuitSnapshot[] {
  return [...live].map((c) => c.snapshot());
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Makes a circuit named `name` for a backend of kind `backend`.
 * @example
 * ```ts
 * const circuit = createCircuit("postgres", "postgres", { failureThreshold: 3, openMs: 1000 });
 * if (circuit.admit() === "reject") throw new Error("unavailable");
 * ```
 */
export function createCircuit(
  name: string,
  backend: string,
  options: CircuitOptions & { onTransition?: (t: CircuitTransition) => void } = {},
): Circuit {
  const threshold = Math.max(1, options.failureThreshold ?? 5);
  const baseOpenMs = Math.max(0, options.openMs ?? 5000);
  const maxOpenMs = Math.max(baseOpenMs, options.maxOpenMs ?? 60_000);
  const now = options.now ?? Date.now;
  let state: CircuitState = "closed";
  let failures = 0;
  let openMs = baseOpenMs;
  let openedAt: number | null = null;
  let lastError: unknown;
  let probing = false;
  const counters: CircuitCounters = { opened: 0, halfOpened: 0, closed: 0, rejected: 0, failures: 0, successes: 0 };

  const move = (to: CircuitState): void => {
    const from = state;
    if (from === to) return;
    state = to;
    if (to === "open") {
      counters.opened++;
      openedAt = now();
    } else if (to === "half-open") counters.halfOpened++;
    else counters.closed++;
    const t: CircuitTransition = {
      circuit: name,
      backend,
      from,
      to,
      at: now(),
      failures,
      reason: to === "open" && lastError !== undefined ? message(lastError) : null,
    };
    for (const l of [options.onTransition, ...listeners]) {
      try {
        l?.(t);
      } catch {
        // A listener's failure is its own.
      }
    }
  };

  const circuit: Circuit = {
    name,
    backend,
    get state() {
      return state;
    },
    get lastFailure() {
      return lastError;
    },
    admit() {
      if (state === "closed") return "call";
      if (state === "open" && !probing && openedAt !== null && now() - openedAt >= openMs) {
        probing = true;
        move("half-open");
        return "probe";
      }
      counters.rejected++;
      return "reject";
    },
    succeed(probe = false) {
      counters.successes++;
      failures = 0;
      if (probe) probing = false;
      if (state !== "closed" && (probe || state === "half-open")) {
        openMs = baseOpenMs;
        move("closed");
      }
    },
    fail(error, probe = false) {
      counters.failures++;
      failures++;
      lastError = error;
      if (probe || state === "half-open") {
        probing = false;
        openMs = Math.min(maxOpenMs, Math.max(1, openMs) * 2);
        move("open");
        openedAt = now();
        return;
      }
      if (state === "closed" && failures >= threshold) move("open");
    },
    trip(error) {
      counters.failures++;
      failures++;
      lastError = error;
      probing = false;
      if (state === "half-open") openMs = Math.min(maxOpenMs, Math.max(1, openMs) * 2);
      move("open");
      openedAt = now();
    },
    beginProbe() {
      if (state === "open") move("half-open");
    },
    retryInMs() {
      if (state !== "open" || openedAt === null) return 0;
      return Math.max(0, openedAt + openMs - now());
    },
    snapshot() {
      return {
        name,
        backend,
        state,
        failures,
        openedAt,
        nextProbeAt: state === "open" && openedAt !== null ? openedAt + openMs : null,
        lastError: lastError === undefined ? null : message(lastError),
        counters: { ...counters },
      };
    },
    dispose() {
      live.delete(circuit);
    },
  };
  live.add(circuit);
  return circuit;
}
