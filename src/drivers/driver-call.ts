/**
 * The argument every driver method takes last (its own module so that the contract's files
 * can share it without importing each other in a circle).
 */

/**
 * What every driver call carries, as its last argument.
 * The store's clock reading decides expiry, lease validity and timestamps, so a store with
 * `StoreOptions.now` behaves the same on every driver; the caller's signal lets a driver stop
 * waiting (for a pooled connection, a lock, the network) when the caller gives up. A driver
 * never abandons a write that may already be committed: it checks the signal before it
 * starts a transaction, and may roll back one not yet committed.
 */
export interface DriverCall {
  /** The store's clock (epoch ms) when the call started. */
  now: number;
  /** The caller's signal, if any. */
  signal?: AbortSignal | undefined;
}
