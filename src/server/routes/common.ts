/**
 * Pieces every route definition shares: the error responses, JSON bodies, scope checks.
 */
import type { MiddlewareHandler } from "hono";
import type { z } from "@hono/zod-openapi";
import { requireScope } from "../gate.js";
import type { AppEnv } from "../app-env.js";
import type { ApiKeyScope } from "../keys.js";
import { ErrorSchema } from "../api-types.js";

const errorContent = { "application/json": { schema: ErrorSchema } };

/** The error responses every route may give (OpenAPI documentation). */
export const errorResponses = {
  400: { description: "INVALID_INPUT: malformed JSON, wrong types, unknown fields, oversized values", content: errorContent },
  401: { description: "UNAUTHORIZED: missing or invalid API key", content: errorContent },
  403: { description: "FORBIDDEN: the key lacks the scope, or names another tenant", content: errorContent },
  404: { description: "NOT_FOUND", content: errorContent },
  409: { description: "VERSION_CONFLICT (details: expected, actual) or ALREADY_EXISTS", content: errorContent },
  410: { description: "COMPACTED: that history was compacted away", content: errorContent },
  413: { description: "INVALID_INPUT: body too large", content: errorContent },
  415: { description: "INVALID_INPUT: send application/json", content: errorContent },
  422: { description: "SCHEMA_VIOLATION (details: the JSON-pointer paths)", content: errorContent },
  423: { description: "LEASE_LOST or LOCK_TIMEOUT", content: errorContent },
  429: { description: "RATE_LIMITED; see Retry-After", content: errorContent },
  500: { description: "INTERNAL, CORRUPT or STORE_INCOMPATIBLE: a fault of the server or its store, not of the request", content: errorContent },
  503: { description: "DRIVER_UNAVAILABLE, CLOSED, or the request deadline passed (ABORTED)", content: errorContent },
} as const;

/** The error responses of routes whose store area is optional (search). */
export const optionalAreaResponses = {
  ...errorResponses,
  501: { description: "NOT_SUPPORTED: the server's store lacks this optional area", content: errorContent },
} as const;

/** A JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { content: { "application/json": { schema } }, required };
}

/** A JSON response. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/**
 * Refuses the request with 403 unless its key has `needed` (or `admin`); without keys,
 * everything is allowed. Then reads the body: every route that takes one names its scope
 * first, so a refused request never makes the server buffer its body.
 */
export function scope(needed: ApiKeyScope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    requireScope(c.get("key"), needed);
    return c.get("readBody")(c, next);
  };
}

/**
 * Security requirement for OpenAPI: every `/v1` route takes the bearer API key (when the
 * server runs with keys).
 */
export const security = [{ bearer: [] }];

/**
 * The security requirement of a route that needs `scope`: the bearer key, with the scope as
 * its role (OpenAPI 3.1 lets a non-OAuth requirement list the roles it needs).
 */
export function requires(needed: ApiKeyScope): { bearer: string[] }[] {
  return [{ bearer: [needed] }];
}
