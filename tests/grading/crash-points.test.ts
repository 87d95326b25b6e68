import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { createDevPlatform, devPlatformDirectory, type DevPlatform, type LaunchInput } from '../../src/devplatform';
import { faultPointNames, type FaultPointName } from '../../src/shared/fault-points';
import { createLogger } from '../../src/shared/logger';
import { fromRoot } from '../../src/shared/paths';
import { Browser, parseForms, findLink, type HtmlForm, type PageResponse } from '../support/browser';
import { freePort, testDatabaseUri, testPlatformKeyBits } from '../support/test-server';

jest.setTimeout(600_000);

/**
 * The whole tool as a separate process on a database of its own, killed (SIGKILL, by itself) at each named
 * fault point while 20 coaches press Finish at once, then started again: the LMS must end up with the
 * tool's latest score for every learner × column.
 */
const coaches = 20;
const moduleId = 'M02';
const shape = 'moodle' as const;
const contextId = devPlatformDirectory().courses.filter((c) => c.shape === shape)[0]!.contextId;
const secrets = { LTI_KEY: randomBytes(24).toString('hex'), SESSION_SECRET: randomBytes(24).toString('hex') };

/** A timer that does not keep jest alive. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

interface Tool {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startTool(env: Record<string, string>): Tool {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('src', 'main.ts')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      MIGRATE_ON_START: 'true',
      TEST_PLATFORM_KEY_BITS: testPlatformKeyBits,
      ...secrets,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

async function waitReady(url: string, tool: Tool, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (tool.child.exitCode !== null || tool.child.signalCode !== null) throw new Error(`tool exited: ${tool.stderr()}`);
    const ok = await fetch(`${url}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`tool not ready: ${tool.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function launchAt(platform: DevPlatform, browser: Browser, input: LaunchInput): Promise<PageResponse> {
  const start = await platform.startLaunch(input);
  const login = await browser.post(start.url, start.params);
  if (!login.location) throw new Error(`login initiation answered ${login.status}`);
  const auth = await browser.get(login.location);
  return browser.follow(await browser.submitForm(auth));
}

/** Works through the module answering differently per coach, and stops at the Finish form. */
async function workUntilFinish(browser: Browser, landing: PageResponse, variant: number): Promise<HtmlForm> {
  let page = landing;
  for (let step = 0; step < 200; step += 1) {
    if (page.status !== 200) throw new Error(`HTTP ${page.status} at ${page.url}`);
    const forms = parseForms(page.text, page.url);
    const finish = forms.find((f) => f.action.endsWith('/complete'));
    const item = forms.find((f) => f.action.includes('/items/'));
    const start = forms.find((f) => f.action.endsWith('/attempts'));
    const action = item ?? (finish ? undefined : start);
    if (!action && finish) return finish;
    if (action) {
      const extra: Record<string, string> = {};
      for (const [name, values] of Object.entries(action.choices)) extra[name] = values[(variant + step) % values.length]!;
      for (const name of action.textareas) extra[name] = 'I would ask what the learner wants from our time together.';
      page = await browser.follow(await browser.post(action.action, { ...action.fields, ...extra }));
    } else {
      const next = findLink(page, /^(Next section|Continue where you left off|Start)/);
      if (!next) throw new Error(`stuck at ${page.url}`);
      page = await browser.get(next);
    }
  }
  throw new Error('the module did not end');
}

