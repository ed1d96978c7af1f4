/**
 * A TCP proxy the outage tests put between contextd and PostgreSQL or Redis, so that a
 * test can make a service unreachable for one store (and bring it back) without stopping
 * the shared server.
 */
import { createConnection, createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  /** Connections accepted (and forwarded) so far. */
  readonly connections: number;
  /** Connection attempts so far, refused ones (while cut) included. */
  readonly attempts: number;
  /** Drops every connection and refuses new ones until {@link TcpProxy.restore}. */
  cut(): void;
  /**
   * Keeps every connection open but stops forwarding (a hung server or a partition): bytes
   * wait in the proxy until {@link TcpProxy.restore}.
   */
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `host:port`. */
export async function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let blocked = false;
  let frozen = false;
  let connections = 0;
  let attempts = 0;
  const server = createServer((client) => {
    attempts++;
    if (blocked) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = createConnection({ host, port });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
    if (frozen) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get attempts() {
      return attempts;
    },
    cut() {
      blocked = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    freeze() {
      frozen = true;
      for (const s of sockets) s.pause();
    },
    restore() {
      blocked = false;
      frozen = false;
      for (const s of sockets) s.resume();
    },
    async close() {
      blocked = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
