import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { startTestServer } from '../support/test-server';

describe('embedded default database', () => {
  test('when the tool starts without MONGODB_URI, stops and starts again, then the data written before is still there', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'coachlti-persist-'));
    const env = { MONGODB_URI: undefined, DATA_DIR: dataDir };

    const first = await startTestServer(env);
    expect(first.database.description).toBe(`embedded mongo-java-server, data in ${path.join(dataDir, 'embedded-db', 'coachlti.mv')}`);
    await request(first.url).get('/readyz').expect(200);
    await first.connection.collection('persistence_probe').insertOne({ _id: 'probe' as never, note: 'written before restart' });
    await first.stop();

    const second = await startTestServer(env);
    try {
      const probe = await second.connection.collection('persistence_probe').findOne({ _id: 'probe' as never });
      expect(probe).toEqual({ _id: 'probe', note: 'written before restart' });
      const res = await request(second.url).get('/api/competencies').expect(200);
      expect((res.body as { domains: unknown[] }).domains).toHaveLength(4);
      expect(second.logs.messages()).toContain('migrations applied: 0');
    } finally {
      await second.stop();
    }
  });
});
