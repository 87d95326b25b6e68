import { ConfigError } from './config/config';
import { NoDatabaseError } from './db/database-server';
import { startServer } from './server';

/** Process entry: start, then stop gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let running;
  try {
    running = await startServer();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof NoDatabaseError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { logger } = running;
  // A promise rejected inside a library's request handler (ltijs has some outside any try) must not end the
  // process for everyone: log it loudly and keep serving. Inputs are validated so that none is known to happen.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.error({ err: reason }, 'unhandled promise rejection (request abandoned, process kept running)');
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 15 s; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    running
      .stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`CoachLTI failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
