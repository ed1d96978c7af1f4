/**
 * Running totals of every timed operation, per layer and operation: a count, the errors and
 * a fine latency histogram, added to by the metered tiers as they time an operation and read
 * by the performance monitor at its own interval (it keeps the differences between two reads
 * as one window).
 *
 * The tiers bind one {@link OperationTimings} per operation when they are made, so recording
 * is a few additions: no sample object, no string key, no listener call. Listeners of
 * `onSample` (an application's own) still hear every sample, at the cost of one object each.
 * Totals are kept only while a reader holds them ({@link TimingTable.keep}): a store without
 * a monitor (most embedded ones) pays one test per operation.
 */

/** Latency buckets: bucket i holds (10 µs × 1.25^(i-1), 10 µs × 1.25^i], i < 80 (up to ~570 s). */
export const LATENCY_BASE = 0.00001;
export const LATENCY_RATIO = 1.25;
export const LATENCY_BUCKETS = 80;
/** Upper bound of each latency bucket but the last (which holds everything above). */
const LATENCY_BOUNDS = Float64Array.from({ length: LATENCY_BUCKETS - 1 }, (_, i) => LATENCY_BASE * LATENCY_RATIO ** i);

/**
 * The latency bucket of `seconds`: a binary search of the bounds (seven comparisons), not a
 * logarithm, which is a call out of optimized code into V8's C++ math library three times per
 * HTTP append.
 */
export function latencyBucket(seconds: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seconds <= (LATENCY_BOUNDS[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Where a timed operation happened: `store` (an API operation), `driver` (a driver call), `embedding` or `http`. */
export type OperationLayer = "store" | "driver" | "embedding" | "http";

/** One timed operation, as `onSample` listeners hear it. */
export interface OperationSample {
  layer: OperationLayer;
  operation: string;
  /** `ok`, or the error code. */
  outcome: string;
  seconds: number;
}

/** The running totals of one (layer, operation) since the store opened. */
export interface OperationTimings {
  readonly layer: OperationLayer;
  readonly operation: string;
  readonly count: number;
  readonly errors: number;
  /** Observations per latency bucket ({@link latencyBucket}); read only. */
  readonly latency: Uint32Array;
  /** Adds one observation (`outcome`: `ok` or the error code). */
  observe(seconds: number, outcome: string): void;
}

/** Every {@link OperationTimings} of one store, and the `onSample` listeners. */
export interface TimingTable {
  /** The totals of `operation` in `layer` (made on first use; bind it once). */
  of(layer: OperationLayer, operation: string): OperationTimings;
  /** Every (layer, operation) timed so far. */
  all(): Iterable<OperationTimings>;
  /** Keeps the totals counting until the returned release is called (the monitor holds them). */
  keep(): () => void;
  onSample(listener: (sample: OperationSample) => void): () => void;
}

/** Makes an empty table. */
export function createTimingTable(): TimingTable {
  const layers = new Map<OperationLayer, Map<string, OperationTimings>>();
  const listeners = new Set<(s: OperationSample) => void>();
  let keepers = 0;
  const emit = (sample: OperationSample): void => {
    for (const l of listeners) {
      try {
        l(sample);
      } catch {
        // A listener's failure is its own.
      }
    }
  };
  const make = (layer: OperationLayer, operation: string): OperationTimings => {
    const latency = new Uint32Array(LATENCY_BUCKETS);
    const t = {
      layer,
      operation,
      count: 0,
      errors: 0,
      latency,
      observe(seconds: number, outcome: string): void {
        if (keepers > 0) {
          t.count++;
          if (outcome !== "ok") t.errors++;
          (latency[latencyBucket(seconds)] as number)++;
        }
        if (listeners.size > 0) emit({ layer, operation, outcome, seconds });
      },
    };
    return t;
  };
  return {
    of(layer, operation) {
      let ops = layers.get(layer);
      if (ops === undefined) layers.set(layer, (ops = new Map()));
      let t = ops.get(operation);
      if (t === undefined) ops.set(operation, (t = make(layer, operation)));
      return t;
    },
    *all() {
      for (const ops of layers.values()) yield* ops.values();
    },
    keep() {
      keepers++;
      let kept = true;
      return () => {
        if (kept) keepers--;
        kept = false;
      };
    },
    onSample(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
