/**
 * What every request carries through the middleware chain (hono's environment of the app).
 */
import type { ContextStore } from "../index.js";
import type { ApiKeyRecord } from "./keys.js";

/** Hono environment of the contextd app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The store as seen by this request's tenant. */
    store: ContextStore;
    tenant: string;
    /** The key of the request, or `null` when the server runs without keys. */
    key: ApiKeyRecord | null;
    /** Fires at the request's deadline. */
    signal: AbortSignal;
  };
}
