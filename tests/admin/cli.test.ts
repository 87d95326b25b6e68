import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { fromRoot } from '../../src/shared/paths';
import { Browser } from '../support/browser';
import { startTestServer, testDatabaseUri } from '../support/test-server';
import { signIn } from './support';

jest.setTimeout(120_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the admin CLI as `npm run admin` does, with the password piped on stdin. */
function runCli(args: string[], databaseUri: string, stdin: string | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('src', 'admin', 'cli', 'admin.ts'), ...args], {
      cwd: fromRoot(),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        MONGODB_URI: databaseUri,
        DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-admin-cli-')),
        LOG_LEVEL: 'warn',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdin.on('error', () => undefined); // the CLI may exit before reading stdin
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin.write(stdin);
    child.stdin.end();
  });
}

async function accountsIn(databaseUri: string): Promise<Record<string, unknown>[]> {
  const client = await MongoClient.connect(databaseUri);
  try {
    return await client.db().collection('admin_accounts').find({}).toArray();
  } finally {
    await client.close();
  }
}

describe('npm run admin', () => {
  test('when create gets an email and a password on stdin, then the account exists (bcrypt, cost 12), signs in, and a second create fails', async () => {
    const uri = testDatabaseUri('admin_cli');
    const created = await runCli(['create', 'X@Y.edu'], uri, 'a long enough passphrase\nignored second line\n');
    expect(created).toEqual({ code: 0, stdout: 'created admin account x@y.edu\n', stderr: '' });
    const [account, ...others] = await accountsIn(uri);
    expect(others).toEqual([]);
    expect(account).toMatchObject({ email: 'x@y.edu', failedLogins: 0, lockedUntil: null, lastLoginAt: null });
    expect(String(account!.passwordHash)).toMatch(/^\$2[ab]\$12\$/);
    expect(String(account!.passwordHash)).not.toContain('passphrase');
    expect(account!.createdAt).toBeInstanceOf(Date);

    const again = await runCli(['create', 'x@y.edu'], uri, 'another long passphrase\n');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('an admin account for x@y.edu already exists\n');
    expect(await accountsIn(uri)).toHaveLength(1);

    const server = await startTestServer({ MONGODB_URI: uri });
    try {
      const res = await signIn(server, new Browser(), 'x@y.edu', 'a long enough passphrase');
      expect(res.status).toBe(303);
    } finally {
      await server.stop();
    }
  });

  test('when the input is unusable, then nothing is written and the exit code says why', async () => {
    const uri = testDatabaseUri('admin_cli');
    const short = await runCli(['create', 'short@y.edu'], uri, 'too short\n');
    expect(short).toMatchObject({ code: 2, stderr: 'the password must be at least 12 characters\n' });
    const empty = await runCli(['create', 'empty@y.edu'], uri, '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no password on stdin');
    const badEmail = await runCli(['create', 'not-an-email'], uri, 'a long enough passphrase\n');
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toMatch(/^invalid email "not-an-email"/);
    const usage = await runCli(['delete', 'x@y.edu'], uri, undefined);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(
      /^usage: npm run admin -- create <email> \[--platform <issuer>#<client id>\]\.\.\. \| list \| reset-password <email> \| scope <email>/,
    );
    const badPlatform = await runCli(['create', 'p@y.edu', '--platform', 'https://canvas.example.edu'], uri, 'a long enough passphrase\n');
    expect(badPlatform.code).toBe(2);
    expect(badPlatform.stderr).toMatch(/^invalid --platform "https:\/\/canvas\.example\.edu" must be <issuer>#<client id>/);
    const both = await runCli(['scope', 'p@y.edu', '--global', '--platform', 'https://a.example.edu#1'], uri, undefined);
    expect(both).toMatchObject({ code: 2, stderr: 'choose either --global or --platform, not both\n' });
    const noScope = await runCli(['scope', 'p@y.edu'], uri, undefined);
    expect(noScope.code).toBe(2);
    const missing = await runCli(['reset-password', 'nobody@y.edu'], uri, 'a long enough passphrase\n');
    expect(missing).toMatchObject({ code: 1, stderr: 'there is no admin account for nobody@y.edu\n' });
    expect(await accountsIn(uri)).toEqual([]);
  });

  test('when list and reset-password run, then accounts are listed and the new password replaces the old one and clears a lockout', async () => {
    const uri = testDatabaseUri('admin_cli');
    expect((await runCli(['list'], uri, undefined)).stdout).toMatch(/^no admin accounts/);
    await runCli(['create', 'reset@y.edu'], uri, 'the first passphrase\n');
    const before = (await accountsIn(uri))[0]!;
    const client = await MongoClient.connect(uri);
    try {
      await client
        .db()
        .collection('admin_accounts')
        .updateOne({ email: 'reset@y.edu' }, { $set: { failedLogins: 3, lockedUntil: new Date(Date.now() + 600_000) } });
    } finally {
      await client.close();
    }
    const listed = await runCli(['list'], uri, undefined);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^reset@y\.edu\s+created \S+\s+scope global\s+never signed in\s+LOCKED until \S+\n$/);

    const reset = await runCli(['reset-password', 'reset@y.edu'], uri, 'the second passphrase\n');
    expect(reset).toEqual({ code: 0, stdout: 'password reset for reset@y.edu (lockout cleared)\n', stderr: '' });
    const after = (await accountsIn(uri))[0]!;
    expect(after.passwordHash).not.toBe(before.passwordHash);
    expect(after).toMatchObject({ failedLogins: 0, lockedUntil: null });
  });

  test('when an account is created for a platform and its scope is changed, then list shows it and sign-in is limited to it', async () => {
    const uri = testDatabaseUri('admin_cli');
    // The server registers the built-in Canvas- and Moodle-shaped platforms in this database.
    const server = await startTestServer({ MONGODB_URI: uri });
    try {
      const moodle = (await server.devPlatform!.registration('moodle'))!;
      const canvas = (await server.devPlatform!.registration('canvas'))!;
      const moodleLabel = `${moodle.issuer}#${moodle.clientId}`;
      const created = await runCli(['create', 'moodle@y.edu', '--platform', moodleLabel], uri, 'a long enough passphrase\n');
      expect(created).toEqual({ code: 0, stdout: `created admin account moodle@y.edu (platforms: ${moodleLabel})\n`, stderr: '' });
      const unknown = await runCli(['create', 'typo@y.edu', '--platform', `${moodle.issuer}#nope`], uri, 'a long enough passphrase\n');
      expect(unknown).toMatchObject({ code: 1, stderr: `no registered platform ${moodle.issuer}#nope (see npm run platform -- list)\n` });
      expect((await accountsIn(uri)).map((a) => a.email)).toEqual(['moodle@y.edu']);

      const listed = await runCli(['list'], uri, undefined);
      expect(listed.stdout).toMatch(
        new RegExp(`^moodle@y\\.edu\\s+created \\S+\\s+scope ${moodleLabel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+never signed in\\n$`),
      );

      const browser = new Browser();
      expect((await signIn(server, browser, 'moodle@y.edu', 'a long enough passphrase')).status).toBe(303);
      expect((await browser.get(`${server.url}/admin`)).text).toContain(`platforms: ${moodleLabel}`);

      const canvasLabel = `${canvas.issuer}#${canvas.clientId}`;
      const both = await runCli(['scope', 'moodle@y.edu', '--platform', moodleLabel, `--platform=${canvasLabel}`], uri, undefined);
      expect(both).toEqual({ code: 0, stdout: `moodle@y.edu now administers platforms: ${moodleLabel}, ${canvasLabel}\n`, stderr: '' });
      expect((await browser.get(`${server.url}/admin`)).text).toContain(`platforms: ${moodleLabel}, ${canvasLabel}`);
      const global = await runCli(['scope', 'moodle@y.edu', '--global'], uri, undefined);
      expect(global.stdout).toBe('moodle@y.edu now administers global (every platform)\n');
      expect((await accountsIn(uri))[0]!.scope).toEqual({ kind: 'global' });
      expect((await runCli(['scope', 'nobody@y.edu', '--global'], uri, undefined)).code).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
