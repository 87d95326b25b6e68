import request from 'supertest';
import { loadFrameworkFile } from '../../src/competencies/framework-schema';
import { startTestServer, type TestServer } from '../support/test-server';

describe('competency framework API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when the tool starts on an empty database, then GET /api/competencies returns the 4 domains and 13 competencies of the data file in order', async () => {
    const res = await request(server.url).get('/api/competencies').expect(200).expect('Content-Type', /json/);
    const data = loadFrameworkFile();
    expect(res.body).toEqual({
      domains: data.domains.map((d) => ({
        id: d.id,
        name: d.name,
        uuid: d.uuid,
        competencies: d.competencies.map((c) => ({ id: c.id, name: c.name, summary: c.summary, uuid: c.uuid })),
      })),
    });
    const body = res.body as { domains: { competencies: unknown[] }[] };
    expect(body.domains).toHaveLength(4);
    expect(body.domains.flatMap((d) => d.competencies)).toHaveLength(13);
  });

  test('when the database is reachable and migrated, then /readyz is 200 and /healthz is 200', async () => {
    await request(server.url).get('/readyz').expect(200, { status: 'ready' });
    await request(server.url).get('/healthz').expect(200, { status: 'ok' });
  });

  test('when an unknown API path is requested, then a JSON 404 names the problem', async () => {
    const res = await request(server.url).get('/api/nothing-here').expect(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: 'There is nothing at /api/nothing-here.' } });
  });

  test('when an unknown page is requested by a browser, then an HTML 404 page is rendered', async () => {
    const res = await request(server.url).get('/nothing-here').set('Accept', 'text/html').expect(404);
    expect(res.text).toContain('<h1 id="error-title">Page not found</h1>');
  });

  test('when any page is served, then it carries a request id and may be framed by an LMS', async () => {
    const res = await request(server.url).get('/').set('X-Request-Id', 'abc-123').expect(200);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-frame-options']).toBeUndefined();
    // Framing is limited to CoachLTI and the registered LMSs (here only the built-in one, on this origin).
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(res.headers['content-security-policy']).not.toContain('frame-ancestors *');
  });
});
