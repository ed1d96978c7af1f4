/**
 * Releasing resources the way `await using` does, on Node 20 too: in reverse order of
 * registration, async ones awaited, every one attempted even when an earlier one fails,
 * and the failures handed to the caller (never only logged).
 */

/** What {@link toReleaser} accepts: a disposable, something with `close()`, or a cleanup function. */
export type Releasable =
  | AsyncDisposable
  | Disposable
  | { close(): unknown }
  | (() => unknown);

/** The shape of the standard `SuppressedError` (ES2026 explicit resource management). */
export interface SuppressedErrorLike extends Error {
  /** The error raised while releasing. */
  error: unknown;
  /** The error it suppressed (the one the body threw, or an earlier release failure). */
  suppressed: unknown;
}

type SuppressedErrorConstructor = new (error: unknown, suppressed: unknown, message?: string) => SuppressedErrorLike;

/**
 * A stand-in for `SuppressedError` where the runtime lacks it (Node 20). It has the same
 * `name`, `error` and `suppressed` fields, so code that checks `e.name === "SuppressedError"`
 * or reads `e.error` / `e.suppressed` works on every Node version.
 */
class SuppressedErrorPolyfill extends Error implements SuppressedErrorLike {
  error: unknown;
  suppressed: unknown;
  constructor(error: unknown, suppressed: unknown, message = "An error was suppressed during disposal.") {
    super(message);
    this.name = "SuppressedError";
    this.error = error;
    this.suppressed = suppressed;
  }
}

const nativeSuppressedError = (globalThis as { SuppressedError?: SuppressedErrorConstructor }).SuppressedError;

/**
 * Builds a `SuppressedError`: the native one when the runtime has it, else an equivalent.
 *
 * @example
 * ```ts
 * const e = createSuppressedError(new Error("close failed"), new Error("body failed"));
 * e.name; // "SuppressedError"
 * ```
 */
export function createSuppressedError(error: unknown, suppressed: unknown, message?: string): SuppressedErrorLike {
  const Ctor: SuppressedErrorConstructor = nativeSuppressedError ?? SuppressedErrorPolyfill;
  return new Ctor(error, suppressed, message);
}

/** True for a native or polyfilled `SuppressedError`. */
export function isSuppressedError(e: unknown): e is SuppressedErrorLike {
  return e instanceof Error && e.name === "SuppressedError" && "error" in e && "suppressed" in e;
}

/** A normalised release step: call it once to release the resource. */
export type Releaser = () => Promise<void>;

/**
 * Turns anything {@link Releasable} into a release function. Preference order:
 * `[Symbol.asyncDispose]`, `[Symbol.dispose]`, `close()`, then the value itself when it is a function.
 *
 * @throws TypeError when the value offers no way to release it
 */
export function toReleaser(resource: Releasable): Releaser {
  const r = resource as unknown as Record<PropertyKey, unknown>;
  if (typeof resource === "object" || typeof resource === "function") {
    const asyncDispose = r[Symbol.asyncDispose];
    if (typeof asyncDispose === "function") return async () => { await asyncDispose.call(resource); };
    const dispose = r[Symbol.dispose];
    if (typeof dispose === "function") return async () => { dispose.call(resource); };
    const close = r["close"];
    if (typeof close === "function") return async () => { await close.call(resource); };
    if (typeof resource === "function") return async () => { await (resource as () => unknown)(); };
  }
  throw new TypeError("resource must have [Symbol.asyncDispose], [Symbol.dispose] or close(), or be a cleanup function");
}

/** The kind of release a resource offers, for the `resource` event's metadata. */
export function releaseKind(resource: Releasable): "asyncDispose" | "dispose" | "close" | "function" {
  const r = resource as unknown as Record<PropertyKey, unknown>;
  if (typeof r[Symbol.asyncDispose] === "function") return "asyncDispose";
  if (typeof r[Symbol.dispose] === "function") return "dispose";
  if (typeof r["close"] === "function") return "close";
  return "function";
}

/** One failed release. */
export interface ReleaseFailure {
  name: string;
  error: unknown;
}

/**
 * Releases `items` in reverse order, awaiting each, attempting every one.
 * Returns the failures in the order they happened (newest resource first); never throws.
 */
export async function releaseAll(items: readonly { name: string; release: Releaser }[]): Promise<ReleaseFailure[]> {
  const failures: ReleaseFailure[] = [];
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    try {
      await item.release();
    } catch (error) {
      failures.push({ name: item.name, error });
    }
  }
  return failures;
}

/**
 * The one error a failed release surfaces: the error itself when one resource failed,
 * an `AggregateError` (in release order) when several did, `undefined` when none.
 */
export function releaseError(failures: readonly ReleaseFailure[]): unknown {
  if (failures.length === 0) return undefined;
  if (failures.length === 1) return failures[0]!.error;
  return new AggregateError(
    failures.map((f) => f.error),
    `${failures.length} resources failed to release: ${failures.map((f) => f.name).join(", ")}`,
  );
}

/**
 * Combines the body's outcome with the release failures as `await using` does:
 * no release failure → the body's error (if any); release failure and a body error →
 * `SuppressedError(releaseError, bodyError)`; release failure only → the release error.
 */
export function combineErrors(bodyFailed: boolean, bodyError: unknown, failures: readonly ReleaseFailure[]): unknown {
  const released = releaseError(failures);
  if (released === undefined) return bodyFailed ? bodyError : undefined;
  return bodyFailed ? createSuppressedError(released, bodyError) : released;
}
