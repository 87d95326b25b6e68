import { createInterface } from 'node:readline';
import type { Connection } from 'mongoose';
import { ConfigError, loadConfig } from '../../config/config';
import { openDatabase } from '../../db/open-database';
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

/**
 * npm run admin -- create <email> | list | reset-password <email>
 * Passwords come from stdin (first line) when it is not a terminal, otherwise from a prompt (twice, no echo).
 * Exit codes: 0 done, 1 failed (exists, not found, database), 2 usage or invalid input.
 */
const usage = 'usage: npm run admin -- create <email> | list | reset-password <email>';

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

type Command = { name: 'create' | 'reset-password'; email: string } | { name: 'list' };

function parseArgs(argv: string[]): Command {
  const [name, email, ...rest] = argv;
  if (name === 'list' && email === undefined) return { name };
  if ((name === 'create' || name === 'reset-password') && email !== undefined && rest.length === 0) {
    const parsed = emailSchema.safeParse(email);
    if (!parsed.success) throw new CliError(`invalid email "${email}": ${parsed.error.issues[0]?.message ?? 'invalid'}`, 2);
    return { name, email: parsed.data };
  }
  throw new CliError(usage, 2);
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
      const password = await readNewPassword();
      const account = await accounts.create(command.email, password);
      return `created admin account ${account.email}`;
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
