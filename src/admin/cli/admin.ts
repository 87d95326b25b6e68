import { createInterface } from 'node:readline';
import type { Connection } from 'mongoose';
import { ConfigError, loadConfig } from '../../config/config';
import { openDatabase } from '../../db/open-database';
import { createPlatformRegistry } from '../../lti/platform-registry';
import { runCli } from '../../shared/cli';
import { createLogger } from '../../shared/logger';
import {
  AccountExistsError,
  AccountNotFoundError,
  InvalidInputError,
  createAdminAccounts,
  emailSchema,
  passwordProblem,
} from '../admin-accounts';
import {
  describeScope,
  globalScope,
  parsePlatformLabel,
  platformLabel,
  platformScope,
  type AdminScope,
  type PlatformKey,
} from '../admin-scope';

/**
 * npm run admin -- create <email> [--platform <issuer>#<client id>]… | list | reset-password <email>
 *                 | scope <email> (--global | --platform <issuer>#<client id>…)
 * Without --platform an account is global (every platform); with it, scoped to the named platforms.
 * Passwords come from stdin (first line) when it is not a terminal, otherwise from a prompt (twice, no echo).
 * Exit codes: 0 done, 1 failed (exists, not found, unknown platform, database), 2 usage or invalid input.
 */
const usage =
  'usage: npm run admin -- create <email> [--platform <issuer>#<client id>]... | list | reset-password <email> | scope <email> (--global | --platform <issuer>#<client id>...)';

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

type Command =
  | { name: 'create'; email: string; scope: AdminScope }
  | { name: 'scope'; email: string; scope: AdminScope }
  | { name: 'reset-password'; email: string }
  | { name: 'list' };

/** `--platform a#1 --platform b#2` and `--global`, into a scope (none given: undefined). */
function parseScopeOptions(args: string[]): AdminScope | undefined {
  const platforms: PlatformKey[] = [];
  let global = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--global') global = true;
    else if (arg === '--platform' || arg.startsWith('--platform=')) {
      const value = arg === '--platform' ? args[(i += 1)] : arg.slice('--platform='.length);
      if (value === undefined) throw new CliError('--platform needs <issuer>#<client id>', 2);
      const parsed = parsePlatformLabel(value);
      if ('error' in parsed) throw new CliError(`invalid --platform ${parsed.error}`, 2);
      if (!platforms.some((p) => p.issuer === parsed.issuer && p.clientId === parsed.clientId)) platforms.push(parsed);
    } else throw new CliError(usage, 2);
  }
  if (global && platforms.length > 0) throw new CliError('choose either --global or --platform, not both', 2);
  if (global) return globalScope;
  return platforms.length > 0 ? platformScope(...platforms) : undefined;
}

function parseEmailArg(email: string): string {
  const parsed = emailSchema.safeParse(email);
  if (!parsed.success) throw new CliError(`invalid email "${email}": ${parsed.error.issues[0]?.message ?? 'invalid'}`, 2);
  return parsed.data;
}

function parseArgs(argv: string[]): Command {
  const [name, email, ...rest] = argv;
  if (name === 'list' && email === undefined) return { name };
  if (name === 'reset-password' && email !== undefined && rest.length === 0) return { name, email: parseEmailArg(email) };
  if (name === 'create' && email !== undefined && !email.startsWith('--')) {
    const scope = parseScopeOptions(rest);
    return { name, email: parseEmailArg(email), scope: scope ?? globalScope };
  }
  if (name === 'scope' && email !== undefined && !email.startsWith('--')) {
    const scope = parseScopeOptions(rest);
    if (!scope) throw new CliError('scope needs --global or at least one --platform <issuer>#<client id>', 2);
    return { name, email: parseEmailArg(email), scope };
  }
  throw new CliError(usage, 2);
}

/** A typo in a platform would scope an administrator to nothing: only registered platforms are accepted. */
async function checkRegistered(connection: Connection, scope: AdminScope): Promise<void> {
  if (scope.kind === 'global') return;
  const registry = createPlatformRegistry(connection);
  for (const platform of scope.platforms) {
    if (!(await registry.find(platform.issuer, platform.clientId)))
      throw new CliError(`no registered platform ${platformLabel(platform)} (see npm run platform -- list)`, 1);
  }
}

/** The first line of a piped stdin (without its line ending). */
function readFirstLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    rl.once('line', (line) => {
      done = true;
      rl.close();
      process.stdin.destroy();
      resolve(line.replace(/\r$/, ''));
    });
    rl.once('close', () => {
      if (!done) reject(new CliError('no password on stdin: pipe it as the first line', 2));
    });
  });
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.resume();
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new CliError('cancelled', 1));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readNewPassword(): Promise<string> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await promptHidden('New password (at least 12 characters): ');
    const problem = passwordProblem(password);
    if (problem) throw new CliError(problem, 2);
    const again = await promptHidden('Repeat the password: ');
    if (again !== password) throw new CliError('the two passwords differ', 2);
  } else {
    password = await readFirstLine();
  }
  const problem = passwordProblem(password);
  if (problem) throw new CliError(problem, 2);
  return password;
}

async function run(command: Command, connection: Connection): Promise<string> {
  const accounts = createAdminAccounts(connection);
  switch (command.name) {
    case 'create': {
      if (await accounts.find(command.email)) throw new CliError(`an admin account for ${command.email} already exists`, 1);
      await checkRegistered(connection, command.scope);
      const password = await readNewPassword();
      const account = await accounts.create(command.email, password, command.scope);
      return `created admin account ${account.email}${account.scope.kind === 'global' ? '' : ` (${describeScope(account.scope)})`}`;
    }
    case 'scope': {
      if (!(await accounts.find(command.email))) throw new CliError(`there is no admin account for ${command.email}`, 1);
      await checkRegistered(connection, command.scope);
      const account = await accounts.setScope(command.email, command.scope);
      return `${account.email} now administers ${describeScope(account.scope)}`;
    }
    case 'reset-password': {
      if (!(await accounts.find(command.email))) throw new CliError(`there is no admin account for ${command.email}`, 1);
      await accounts.resetPassword(command.email, await readNewPassword());
      return `password reset for ${command.email} (lockout cleared)`;
    }
    case 'list': {
      const list = await accounts.list();
      if (list.length === 0) return 'no admin accounts (create one with: npm run admin -- create <email>)';
      const now = Date.now();
      return list
        .map((a) =>
          [
            a.email.padEnd(40),
            `created ${a.createdAt.toISOString()}`,
            `scope ${a.scope.kind === 'global' ? 'global' : a.scope.platforms.map(platformLabel).join(',') || 'none'}`,
            a.lastLoginAt ? `last sign-in ${a.lastLoginAt.toISOString()}` : 'never signed in',
            ...(a.lockedUntil && a.lockedUntil.getTime() > now ? [`LOCKED until ${a.lockedUntil.toISOString()}`] : []),
          ].join('  '),
        )
        .join('\n');
    }
  }
}

async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const { connection, close } = await openDatabase(config, logger);
  try {
    process.stdout.write(`${await run(command, connection)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof InvalidInputError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof AccountExistsError || error instanceof AccountNotFoundError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await close();
  }
}

runCli(
  () => main(process.argv.slice(2)),
  (error) => `${error instanceof ConfigError ? '' : 'admin command failed: '}${(error as Error).message}`,
);
