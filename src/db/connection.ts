import mongoose, { Mongoose, type Connection, type ConnectOptions } from 'mongoose';
import type { Logger } from '../shared/logger';
import { defaultDatabaseName, describeUri } from './database-server';

/**
 * Our own connection, on a Mongoose instance of our own: ltijs uses the global instance of the same
 * mongoose copy and calls `mongoose.disconnect()` on connection errors, which would close every
 * connection of that instance. Created unopened so models register at once; connectWithRetry opens it.
 */
export function createConnection(): Connection {
  return new Mongoose().createConnection();
}

/** The URI with our database name when it names none, so the app and ltijs share one database. */
export function withDefaultDatabase(uri: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(\/[^?]*)?(\?.*)?$/.exec(uri);
  if (!match) return uri;
  const [, hostPart, path, query] = match;
  if (path && path.length > 1) return uri;
  return `${hostPart}/${defaultDatabaseName}${query ?? ''}`;
}

export function connectOptions(_uri: string, timeoutMs: number): ConnectOptions {
  return {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    // While the database is unreachable, queries fail at once (→ 503) instead of hanging.
    bufferCommands: false,
    // Indexes are created by migrations, never implicitly at model compile time.
    autoIndex: false,
    autoCreate: false,
  };
}

export async function pingDatabase(connection: Connection, timeoutMs = 1000): Promise<boolean> {
  if (connection.readyState !== mongoose.ConnectionStates.connected || !connection.db) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
  });
  try {
    await Promise.race([connection.db.admin().ping(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens the connection, retrying with capped backoff while the server is unreachable, so the process
 * keeps serving /healthz and a 503 /readyz instead of crash-looping. Resolves once connected;
 * rejects only when aborted (shutdown).
 */
export async function connectWithRetry(
  connection: Connection,
  uri: string,
  timeoutMs: number,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  let delay = 1000;
  uri = withDefaultDatabase(uri);
  for (let attempt = 1; !signal.aborted; attempt += 1) {
    try {
      await connection.openUri(uri, connectOptions(uri, timeoutMs));
      logger.info({ database: describeUri(uri), attempt }, 'database connected');
      return;
    } catch (error) {
      const reason = (error as Error).message;
      logger.error(
        { database: describeUri(uri), attempt, retryInMs: delay, reason },
        `database unreachable at ${describeUri(uri)} (${reason}); retrying in ${delay / 1000}s`,
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    delay = Math.min(delay * 2, 30_000);
  }
  throw new Error('database connection aborted');
}
