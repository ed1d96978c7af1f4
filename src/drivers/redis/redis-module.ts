/**
 * The part of the `redis` package (node-redis) the cache tier uses, typed here so that
 * `redis` stays an optional dependency loaded with dynamic `import()`.
 */
import { ContextError } from "../../errors.js";

/** A connected (or reconnecting) node-redis client. */
export interface RedisClient {
  connect(): Promise<unknown>;
  /** Sends one raw command; replies are strings, numbers, arrays or null. */
  sendCommand(args: string[]): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  duplicate(): RedisClient;
  destroy(): void;
  close?(): Promise<unknown>;
  on(event: "error", listener: (e: Error) => void): unknown;
  on(event: "ready" | "end" | "reconnecting", listener: () => void): unknown;
  readonly isReady: boolean;
}

/** Options handed to `createClient`. */
export interface RedisClientConfig {
  url: string;
  disableOfflineQueue: boolean;
  commandOptions?: { timeout: number };
  socket: { connectTimeout: number; reconnectStrategy: (retries: number) => number };
}

/** The `redis` module. */
export interface RedisModule {
  createClient(config: RedisClientConfig): RedisClient;
}

let loading: Promise<RedisModule> | undefined;

/**
 * Loads `redis` once.
 * @throws `DRIVER_UNAVAILABLE` naming the package to install when it is missing
 */
export function loadRedis(): Promise<RedisModule> {
  // A variable specifier keeps TypeScript from requiring redis's types at build time.
  const specifier = "redis";
  loading ??= (import(specifier) as Promise<unknown>).then(
    (mod: unknown) => {
      const m = mod as { default?: RedisModule } & Partial<RedisModule>;
      const redis = m.createClient !== undefined ? (m as RedisModule) : m.default;
      if (redis === undefined) throw new Error("the redis module has no createClient export");
      return redis;
    },
    (e: unknown) => {
      loading = undefined;
      throw new ContextError("DRIVER_UNAVAILABLE", 'the Redis cache tier needs the "redis" package: run `npm install redis@^6.3`', {
        cause: e,
        details: { driver: "redis", missing: "redis" },
      });
    },
  );
  return loading;
}
