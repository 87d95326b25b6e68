import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of the database that counts the commands a process sends (OP_MSG, by
 * command name), without touching the process: the database round trips per launch of each tool.
 */
export interface CommandCounter {
  readonly uri: string;
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

const opMsg = 2013;

/** The command of an OP_MSG (first key of its section-0 document) and, when it names one, its collection. */
function commandName(message: Buffer): string | undefined {
  if (message.readInt32LE(12) !== opMsg) return undefined;
  let offset = 20; // header 16 + flagBits 4
  while (offset < message.length) {
    const kind = message[offset];
    if (kind === 0) {
      const type = message[offset + 5];
      const nameStart = offset + 1 + 4 + 1; // kind, document length, element type
      const nameEnd = message.indexOf(0, nameStart);
      const name = message.toString('utf8', nameStart, nameEnd);
      if (type !== 2) return name;
      // find/insert/update/delete/findAndModify name their collection as the command's value.
      const length = message.readInt32LE(nameEnd + 1);
      return `${name} ${message.toString('utf8', nameEnd + 5, nameEnd + 4 + length)}`;
    }
    if (kind !== 1) return undefined;
    offset += 1 + message.readInt32LE(offset + 1);
  }
  return undefined;
}

export async function startCommandCounter(upstreamUri: string, database: string): Promise<CommandCounter> {
  const upstream = new URL(upstreamUri.replace(/^mongodb:/, 'http:'));
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const db = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(db);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      db.write(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 16) {
        const length = pending.readInt32LE(0);
        if (pending.length < length) break;
        const name = commandName(pending.subarray(0, length));
        // Connection housekeeping is not work a request causes.
        if (name && !/^(hello|isMaster|ismaster|ping)\b/.test(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
        pending = pending.subarray(length);
      }
    });
    db.on('data', (chunk) => client.write(chunk));
    const closeBoth = (): void => {
      client.destroy();
      db.destroy();
      sockets.delete(client);
      sockets.delete(db);
    };
    client.on('close', closeBoth);
    db.on('close', closeBoth);
    client.on('error', closeBoth);
    db.on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    uri: `mongodb://127.0.0.1:${port}/${database}`,
    counts: () => Object.fromEntries(counts),
    total: () => [...counts.values()].reduce((s, n) => s + n, 0),
    reset: () => counts.clear(),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
