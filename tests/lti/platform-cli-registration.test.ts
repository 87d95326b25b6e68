import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, ObjectId } from 'mongodb';
import { fromRoot } from '../../src/shared/paths';
import { testDatabaseUri } from '../support/test-server';

jest.setTimeout(120_000);

describe('npm run platform: invites, replacing and approving', () => {
  const uri = testDatabaseUri('platformreg');
  const env = {
    PATH: process.env.PATH,
    MONGODB_URI: uri,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-cli-')),
    LOG_LEVEL: 'warn',
    TOOL_URL: 'https://coach.example.edu',
  };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', fromRoot('src', 'lti', 'cli', 'platform.ts'), ...args], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  let client: MongoClient;
  beforeAll(async () => {
    client = await MongoClient.connect(uri);
  });
  afterAll(async () => {
    await client.close();
  });
  const db = () => client.db();
  const target = ['--issuer', 'https://moodle.example.edu', '--client-id', 'abc123'];
  const endpoints = (host: string) => [
    '--auth-url',
    `https://${host}/auth`,
    '--token-url',
    `https://${host}/token`,
    '--jwks-url',
    `https://${host}/jwks`,
    '--deployment',
    '1',
  ];

  test('when an admin creates an invite, then one registration URL is printed and only its hash is stored, with the expiry asked for', async () => {
    const res = run('invite', '--expires-hours', '48', '--note', 'Moodle of the medical school');
    expect(res.status).toBe(0);
    const match = /^https:\/\/coach\.example\.edu\/lti\/register\?invite=([A-Za-z0-9_-]{43})\n$/.exec(res.stdout);
    expect(match).not.toBeNull();
    const token = match![1]!;
    const stored = await db()
      .collection<{ _id: string; createdAt: Date; expiresAt: Date }>('lti_registration_invites')
      .findOne({ _id: createHash('sha256').update(token).digest('hex') });
    expect(stored).toMatchObject({ usedAt: null, note: 'Moodle of the medical school' });
    const hours = (stored!.expiresAt.getTime() - stored!.createdAt.getTime()) / 3600_000;
    expect(hours).toBe(48);
    expect(JSON.stringify(await db().collection('lti_registration_invites').find().toArray())).not.toContain(token);
    expect(await db().collection('admin_audit_log').countDocuments({ action: 'platform.invite' })).toBe(1);

    const bad = run('invite', '--expires-hours', '0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--expires-hours');
  });

  test('when add names a platform that exists, then it is refused unless --replace, and a pending registration can be approved', async () => {
    expect(run('add', ...target, ...endpoints('first.example.edu')).status).toBe(0);
    const again = run('add', ...target, ...endpoints('rogue.example.edu'));
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already registered; nothing was changed');
    const settings = () => db().collection('lti_platform_settings').findOne({ issuer: 'https://moodle.example.edu', clientId: 'abc123' });
    expect(await settings()).toMatchObject({ jwksUrl: 'https://first.example.edu/jwks' });

    expect(run('add', ...target, ...endpoints('second.example.edu'), '--replace').status).toBe(0);
    expect(await settings()).toMatchObject({ jwksUrl: 'https://second.example.edu/jwks' });

    const id = new ObjectId();
    await db().collection('lti_pending_registrations').insertOne({
      _id: id,
      issuer: 'https://moodle.example.edu',
      clientId: 'abc123',
      name: 'moodle.example.edu',
      authUrl: 'https://third.example.edu/auth',
      tokenUrl: 'https://third.example.edu/token',
      jwksUrl: 'https://third.example.edu/jwks',
      deploymentId: '2',
      status: 'pending',
      createdAt: new Date(),
    });
    expect(run('pending').stdout).toContain(`${id.toHexString()}  `);
    const approved = run('approve', '--id', id.toHexString());
    expect(approved.stdout).toBe('approved https://moodle.example.edu (abc123)\n');
    expect(await settings()).toMatchObject({ jwksUrl: 'https://third.example.edu/jwks', deploymentIds: ['1', '2'] });
    expect(await db().collection('lti_pending_registrations').findOne({ _id: id })).toMatchObject({ status: 'approved' });
    expect(run('reject', '--id', id.toHexString()).stderr).toContain('already approved');
  });
});
