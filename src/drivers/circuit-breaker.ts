/**
 * `circuitBreaker(inner)`: a wrapping tier that stops calling a backend that keeps failing.
 * After `failureThreshold` calls in a row fail with `DRIVER_UNAVAILABLE`, every call fails at
 * once with `DRIVER_UNAVAILABLE` (details `{ circuit, state: "open", retryInMs }`, the last
 * failure as `cause`) instead of waiting for a connect timeout; after `openMs` one call goes
 * through as the probe (a health check is one too), and its success closes the circuit.
 * Other errors (NOT_FOUND, VERSION_CONFLICT, …) are answers from the backend: they count as
 * successes. The state machine is `core/circuit.ts`.
 */
import { ContextError, isContextError } from "../errors.js";
import { createCircuit } from "../core/circuit.js";
import type { Circuit, CircuitOptions, CircuitTransition } from "../core/circuit.js";
import type { Driver } from "./driver.js";
import { DRIVER_METHODS, OPTIONAL_DRIVER_METHODS, wrapDriver } from "./wrap.js";
import type { DriverOverrides } from "./wrap.js";

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions extends CircuitOptions {
  /** The circuit's name in logs, health and metrics. @default the inner driver's name */
  name?: string;
  /** Called on every transition (besides the process-wide `onCircuitTransition` listeners). */
  onTransition?: (t: CircuitTransition) => void;
}

/** Methods that are not calls to the backend. */
const UNGUARDED = new Set<string>(["open", "close", "subscribe"]);

/**
 * Wraps `inner` with a circuit breaker (see the module docs). `openStore` puts one in front of
 * PostgreSQL (the `circuit` option).
 * @example
 * ```ts
 * const store = await createStore(circuitBreaker(postgresDriver({ connectionString }), { failureThreshold: 3, openMs: 2000 }));
 * ```
 */
export function circuitBreaker(inner: Driver, options: CircuitBreakerOptions = {}): Driver & { readonly circuit: Circuit } {
  const name = options.name ?? inner.name;
  const circuit = createCircuit(name, name.split(/[+:]/)[0] ?? name, options);

  const unavailable = (): ContextError => {
    const retryInMs = circuit.retryInMs();
    const cause = circuit.lastFailure;
    return new ContextError(
      "DRIVER_UNAVAILABLE",
      `${name} is unavailable: its circuit is ${circuit.state} after ${circuit.snapshot().failures} failures in a row` +
        (circuit.state === "open" ? `; the next probe goes out in ${retryInMs} ms` : "; a probe is in flight"),
      { ...(cause !== undefined && { cause }), details: { circuit: name, state: circuit.state, retryInMs } },
    );
  };

  async function guarded<T>(run: () => Promise<T>): Promise<T> {
    const admission = circuit.admit();
    if (admission === "reject") throw unavailable();
    const probe = admission === "probe";
    try {
      const result = await run();
      circuit.succeed(probe);
      return result;
    } catch (e) {
      if (isContextError(e, "DRIVER_UNAVAILABLE")) circuit.fail(e, probe);
      // A caller's abort or a closed store says nothing about the backend; a probe must end.
      else if (isContextError(e, "ABORTED") || isContextError(e, "CLOSED")) {
        if (probe) circuit.fail(e, true);
      } else circuit.succeed(probe);
      throw e;
    }
  }

  const area = <A extends object>(a: A | undefined): A | undefined =>
    a === undefined
      ? undefined
      : new Proxy(a, {
          get(target, prop) {
            const v: unknown = Reflect.get(target, prop, target);
            if (typeof v !== "function") return v;
            return (...args: unknown[]) => guarded(() => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
          },
        });

  const overrides: Record<string, unknown> = {};
  for (const m of [...DRIVER_METHODS, ...OPTIONAL_DRIVER_METHODS]) {
    if (UNGUARDED.has(m)) continue;
    const method = inner[m] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (method !== undefined) overrides[m] = (...args: unknown[]) => guarded(() => method.apply(inner, args));
  }
  const ping = inner.ping.bind(inner);
  const driver = wrapDriver(inner, {
    ...(overrides as DriverOverrides),
    search: area(inner.search),
    memory: area(inner.memory),
    ping: async (call) => {
      const details = await guarded(() => ping(call));
      return { ...details, circuit: circuit.snapshot() };
    },
    async close() {
      circuit.dispose();
      await inner.close();
    },
  });
  return Object.assign(driver, { circuit });
}
