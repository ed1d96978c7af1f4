/**
 * What every request carries through the middleware chain (hono's environment of the app).
 */
import type { MiddlewareHandler } from "hono";
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
    /**
     * Reads the request body (limit, media type, strict UTF-8), then calls `next`. The route's
     * scope check calls it, so that no body is read for a request its key may not make.
     */
    readBody: MiddlewareHandler<AppEnv>;
    /** The error code the request was answered with (for the metrics). */
    errorCode: string | undefined;
  };
}
