import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';
import { finishModule, learnersOf, ledgerRows, settled } from './support';

jest.setTimeout(180_000);

describe('administrators are scoped to their platform', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('when a Moodle LTI administrator opens the ledger and the CSV, then no Canvas entry is shown', async () => {
    const canvas = learnersOf('canvas', 0);
    const moodle = learnersOf('moodle', 0);
    const c = await finishModule(server, 'canvas', canvas.learners[0]!.userId, canvas.contextId, 'M01');
    const m = await finishModule(server, 'moodle', moodle.learners[0]!.userId, moodle.contextId, 'M01');
    const canvasEntries = await settled(server, c.userId, ['sent']);
    await settled(server, m.userId, ['sent']);

    const browser = new Browser();
    expect((await launch(server, browser, launchInput('moodle', 'admin'))).status).toBe(200);
    const ledger = await browser.get(`${server.url}/admin/passback`);
    const shown = [...ledgerRows(ledger).keys()];
    expect(shown.filter((id) => canvasEntries.some((e) => e.id === id))).toEqual([]);
    const csv = await browser.get(`${server.url}/admin/passback.csv`);
    expect(csv.text).not.toContain(canvas.title);
    const resync = await browser.get(`${server.url}/admin/passback/courses/${c.courseId}/reconcile`);
    expect(resync.status).toBe(404);
  });
});
