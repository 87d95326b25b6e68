import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * The running server's embedded database address, published in DATA_DIR/embedded-db/server.json so the
 * command-line tools share it instead of opening the (locked) data file themselves.
 */
const publishedSchema = z.object({
  port: z.number().int().min(1).max(65535),
  /** The CoachLTI process that owns the database. */
  pid: z.number().int().positive(),
  /** The mongo-java-server process. */
  databasePid: z.number().int().positive(),
  startedAt: z.string(),
  dataFile: z.string(),
  /** A server publishes for as long as it runs; a command-line tool only while it holds the file itself. */
  role: z.enum(['server', 'cli']),
});

export type PublishedAddress = z.infer<typeof publishedSchema>;

export function publishedAddressFile(dataFile: string): string {
  return path.join(path.dirname(dataFile), 'server.json');
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writePublishedAddress(file: string, address: PublishedAddress): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(address, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function readPublishedAddress(file: string): PublishedAddress | undefined {
  try {
    const parsed = publishedSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the file only while it still names `pid` (a newer server may have replaced it). */
export function removePublishedAddress(file: string, pid: number): void {
  const current = readPublishedAddress(file);
  if (current && current.pid !== pid) return;
  rmSync(file, { force: true });
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export type LiveAddress =
  { state: 'live'; address: PublishedAddress } | { state: 'owner-alive'; address: PublishedAddress } | { state: 'none' };

/**
 * What the published file says now: a live server whose port answers; a live owner whose database is down
 * (restarting); or nothing usable (no file, or a stale one from a process that is gone).
 */
export async function checkPublishedAddress(file: string): Promise<LiveAddress> {
  const address = readPublishedAddress(file);
  if (!address || !processAlive(address.pid)) return { state: 'none' };
  if (await portAnswers(address.port)) return { state: 'live', address };
  return { state: 'owner-alive', address };
}
