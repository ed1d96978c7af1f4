/**
 * Reads a JSON request body straight from Node's IncomingMessage (when served by
 * `@hono/node-server`), with the body size limit, and hands the text to hono's body cache.
 * Without it, the adapter builds a full fetch `Request` (and its AbortController and streams)
 * for every POST, which costs more than the rest of a small request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, MiddlewareHandler, Next } from "hono";
import type { AppEnv } from "./app-env.js";
import { ContextError } from "../index.js";

// `fatal`: malformed UTF-8 is an error, not U+FFFD written into the user's data.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a request body as UTF-8.
 * @throws `INVALID_INPUT` (400) when the bytes are not UTF-8
 */
export function decodeBody(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ContextError("INVALID_INPUT", "request body is not valid UTF-8", { details: { field: "body" } });
  }
}

/**
 * Sets a response header. On Node it goes straight onto the outgoing message (`writeHead`
 * merges it with the response's own headers), so that hono need not build a fetch `Headers`
 * for every response and the adapter need not convert it back; elsewhere (`app.request()`
 * in tests) through `c.header`.
 */
export function responseHeader(c: Context<AppEnv>, name: string, value: string): void {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing !== undefined && !outgoing.headersSent) outgoing.setHeader(name, value);
  else c.header(name, value);
}

/** The 413 response every oversized body gets. */
export function tooLarge(c: Context<AppEnv>, limit: number): Response {
  return c.json({ code: "INVALID_INPUT", message: `request body larger than ${limit} bytes`, details: { limit } }, 413);
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Reads a whole body as UTF-8 text; null once it passes `limit` bytes (the rest is drained).
 * Rejects with `INVALID_INPUT` when the body is not UTF-8.
 */
export function readAll(incoming: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop buffering; the rest is drained and dropped so the connection can answer.
        incoming.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      try {
        resolve(decodeBody(Buffer.concat(chunks, size)));
      } catch (err) {
        reject(err as Error);
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
  });
}

/**
 * For requests that may carry a body: enforces `limit` and, on Node, reads the body directly.
 * `fallback` (hono's bodyLimit) handles every other runtime, e.g. `app.request()` in tests.
 */
export function nodeBody(limit: number, fallback: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return async (c: Context<AppEnv>, next: Next) => {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming === undefined || incoming.readableEnded || incoming.readableDidRead) {
      return fallback(c, async () => {
        // Decoded here, strictly: `c.req.json()` would decode leniently.
        const bytes = new Uint8Array(await c.req.arrayBuffer());
        (c.req.bodyCache as { text?: unknown }).text = Promise.resolve(decodeBody(bytes));
        await next();
      });
    }
    const declared = Number(c.req.header("content-length"));
    if (declared > limit) return tooLarge(c, limit);
    const text = await readAll(incoming, limit);
    if (text === null) return tooLarge(c, limit);
    // Every route takes JSON: a body of any other (or no) type is refused here, because once
    // the body has been read the adapter can no longer tell that there was one.
    if (text.length > 0 && !JSON_TYPE.test(c.req.header("content-type") ?? "")) {
      return c.json({ code: "INVALID_INPUT", message: "unsupported media type: send application/json", details: { status: 415 } }, 415);
    }
    // hono keeps body promises in bodyCache (its type names the values); `c.req.json()`
    // then parses this text instead of reading the raw Request.
    (c.req.bodyCache as { text?: unknown }).text = Promise.resolve(text);
    return next();
  };
}
