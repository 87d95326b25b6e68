import request from 'supertest';
import { startTestServer, type TestServer } from '../support/test-server';

describe('when the database is unreachable', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MONGODB_URI: 'mongodb://127.0.0.1:1/x', DB_CONNECT_TIMEOUT_MS: '300' }, { waitReady: false });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('then /readyz answers 503 with the reason, /healthz stays 200 and one clear log line names the database', async () => {
    const until = Date.now() + 10_000;
    while (!server.logs.messages().some((m) => m.startsWith('database unreachable')) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await request(server.url).get('/readyz').expect(503);
    expect(res.body).toEqual({ status: 'unavailable', reason: 'starting: connecting to the database' });
    await request(server.url).get('/healthz').expect(200);
    const line = server.logs.messages().find((m) => m.startsWith('database unreachable'));
    expect(line).toMatch(/^database unreachable at mongodb:\/\/127\.0\.0\.1:1\/x .*retrying in \d+s$/);
  });

  test('then API requests that need the database get a 503 instead of hanging or crashing', async () => {
    const res = await request(server.url).get('/api/competencies').expect(503);
    expect(res.body.error.code).toBe('database_unavailable');
  });

  test('then the process keeps retrying rather than exiting (no crash loop)', async () => {
    const until = Date.now() + 10_000;
    const attempts = (): number => server.logs.lines.filter((l) => String(l.msg).startsWith('database unreachable')).length;
    while (attempts() < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(attempts()).toBeGreaterThanOrEqual(2);
    await request(server.url).get('/healthz').expect(200);
  });
});
