import { z } from 'zod';
import { ConfigError, loadConfig } from '../../config/config';
import { runCli } from '../../shared/cli';
import { createLogger } from '../../shared/logger';
import { openDatabase } from '../open-database';
import { migrateDown, migrateUp, migrationStatus } from '../migrations';

/** npm run migrate [-- up|down|status]: runs against MONGODB_URI or the embedded database. */
const commandSchema = z.enum(['up', 'down', 'status']).default('up');

async function main(argv: string[]): Promise<number> {
  const parsed = commandSchema.safeParse(argv[0]);
  if (!parsed.success) {
    process.stderr.write('usage: npm run migrate -- [up|down|status]\n');
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const { connection, close } = await openDatabase(config, logger, { migrate: false });
  try {
    if (parsed.data === 'status') {
      for (const item of await migrationStatus(connection)) process.stdout.write(`${item.appliedAt.padEnd(26)} ${item.fileName}\n`);
    } else {
      const changed = parsed.data === 'up' ? await migrateUp(connection) : await migrateDown(connection);
      process.stdout.write(changed.length === 0 ? `nothing to migrate ${parsed.data}\n` : `${parsed.data}: ${changed.join(', ')}\n`);
    }
    return 0;
  } finally {
    await close();
  }
}

runCli(
  () => main(process.argv.slice(2)),
  (error) => `${error instanceof ConfigError ? '' : 'migration failed: '}${(error as Error).message}`,
);
