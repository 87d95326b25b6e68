import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

function frameAncestors(headers: Headers): string[] {
  return (/frame-ancestors ([^;]*)/.exec(headers.get('content-security-policy') ?? '')?.[1] ?? '').split(' ').filter(Boolean);
}

describe('who may frame CoachLTI pages', () => {
  let server: TestServer;
  const schoolLms = 'https://school.lms-frame.example';
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a coach launches from an LMS page, then their pages may be framed by that LMS origin and CoachLTI only', async () => {
    const browser = new Browser();
    browser.extraHeaders = { Origin: schoolLms };
    const page = await launch(server, browser, launchInput('canvas', 'coach'));
    expect(page.status).toBe(200);
    expect(frameAncestors(page.headers)).toContain(schoolLms);
    expect(frameAncestors(page.headers)).toContain("'self'");
    expect(frameAncestors(page.headers)).not.toContain('*');
  });

  test("when a coach of another LMS launches, then that LMS's pages do not list the first LMS", async () => {
    const page = await launch(server, new Browser(), launchInput('moodle', 'coach'));
    expect(page.status).toBe(200);
    expect(frameAncestors(page.headers)).not.toContain(schoolLms);
  });

  test('when the password sign-in of the administrator area is served, then only CoachLTI may frame it', async () => {
    const res = await new Browser().get(`${server.url}/admin/login`);
    expect(frameAncestors(res.headers)).toEqual(["'self'"]);
  });

  test('when an LTI page is served outside a launch, then any registered LMS may frame it, and nothing else', async () => {
    const res = await new Browser().get(`${server.url}/lti/launch`);
    const sources = frameAncestors(res.headers);
    expect(sources).toContain(schoolLms);
    expect(sources.every((s) => s === "'self'" || s.startsWith('https://') || s.startsWith('http://127.0.0.1'))).toBe(true);
  });
});
