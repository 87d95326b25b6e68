import { createAuditLog } from '../../admin/audit-log';
import { ConfigError, loadConfig } from '../../config/config';
import { openDatabase } from '../../db/open-database';
import { runCli } from '../../shared/cli';
import { AppError } from '../../shared/errors';
import { createLogger } from '../../shared/logger';
import { createFieldCrypto } from '../field-crypto';
import { createPrivacyService } from '../privacy-service';
import { runPrivacyCommand, usage, UsageError } from './commands';

/** npm run privacy -- …: see ./commands.ts. Exit codes: 0 done, 1 failed, 2 usage. */
runCli(
  async () => {
    const args = process.argv.slice(2);
    if (args.length === 0 || args[0] === '--help') {
      process.stdout.write(`${usage}\n`);
      return args.length === 0 ? 2 : 0;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const db = await openDatabase(config, logger);
    try {
      const privacy = createPrivacyService({
        connection: db.connection,
        crypto: createFieldCrypto(config.dataEncryptionKeys),
        audit: createAuditLog(db.connection),
      });
      return await runPrivacyCommand(args, privacy, (line) => process.stdout.write(`${line}\n`));
    } catch (error) {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n`);
        return 2;
      }
      throw error;
    } finally {
      await db.close();
    }
  },
  (error) =>
    error instanceof ConfigError || error instanceof AppError ? (error as Error).message : `privacy failed: ${(error as Error).message}`,
);
