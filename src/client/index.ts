/**
 * The contextd HTTP client: the same `ContextStore` interface as the embedded store.
 */
export { createClient } from "./client.js";
export type { ClientOptions } from "./client.js";
export type { ReconnectOptions } from "./watch.js";
