import type { Store } from 'express-session';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer, type TestServer } from '../support/test-server';

/** What the session store was asked to do, by session id. */
interface StoreCalls {
  set: string[];
  destroy: string[];
}

function recording(calls: StoreCalls): (store: Store) => Store {
  return (store) => {
    const set = store.set.bind(store);
    const destroy = store.destroy.bind(store);
    store.set = (sid, session, callback) => {
      calls.set.push(sid);
      set(sid, session, callback);
    };
    store.destroy = (sid, callback) => {
      calls.destroy.push(sid);
      destroy(sid, callback);
    };
    return store;
  };
}

describe('session writes on the launch path', () => {
  const calls: StoreCalls = { set: [], destroy: [] };
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { tuning: { wrapSessionStore: recording(calls) } });
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    calls.set.length = 0;
    calls.destroy.length = 0;
  });

  test('when a browser without a session launches, then the session is written once and nothing is deleted', async () => {
    const page = await launch(server, new Browser(), launchInput('canvas', 'coach'));
    expect(page.status).toBe(200);
    expect(new URL(page.url).pathname).toBe('/training');
    expect(calls.destroy).toEqual([]);
    expect(calls.set).toHaveLength(1);
  });

  test('when a launched coach opens pages, then the stored session is neither rewritten nor touched', async () => {
    const browser = new Browser();
    await launch(server, browser, launchInput('canvas', 'coach'));
    const sid = calls.set[0]!;
    const sessions = server.connection.db!.collection<{ _id: string; expires: Date }>('sessions');
    const stored = await sessions.findOne({ _id: sid });
    expect(stored).not.toBeNull();
    calls.set.length = 0;

    for (let i = 0; i < 3; i += 1) {
      const res = await browser.get(`${server.url}/training`);
      expect(res.status).toBe(200);
    }
    expect(calls.set).toEqual([]);
    const after = await sessions.findOne({ _id: sid });
    expect(after?.expires.getTime()).toBe(stored?.expires.getTime());
  });

  test('when a browser that already has a session launches again, then it gets a new session id and the old one is deleted', async () => {
    const browser = new Browser();
    await launch(server, browser, launchInput('canvas', 'coach'));
    const first = calls.set[0]!;
    calls.set.length = 0;

    const again = await launch(server, browser, launchInput('canvas', 'faculty'));
    expect(new URL(again.url).pathname).toBe('/course');
    expect(calls.destroy).toEqual([first]);
    // Every write after the launch (the course page adds its form token) goes to the new id.
    expect(new Set(calls.set).size).toBe(1);
    expect(calls.set[0]).not.toBe(first);
    expect(await server.connection.db!.collection('sessions').countDocuments({ _id: first as never })).toBe(0);
  });
});
