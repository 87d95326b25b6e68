import { writeFileSync } from 'node:fs';
import { globalScope, parsePlatformLabel } from '../../admin/admin-scope';
import type { PrivacyService } from '../privacy-service';

/**
 * npm run privacy -- rotate-keys [--batch N]
 *                  | retention [--dry-run]
 *                  | policy (--platform <issuer>#<client id> | --course <course id>) (--days N | --remove)
 *                  | export --user <user id> [--out file.json]
 *                  | erase --user <user id> [--remove-scores] --yes
 * The command line acts as a global administrator; every action is written to the audit log as "cli".
 */
export const usage =
  'usage: npm run privacy -- rotate-keys [--batch N] | retention [--dry-run] | policy (--platform <issuer>#<client id> | --course <id>) (--days N | --remove) | export --user <id> [--out file] | erase --user <id> [--remove-scores] --yes';

export class UsageError extends Error {}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

const actor = 'cli';

/** Runs one command; returns the exit code. `print` receives each output line. */
export async function runPrivacyCommand(args: string[], privacy: PrivacyService, print: (line: string) => void): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'rotate-keys': {
      const batch = Number(option(rest, '--batch') ?? '200');
      if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError('--batch must be a whole number from 1 to 10000');
      const result = await privacy.rotateKeys({
        batchSize: batch,
        onBatch: (done, rewritten) => print(`… ${done} attempts scanned, ${rewritten} fields re-encrypted`),
      });
      print(`rotate-keys: ${result.scanned} attempts scanned, ${result.rewritten} fields re-encrypted with the current key`);
      return 0;
    }
    case 'retention': {
      const dryRun = rest.includes('--dry-run');
      const items = dryRun ? await privacy.retentionPlan(globalScope) : await privacy.runRetention(globalScope, actor);
      for (const i of items) print(`${i.courseId}\t${i.userId}\t${i.attemptId}\t${i.itemId}\t${i.fields.join(',')}`);
      print(`${dryRun ? 'dry run: would delete' : 'deleted'} ${items.length} free text(s)`);
      return 0;
    }
    case 'policy': {
      const platform = option(rest, '--platform');
      const course = option(rest, '--course');
      const days = option(rest, '--days');
      const remove = rest.includes('--remove');
      if ((platform === undefined) === (course === undefined)) throw new UsageError('name either --platform or --course');
      if ((days === undefined) === !remove) throw new UsageError('give either --days N or --remove');
      if (days !== undefined && !(/^\d+$/.test(days) && Number(days) >= 1 && Number(days) <= 36500))
        throw new UsageError('--days must be 1 to 36500');
      let target: Parameters<PrivacyService['setPolicy']>[1];
      if (platform !== undefined) {
        const key = parsePlatformLabel(platform);
        if ('error' in key) throw new UsageError(key.error);
        target = { platform: key };
      } else target = { courseId: course! };
      await privacy.setPolicy(globalScope, target, remove ? null : Number(days), actor);
      print(remove ? 'policy removed' : `policy set: ${days} days`);
      return 0;
    }
    case 'export': {
      const user = option(rest, '--user');
      if (!user) throw new UsageError('export needs --user <user id>');
      const data = await privacy.exportPerson(globalScope, user, actor);
      const text = `${JSON.stringify(data, null, 2)}\n`;
      const out = option(rest, '--out');
      if (out) {
        writeFileSync(out, text, { mode: 0o600 });
        print(`written to ${out}`);
      } else print(text.trimEnd());
      return 0;
    }
    case 'erase': {
      const user = option(rest, '--user');
      if (!user) throw new UsageError('erase needs --user <user id>');
      if (!rest.includes('--yes')) throw new UsageError('erase changes data for good: add --yes');
      const mode = rest.includes('--remove-scores') ? 'remove' : 'pseudonymise';
      const result = await privacy.erasePerson(globalScope, user, mode, actor);
      print(`${mode === 'remove' ? 'removed' : 'pseudonymised'}: ${JSON.stringify(result.removed)}`);
      return 0;
    }
    default:
      throw new UsageError(usage);
  }
}
