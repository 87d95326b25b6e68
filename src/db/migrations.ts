import type { Connection } from 'mongoose';
import { fromRoot } from '../shared/paths';

/**
 * Dated, re-runnable migrations in migrations/*.js, run by migrate-mongo against our own connection
 * and recorded in the `migrations_changelog` collection.
 */
type Db = NonNullable<Connection['db']>;
type Client = ReturnType<Connection['getClient']>;

interface MigrateMongo {
  config: { set(content: Record<string, unknown>): void };
  up(db: Db, client: Client): Promise<string[]>;
  down(db: Db, client: Client): Promise<string[]>;
  status(db: Db): Promise<{ fileName: string; appliedAt: string | Date }[]>;
}

export const changelogCollectionName = 'migrations_changelog';
export const defaultMigrationsDir = fromRoot('migrations');

function migrateMongo(migrationsDir: string): MigrateMongo {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS library, typed above
  const lib = require('migrate-mongo') as MigrateMongo;
  lib.config.set({
    mongodb: { url: 'unused: migrations run on the app connection', databaseName: 'unused' },
    migrationsDir,
    changelogCollectionName,
    // No lock: the embedded server never expires TTL documents, so a killed run would lock forever;
    // every migration is written to be safe to run twice instead.
    lockCollectionName: 'migrations_lock',
    lockTtl: 0,
    migrationFileExtension: '.js',
    useFileHash: false,
    moduleSystem: 'commonjs',
  });
  return lib;
}

function dbOf(connection: Connection): Db {
  if (!connection.db) throw new Error('database is not connected');
  return connection.db;
}

export async function migrateUp(connection: Connection, migrationsDir = defaultMigrationsDir): Promise<string[]> {
  return migrateMongo(migrationsDir).up(dbOf(connection), connection.getClient());
}

/** Reverts the most recently applied migration. */
export async function migrateDown(connection: Connection, migrationsDir = defaultMigrationsDir): Promise<string[]> {
  return migrateMongo(migrationsDir).down(dbOf(connection), connection.getClient());
}

export async function migrationStatus(
  connection: Connection,
  migrationsDir = defaultMigrationsDir,
): Promise<{ fileName: string; appliedAt: string }[]> {
  const items = await migrateMongo(migrationsDir).status(dbOf(connection));
  return items.map((i) => ({ fileName: i.fileName, appliedAt: i.appliedAt instanceof Date ? i.appliedAt.toISOString() : i.appliedAt }));
}
