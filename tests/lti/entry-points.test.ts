import { readFileSync } from 'node:fs';
import request from 'supertest';
import { fromRoot } from '../../src/shared/paths';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(120_000);

describe('the entry points a person or an LMS administrator opens by hand', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when /lti/login is opened in a browser without parameters, then an HTML page explains it is the OIDC login initiation URL', async () => {
    const res = await request(server.url).get('/lti/login').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('OIDC login initiation URL');
    expect(res.text).toContain(`${server.config.toolUrl}/lti/login`);
    expect(res.text).toContain('href="/"');
    expect(res.text).not.toMatch(/^\s*\{/);
  });

  test('when /lti/login is asked for JSON without parameters, then the JSON names the problem', async () => {
    const res = await request(server.url).get('/lti/login').set('Accept', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: expect.objectContaining({ code: 'login_initiation_only', message: expect.stringContaining('OIDC') }),
    });
  });

  test('when /lti/launch is opened without an id_token or ltik, then an HTML page says to open CoachLTI from the course, without the ltijs code', async () => {
    for (const method of ['get', 'post'] as const) {
      const res = await request(server.url)[method]('/lti/launch').set('Accept', 'text/html');
      expect({ method, status: res.status }).toEqual({ method, status: 401 });
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain('Please launch from your course');
      expect(res.text).toContain('launch URL');
      expect(res.text).not.toContain('NO_LTIK_OR_IDTOKEN_FOUND');
    }
    const json = await request(server.url).post('/lti/launch').set('Accept', 'application/json');
    expect(json.status).toBe(401);
    expect(json.body.error.code).toBe('launch_without_token');
  });

  test('when the home page is opened, then it is the front door for IT: registration URLs, admin sign-in, health, version and the framework', async () => {
    const res = await request(server.url).get('/');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<title>CoachLTI<\/title>/);
    const base = server.config.toolUrl;
    for (const url of [`${base}/lti/login`, `${base}/lti/launch`, `${base}/lti/keys`, `${base}/lti/register`, `${base}/lti/canvas.json`])
      expect(res.text).toContain(url);
    expect(res.text).toContain('href="/admin/login"');
    expect(res.text).toContain('href="/healthz"');
    expect(res.text).toContain('href="/readyz"');
    expect(res.text).toContain('href="/framework"');
    const { version } = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };
    expect(res.text).toContain(`Version ${version}`);
    expect(res.text).toMatch(/<button[^>]*data-copy/);
    expect(res.text).toContain('<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">');
  });

  test('when the framework page is opened, then the 13 competencies are listed in their domains as a page, not only JSON', async () => {
    const res = await request(server.url).get('/framework');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect((res.text.match(/<li[^>]*data-competency=/g) ?? []).length).toBe(13);
    expect((res.text.match(/<h2[^>]*data-domain=/g) ?? []).length).toBe(4);
    expect(res.text).toContain('href="/api/competencies"');
  });

  test('when a browser asks for the favicon, then /favicon.ico and the SVG answer without 404', async () => {
    const ico = await request(server.url).get('/favicon.ico');
    expect(ico.status).toBeLessThan(400);
    if (ico.status >= 300) expect(ico.headers.location).toBe('/static/favicon.svg');
    const svg = await request(server.url).get('/static/favicon.svg');
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toMatch(/image\/svg\+xml/);
    expect(svg.text ?? svg.body.toString()).toContain('<svg');
  });
});
