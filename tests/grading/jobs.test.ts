import { spawn, type ChildProcess } from 'node:child_process';
import { ObjectId } from 'mongodb';
import { globalScope } from '../../src/admin/admin-scope';
import { createJobStore } from '../../src/grading/jobs';
import { createJobRunner, type JobWork } from '../../src/grading/jobs-runner';
import { finishedJob, finishModule, learnersOf, settled, signedInAdmin } from '../admin/support';
import { Browser, decodeHtml } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { fromRoot } from '../../src/shared/paths';
import { startTestServer, type TestServer } from '../support/test-server';

jest.setTimeout(180_000);

describe('resync and reconcile as background jobs', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No runner starts by itself here: each test decides which runners exist.
    server = await startTestServer({}, { tuning: { startJobRunner: false, worker: { idlePollMs: 20 } } });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** `npm run worker` on the test server's database; resolves once it says it is ready. */
  function startWorkerProcess(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', fromRoot('src', 'grading', 'cli', 'worker.ts')], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        MONGODB_URI: server.config.mongodbUri,
        LTI_KEY: server.config.ltiKey,
        SESSION_SECRET: server.config.sessionSecret,
        DATA_DIR: server.config.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('WORKER READY')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
    });
  }

  /** A course of the shape with `n` learners who finished a module; returns our ids. */
  async function courseWithLearners(shape: 'canvas' | 'moodle', courseIndex: number, n: number, skip = 0) {
    const course = learnersOf(shape, courseIndex);
    const learners: string[] = [];
    let courseId = '';
    for (const learner of course.learners.slice(skip, skip + n)) {
      const done = await finishModule(server, shape, learner.userId, course.contextId, 'M01');
      await settled(server, done.userId, ['sent']);
      learners.push(done.userId);
      courseId = done.courseId;
    }
    return { courseId, learners, title: course.title, contextId: course.contextId };
  }

  const resyncEvents = async (userId: string): Promise<number> =>
    server.connection.db!.collection('domain_events').countDocuments({ 'payload.user.userId': userId, 'payload.cause.kind': 'resync' });

  const jobDoc = async (id: string) => server.connection.db!.collection('grading_jobs').findOne({ _id: new ObjectId(id) });

  test('when a resync is requested, then the request only queues it and the web process runner takes it to done with counts', async () => {
    const { courseId, learners } = await courseWithLearners('canvas', 0, 2);
    const requested = (await server.grading.requestJob(globalScope, 'resync', courseId, 'tester@example.edu'))!;
    expect(requested.created).toBe(true);
    expect(requested.job).toMatchObject({ state: 'queued', kind: 'resync', courseId, progress: { total: 0, done: 0, failed: 0 } });
    // Asking again while it waits returns the same job.
    const again = (await server.grading.requestJob(globalScope, 'resync', courseId, 'other@example.edu'))!;
    expect(again).toMatchObject({ created: false, job: { id: requested.job.id } });
    expect(await resyncEvents(learners[0]!)).toBe(0);

    server.jobRunner.start();
    try {
      const job = await finishedJob(server, courseId, 'resync');
      expect(job).toEqual({ id: requested.job.id, state: 'done', progress: { total: 2, done: 2, failed: 0 } });
    } finally {
      await server.jobRunner.stop();
    }
    for (const learner of learners) expect(await resyncEvents(learner)).toBe(1);
    const doc = (await jobDoc(requested.job.id))!;
    expect(doc).toMatchObject({ attempts: 1, lease: null, requestedBy: 'tester@example.edu' });
    expect(doc.activeKey).toBeUndefined();
    expect(doc.finishedAt).toBeInstanceOf(Date);
    // Once finished, a new request queues a new job.
    const next = (await server.grading.requestJob(globalScope, 'resync', courseId, 'tester@example.edu'))!;
    expect(next.created).toBe(true);
    expect(next.job.id).not.toBe(requested.job.id);
    await server.connection.db!.collection('grading_jobs').deleteOne({ _id: new ObjectId(next.job.id) });
  });

  test('when the runner holding a job dies, then after its lease expires a second runner takes over, skips what was done and completes it once', async () => {
    const { courseId, learners } = await courseWithLearners('moodle', 0, 3);
    const store = createJobStore(server.connection);
    const { job } = (await server.grading.requestJob(globalScope, 'resync', courseId, 'tester@example.edu'))!;

    // The first runner claims the job, finishes one learner, and its process is killed (it never runs again).
    const crashed = await store.claim('crashed-runner', new Date(), 300);
    expect(crashed?.id).toBe(job.id);
    const items = await server.grading.jobWork.items(crashed!);
    expect(items.sort()).toEqual([...learners].sort());
    await store.setTotal(job.id, 'crashed-runner', items.length, new Date());
    await server.grading.jobWork.runItem(crashed!, items[0]!);
    expect(await store.recordItem(job.id, 'crashed-runner', items[0]!, { ok: true }, new Date(), 300)).toBe(true);

    const calls: string[] = [];
    const counting: JobWork = {
      ...server.grading.jobWork,
      runItem: async (j, item) => {
        calls.push(item);
        return server.grading.jobWork.runItem(j, item);
      },
    };
    const runners = [1, 2].map(() => createJobRunner({ store, work: counting, logger: server.logger, options: { leaseMs: 300 } }));
    // While the lease is valid nobody else may take the job.
    expect(await runners[0]!.runOnce()).toBe(false);
    expect((await jobDoc(job.id))!.state).toBe('running');

    await new Promise((r) => setTimeout(r, 350));
    const results = await Promise.all(runners.map((r) => r.runOnce()));
    expect(results.filter(Boolean)).toHaveLength(1);

    const doc = (await jobDoc(job.id))!;
    expect(doc).toMatchObject({ state: 'done', attempts: 2, progress: { total: 3, done: 3, failed: 0 } });
    expect([...(doc.processed as string[])].sort()).toEqual([...learners].sort());
    expect(calls.sort()).toEqual(items.slice(1).sort());
    for (const learner of learners) expect(await resyncEvents(learner)).toBe(1);
    // A finished job is not taken again.
    expect(await runners[1]!.runOnce()).toBe(false);
  });

  test('when a job keeps losing its process, then it is given up after the maximum number of attempts', async () => {
    const { courseId } = await courseWithLearners('canvas', 1, 1);
    const store = createJobStore(server.connection);
    const { job } = (await server.grading.requestJob(globalScope, 'resync', courseId, 'tester@example.edu'))!;
    await server.connection.db!.collection('grading_jobs').updateOne({ _id: new ObjectId(job.id) }, { $set: { attempts: 3 } });
    const runner = createJobRunner({ store, work: server.grading.jobWork, logger: server.logger, options: { maxAttempts: 3 } });
    expect(await runner.runOnce()).toBe(true);
    const doc = (await jobDoc(job.id))!;
    expect(doc.state).toBe('failed');
    expect(doc.errors).toEqual(['gave up after 3 attempts (the process running it stopped each time)']);
    expect(doc.activeKey).toBeUndefined();
  });

  test('when faculty resync their course, then they and an administrator see the job progress until it is done', async () => {
    const { courseId, contextId } = await courseWithLearners('moodle', 1, 2);
    const faculty = new Browser();
    const dashboard = await launch(server, faculty, launchInput('moodle', 'faculty', {}, 1));
    expect(decodeHtml(dashboard.text)).toContain('Resync this course');
    expect(dashboard.text).not.toContain('id="resync-status"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(dashboard.text)![1]!;
    const posted = await faculty.post(`${server.url}/course/resync`, { _csrf: decodeHtml(csrf) });
    expect(posted.status).toBe(303);
    const queued = await faculty.follow(posted);
    expect(queued.text).toContain('Resync queued. Its progress shows below.');
    expect(queued.text).toMatch(/id="resync-status"[\s\S]*Queued[\s\S]*waiting to start/);
    const again = await faculty.follow(await faculty.post(`${server.url}/course/resync`, { _csrf: decodeHtml(csrf) }));
    expect(again.text).toContain('A resync of this course is already running.');
    expect(await server.connection.db!.collection('grading_jobs').countDocuments({ courseId, kind: 'resync' })).toBe(1);

    const { browser: admin } = await signedInAdmin(server);
    const jobId = (await server.connection.db!.collection('grading_jobs').findOne({ courseId, kind: 'resync' }))!._id.toHexString();
    const list = await admin.get(`${server.url}/admin/jobs`);
    expect(list.text).toMatch(new RegExp(`<tr id="job-${jobId}" data-state="queued">`));
    const ledger = await admin.get(`${server.url}/admin/passback`);
    expect(ledger.text).toContain(`href="/admin/jobs/${jobId}"`);

    const runner = createJobRunner({ store: createJobStore(server.connection), work: server.grading.jobWork, logger: server.logger });
    expect(await runner.runOnce()).toBe(true);
    const finished = await finishedJob(server, courseId, 'resync');
    expect(finished.progress).toEqual({ total: 2, done: 2, failed: 0 });
    const after = await faculty.get(`${server.url}/course`);
    expect(after.text).toMatch(/id="resync-status"[\s\S]*Finished[\s\S]*2 of 2 coaches recomputed/);
    const detail = await admin.get(`${server.url}/admin/jobs/${jobId}`);
    expect(detail.text).toContain('data-state="done"');
    expect(detail.text).toContain('2 of 2 learners');
    expect(contextId).toBeTruthy();
  });

  test('when the web process runs no jobs, then npm run worker runs a resync and a reconcile to done', async () => {
    const { courseId, learners } = await courseWithLearners('canvas', 1, 1, 1);
    const resync = (await server.grading.requestJob(globalScope, 'resync', courseId, 'tester@example.edu'))!;
    const reconcile = (await server.grading.requestJob(globalScope, 'reconcile', courseId, 'tester@example.edu'))!;
    const worker = await startWorkerProcess();
    try {
      const resynced = await finishedJob(server, courseId, 'resync');
      expect(resynced).toMatchObject({ id: resync.job.id, state: 'done', progress: { failed: 0 } });
      expect(resynced.progress.done).toBe(resynced.progress.total);
      const done = await finishedJob(server, courseId, 'reconcile');
      expect(done).toMatchObject({ id: reconcile.job.id, state: 'done' });
      expect(done.progress.total).toBeGreaterThan(0);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await resyncEvents(learners[0]!)).toBe(1);
    const stored = (await server.grading.job(globalScope, reconcile.job.id))!;
    expect(stored.rows.length).toBeGreaterThan(0);
    expect(stored.rows.every((r) => r.competencyId.startsWith('C'))).toBe(true);
  });
});