describe.each(faultPointNames.map((p) => [p]))('a tool process killed at %s', (point: FaultPointName) => {
  test(`when ${coaches} coaches finish at once and the process dies at ${point}, then after a restart the LMS holds the latest score for every learner × column`, async () => {
    const databaseUri = testDatabaseUri(`crash_${point}`);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      MONGODB_URI: databaseUri,
      PORT: String(port),
      HOST: '127.0.0.1',
      TOOL_URL: url,
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'coachlti-crash-')),
    };
    const connection = await mongoose.createConnection(databaseUri).asPromise();
    const platform = createDevPlatform({ connection, toolUrl: url, platformUrl: `${url}/dev/platform`, logger: createLogger('silent') });
    let tool = startTool({ ...env, COACHLTI_FAULT_POINT: point });
    try {
      await waitReady(url, tool);

      // Faculty add the module (its own gradebook column) and open the link once.
      const facultyId = devPlatformDirectory().users.find(
        (u) => u.shape === shape && u.enrollments.some((e) => e.contextId === contextId && e.role === 'instructor'),
      )!.userId;
      const faculty = new Browser();
      const dl = await launchAt(platform, faculty, { shape, userId: facultyId, contextId, messageType: 'LtiDeepLinkingRequest' });
      const dlForm = parseForms(dl.text, dl.url)[0]!;
      await faculty.submitForm(await faculty.post(dlForm.action, { ...dlForm.fields, action: 'add', modules: moduleId }));
      const link = (await platform.deepLinks(contextId)).find((l) => l.custom.module_id === moduleId)!;
      await launchAt(platform, new Browser(), { shape, userId: facultyId, contextId, resourceLinkId: link.resourceLinkId });

      const learners = devPlatformDirectory()
        .users.filter(
          (u) => u.shape === shape && u.enrollments.some((e) => e.contextId === contextId && e.role === 'learner' && e.status === 'Active'),
        )
        .slice(0, coaches);
      expect(learners).toHaveLength(coaches);
      const sessions = await Promise.all(
        learners.map(async (l, i) => {
          const browser = new Browser();
          const landing = await launchAt(platform, browser, { shape, userId: l.userId, contextId, resourceLinkId: link.resourceLinkId });
          return { browser, sub: l.userId, finish: await workUntilFinish(browser, landing, i) };
        }),
      );

      // Everyone presses Finish at once; the process kills itself at the fault point.
      await Promise.all(sessions.map((s) => s.browser.post(s.finish.action, s.finish.fields).catch(() => undefined)));
      const death = await Promise.race([tool.exited, sleep(60_000).then(() => null)]);
      expect(death).toEqual({ code: null, signal: 'SIGKILL' });

      // Time passes: the dead process's leases (outbox entries, the line-item creation lock) expire.
      await connection.db!.collection('passback_outbox').updateMany({ status: 'sending' }, { $set: { 'lease.until': new Date(0) } });
      await connection.db!.collection('grading_locks').updateMany({}, { $set: { until: new Date(0) } });
      const owedAtDeath = await connection.db!.collection('attempts').countDocuments({ scoresOwed: { $exists: true } });

      tool = startTool(env);
      await waitReady(url, tool);
      // Coaches whose Finish got no answer press it again (a repeat changes nothing for the others).
      for (const s of sessions) {
        const again = await s.browser.post(s.finish.action, s.finish.fields);
        expect(again.status).toBe(303);
      }
      const db = connection.db!;
      const until = Date.now() + 120_000;
      for (;;) {
        const [pending, owed, open] = await Promise.all([
          db.collection('passback_outbox').countDocuments({ status: { $in: ['pending', 'sending'] } }),
          db.collection('attempts').countDocuments({ scoresOwed: { $exists: true } }),
          db.collection('attempts').countDocuments({ status: 'in_progress' }),
        ]);
        if (pending === 0 && owed === 0 && open === 0) break;
        if (Date.now() > until) throw new Error(`not settled: pending ${pending}, owed ${owed}, open ${open}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // The tool's truth: the latest snapshot per learner and the module score in the outbox.
      const book = await platform.gradebook(contextId);
      const users = await db
        .collection('users')
        .find({ sub: { $in: learners.map((l) => l.userId) } })
        .toArray();
      let compared = 0;
      let lost = 0;
      for (const user of users) {
        const snapshot = await db.collection('competency_scores').findOne({ userId: user._id });
        expect(snapshot?.scores.length).toBeGreaterThan(0);
        for (const s of snapshot!.scores as { competencyId: string; score: number; pendingFacultyRating: boolean }[]) {
          const result = book.lineItems
            .find((l) => l.tag === 'coaching-competency' && l.resourceId === s.competencyId)
            ?.results.find((r) => r.userId === user.sub);
          compared += 1;
          if (result?.scoreGiven !== s.score || result.gradingProgress !== (s.pendingFacultyRating ? 'PendingManual' : 'FullyGraded'))
            lost += 1;
        }
        const moduleEntry = await db.collection('passback_outbox').findOne({ userId: user._id.toHexString(), 'target.kind': 'module' });
        const moduleResult = book.lineItems.find((l) => l.id === link.lineItemIds[0])!.results.find((r) => r.userId === user.sub);
        compared += 1;
        if (!moduleEntry || moduleResult?.scoreGiven !== moduleEntry.score.scoreGiven) lost += 1;
      }
      expect({ point, learners: users.length, lost }).toEqual({ point, learners: coaches, lost: 0 });
      expect(compared).toBeGreaterThan(coaches * 2);

      // No stale overwrite: per learner × column the LMS accepted strictly newer timestamps, the last being the result.
      const received = await db.collection('devplatform_scores').find({ contextId }).sort({ receivedAt: 1 }).toArray();
      const byColumn = new Map<string, { timestampKey: string }[]>();
      for (const r of received)
        byColumn.set(`${r.lineItemId}|${r.userId}`, [...(byColumn.get(`${r.lineItemId}|${r.userId}`) ?? []), r as never]);
      let stale = 0;
      for (const list of byColumn.values())
        for (let i = 1; i < list.length; i += 1) if (list[i]!.timestampKey <= list[i - 1]!.timestampKey) stale += 1;
      expect(stale).toBe(0);
      const statuses = await db.collection('passback_outbox').distinct('status');
      expect(statuses.filter((s) => s !== 'sent')).toEqual([]);
      // Killed after the LMS stored a score but before the tool recorded it: the repeat got 409 and was confirmed.
      const confirmed = await db.collection('passback_outbox').countDocuments({ reason: /^confirmed: the LMS already holds this score/ });
      if (point === 'mid-send') expect(confirmed).toBeGreaterThan(0);
      process.stdout.write(
        `fault point ${point}: owed at death ${owedAtDeath}, confirmed after 409 ${confirmed}, ${compared} learner × column pairs, 0 lost, 0 stale\n`,
      );
    } finally {
      tool.child.kill('SIGTERM');
      await Promise.race([tool.exited, sleep(15_000)]);
      if (tool.child.exitCode === null && tool.child.signalCode === null) tool.child.kill('SIGKILL');
      await connection.close();
    }
  });
});
