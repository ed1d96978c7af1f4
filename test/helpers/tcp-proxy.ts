/**
 * A TCP proxy whose connections a test can cut, to drop a live connection for real.
 */
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";

/** A running proxy. */
export interface TcpProxy {
  url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Destroys every open connection (both sides). */
  cut(): void;
  close(): Promise<void>;
}

/** Proxies `127.0.0.1:<port>` to `target` (an http URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const listenPort = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${listenPort}`,
    get connections() {
      return connections;
    },
    cut() {
      for (const s of open) s.destroy();
      open.clear();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
