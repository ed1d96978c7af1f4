/**
 * `watch` over Server-Sent Events: replays after `afterSeq`, follows live, and when the
 * connection drops reconnects with `Last-Event-ID` = the last seq it delivered, so the
 * caller sees every event once, in order.
 */
import { ContextError } from "../errors.js";
import type { ContextEvent, WatchOptions } from "../core/types.js";
import { checkCount, checkOptions, checkString } from "./checks.js";
import { parseSse } from "./sse.js";
import { baseHeaders, errorFromResponse, fetchFailure, requestUrl } from "./transport.js";
import type { Transport } from "./transport.js";

/** Reconnection timing of a watch. */
export interface ReconnectOptions {
  /** First delay after a drop, ms. @default 100 */
  minDelayMs: number;
  /** Longest delay between attempts, ms. @default 2000 */
  maxDelayMs: number;
}

// Codes that mean "the server is going away or is briefly unable": reconnect, don't fail.
const TRANSIENT = new Set(["DRIVER_UNAVAILABLE", "CLOSED", "ABORTED", "RATE_LIMITED"]);

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Watches a context through the server. */
export async function* watchOverSse(
  transport: Transport,
  tenant: string | null,
  id: string,
  options: WatchOptions | undefined,
  reconnect: ReconnectOptions,
): AsyncGenerator<ContextEvent, void, undefined> {
  if (transport.lifetime.aborted) throw new ContextError("CLOSED", "the client is closed");
  checkString(id, "contextId");
  const opts = checkOptions<WatchOptions>(options);
  let last: number | null = opts.afterSeq === undefined ? null : checkCount(opts.afterSeq, "afterSeq");
  if (opts.signal?.aborted) return;
  const stop = new AbortController();
  const onStop = (): void => stop.abort();
  // The watch ends when the caller's signal fires or the client closes.
  transport.lifetime.addEventListener("abort", onStop, { once: true });
  opts.signal?.addEventListener("abort", onStop, { once: true });
  const path = `/v1/contexts/${encodeURIComponent(id)}/events/stream`;
  let delay = reconnect.minDelayMs;
  let connectedOnce = false;
  try {
    while (!stop.signal.aborted) {
      const headers: Record<string, string> = { ...baseHeaders(transport, tenant), accept: "text/event-stream" };
      if (last !== null) headers["last-event-id"] = String(last);
      let res: Response;
      try {
        res = await transport.fetch(requestUrl(transport, path), { headers, signal: stop.signal });
      } catch (cause) {
        if (stop.signal.aborted) return;
        // A server that was never reached is an error; one that went away is retried.
        if (!connectedOnce) throw fetchFailure(transport, opts.signal, cause);
        await wait(delay, stop.signal);
        delay = Math.min(delay * 2, reconnect.maxDelayMs);
        continue;
      }
      if (!res.ok || res.body === null) {
        let body: unknown = null;
        try {
          body = await res.json();
        } catch {
          // no JSON body
        }
        const err = errorFromResponse(res.status, body);
        if (!connectedOnce || !TRANSIENT.has(err.code)) throw err;
        await wait(delay, stop.signal);
        delay = Math.min(delay * 2, reconnect.maxDelayMs);
        continue;
      }
      connectedOnce = true;
      try {
        for await (const message of parseSse(res.body)) {
          if (message.event === "ready") {
            delay = reconnect.minDelayMs;
            if (last === null) last = (JSON.parse(message.data) as { afterSeq: number }).afterSeq;
          } else if (message.event === "event") {
            const event = JSON.parse(message.data) as ContextEvent;
            // After a reconnect the server resumes after `last`; a duplicate is impossible but cheap to guard.
            if (last !== null && event.seq <= last) continue;
            last = event.seq;
            yield event;
          } else if (message.event === "error") {
            const err = errorFromResponse(500, JSON.parse(message.data));
            if (!TRANSIENT.has(err.code)) throw err;
            break;
          }
        }
      } catch (err) {
        if (stop.signal.aborted) return;
        if (err instanceof ContextError) throw err;
        // The connection dropped mid-stream: reconnect below.
      }
      if (stop.signal.aborted) return;
      await wait(delay, stop.signal);
      delay = Math.min(delay * 2, reconnect.maxDelayMs);
    }
  } finally {
    transport.lifetime.removeEventListener("abort", onStop);
    opts.signal?.removeEventListener("abort", onStop);
    stop.abort();
  }
}
