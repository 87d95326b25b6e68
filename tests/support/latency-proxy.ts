import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that delays every chunk the database sends back, so each database round trip
 * takes at least `delayMs` longer: a slow database, as on a busy production cluster. Chunks keep their
 * order (timers of equal delay fire in creation order).
 */
export interface LatencyProxy {
  readonly port: number;
  /** The upstream URI with host and port replaced by the proxy's. */
  uriFor(upstreamUri: string): string;
  /** Cuts every connection and refuses new ones (the database "goes away") until resume(). */
  interrupt(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startLatencyProxy(upstreamUri: string, delayMs: number): Promise<LatencyProxy> {
  const upstream = new URL(upstreamUri.replace(/^mongodb:/, 'http:'));
  const sockets = new Set<Socket>();
  let interrupted = false;
  const server: Server = createServer((client) => {
    if (interrupted) {
      client.destroy();
      return;
    }
    const db = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(db);
    client.on('data', (chunk) => db.write(chunk));
    db.on('data', (chunk) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, delayMs);
    });
    const closeBoth = () => {
      client.destroy();
      db.destroy();
      sockets.delete(client);
      sockets.delete(db);
    };
    client.on('close', closeBoth).on('error', closeBoth);
    db.on('close', () => setTimeout(closeBoth, delayMs)).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    uriFor(uri) {
      return uri.replace(/^mongodb:\/\/[^/]+/, `mongodb://127.0.0.1:${port}`);
    },
    interrupt() {
      interrupted = true;
      for (const s of sockets) s.destroy();
    },
    resume() {
      interrupted = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
