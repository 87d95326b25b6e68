import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { connectOptions } from '../../src/db/connection';
import { migrateDown, migrateUp, migrationStatus } from '../../src/db/migrations';
import { testDatabaseUri } from '../support/test-server';
import { fromRoot } from '../../src/shared/paths';
import * as framework from '../../migrations/lib/framework';
import { embeddedIndexMigration, isEmbeddedServer } from '../../migrations/lib/indexes';
import seed from '../../migrations/20261124120100-seed-competency-framework';

async function snapshot(connection: Connection): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const name of ['competency_domains', 'competencies']) {
    out[name] = await connection.collection(name).find().sort({ _id: 1 }).toArray();
  }
  return out;
}

describe('migrations', () => {
  let connection: Connection;
  beforeEach(async () => {
    const uri = testDatabaseUri('migrations');
    connection = mongoose.createConnection();
    await connection.openUri(uri, connectOptions(uri, 5000));
  });
  afterEach(async () => {
    await connection.close();
  });

  test('when migrations run twice, then the second run applies nothing and changes no document', async () => {
    const applied = await migrateUp(connection);
    const files = readdirSync(fromRoot('migrations'))
      .filter((f) => f.endsWith('.js'))
      .sort();
    expect(applied).toEqual(files);
    expect(applied.slice(0, 2)).toEqual(['20261124120000-competency-indexes.js', '20261124120100-seed-competency-framework.js']);
    const before = await snapshot(connection);
    expect(before.competencies).toHaveLength(13);
    expect(before.competency_domains).toHaveLength(4);

    expect(await migrateUp(connection)).toEqual([]);
    expect(await snapshot(connection)).toEqual(before);
    const status = await migrationStatus(connection);
    expect(status.every((s) => s.appliedAt !== 'PENDING')).toBe(true);
  });

  test('when migrations run on the embedded server, then the outbox has the guard indexes it needs (MongoDB would skip them)', async () => {
    await migrateUp(connection);
    expect(await isEmbeddedServer(connection.db!)).toBe(true);
    const names = (await connection.collection('passback_outbox').indexes()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['version_cas', 'guarded_finish', 'leased_by', 'free_claim']));
  });

  test('when an embedded-only index migration runs on a server that reports a MongoDB build, then it creates nothing', async () => {
    const created: string[] = [];
    const mongodbLike = {
      admin: () => ({ command: async () => ({ version: '7.0.14', gitVersion: 'ce59cfc6a3c5e5c067dca0d30697edd68d4f5188', ok: 1 }) }),
      collection: () => ({
        createIndex: async (_keys: unknown, options: { name: string }) => {
          created.push(options.name);
          return options.name;
        },
      }),
    };
    const migration = embeddedIndexMigration([['passback_outbox', { _id: 1, status: 1 }, { unique: true, name: 'probe' }]]);
    await migration.up(mongodbLike as never);
    expect(created).toEqual([]);
    const embeddedLike = { ...mongodbLike, admin: () => ({ command: async () => ({ version: '3.6.0', ok: 1 }) }) };
    await migration.up(embeddedLike as never);
    expect(created).toEqual(['probe']);
  });

  test('when the seed migration runs again by hand on a seeded database, then nothing changes', async () => {
    await migrateUp(connection);
    const before = await snapshot(connection);
    await seed.up(connection.db!);
    expect(await snapshot(connection)).toEqual(before);
  });

  test('when the framework seed is rolled back, then only the documents it added are removed', async () => {
    await migrateUp(connection);
    await connection
      .collection('competencies')
      .insertOne({ _id: 'C9.1' as never, name: 'Added by an institution', domainId: 'D1', position: 99 });
    // Roll back newest first until the seed itself is reverted.
    const reverted: string[] = [];
    while (!reverted.includes('20261124120100-seed-competency-framework.js')) reverted.push(...(await migrateDown(connection)));
    expect(reverted).toEqual([...reverted].sort().reverse());
    const left = await connection.collection('competencies').find().toArray();
    expect(left.map((d) => d._id)).toEqual(['C9.1']);
    expect(await connection.collection('competency_domains').countDocuments()).toBe(0);
    const status = await migrationStatus(connection);
    expect(status.find((s) => s.fileName.startsWith('20261124120100'))?.appliedAt).toBe('PENDING');
    // Going up again restores the seed without touching the institution's own competency.
    await migrateUp(connection);
    expect(await connection.collection('competencies').countDocuments()).toBe(14);
  });

  test('when a competency is renamed in the data file, then a text migration applies it once and its down restores the old name', async () => {
    await migrateUp(connection);
    const dir = mkdtempSync(path.join(tmpdir(), 'coachlti-fw-'));
    const edited = JSON.parse(readFileSync(framework.frameworkFile, 'utf8')) as ReturnType<typeof framework.readFramework>;
    const c22 = edited.domains[1]!.competencies[1]!;
    const originalName = c22.name;
    c22.name = 'Emotional intelligence in coaching';
    const file = path.join(dir, 'framework.json');
    writeFileSync(file, JSON.stringify(edited));

    const db = connection.db!;
    await framework.applyFrameworkText(db, framework.readFramework(file), '20990101000000-rename-c22');
    const renamed = await connection.collection('competencies').findOne({ _id: 'C2.2' as never });
    expect(renamed?.name).toBe('Emotional intelligence in coaching');
    const afterFirst = await snapshot(connection);
    await framework.applyFrameworkText(db, framework.readFramework(file), '20990101000000-rename-c22');
    expect(await snapshot(connection)).toEqual(afterFirst);

    await framework.revertFrameworkText(db, '20990101000000-rename-c22');
    const restored = await connection.collection('competencies').findOne({ _id: 'C2.2' as never });
    expect(restored?.name).toBe(originalName);
    expect(restored?.history).toEqual([]);
  });
});
