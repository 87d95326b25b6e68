import { Browser } from '../support/browser';
import { startTestServer, type TestServer } from '../support/test-server';

describe('in production', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'production', LTI_KEY: 'k'.repeat(40), SESSION_SECRET: 's'.repeat(40) });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when /dev/platform is requested, then it does not exist (404) and no test platform was registered', async () => {
    const res = await new Browser().get(`${server.url}/dev/platform`);
    expect(res.status).toBe(404);
    expect(server.devPlatform).toBeUndefined();
    expect(await server.lti.listPlatforms()).toEqual([]);
    expect(server.logs.messages().some((m) => m.includes('DEVELOPMENT TEST PLATFORM'))).toBe(false);
  });

  test('when the tool is ready, then its LTI endpoints answer (keys, Canvas JSON)', async () => {
    const keys = await fetch(`${server.url}/lti/keys`);
    expect(keys.status).toBe(200);
    const canvas = await fetch(`${server.url}/lti/canvas.json`);
    expect(canvas.status).toBe(200);
  });
});
