/**
 * Faculty overview bench (issue 11): a course with 30 coaches of mixed progress on the LMS roster, and the
 * faculty landing page (/course) requested repeatedly. Server time per request is pino-http's `responseTime`
 * (request received → response finished, in the tool), read from the tool's own log; the client's time on
 * localhost is printed beside it. Target: p95 ≤ 150 ms. Run with `BENCH_ONLY=faculty npm run bench`; the
 * full `npm run bench` runs it first. Knobs: BENCH_FACULTY_REQUESTS (default 100).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import type { Coach } from '../../src/assessment/assessment-service';
import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';
import { devPlatformDirectory } from '../../src/devplatform';
import { generateKeyEntry } from '../../src/privacy/field-crypto';
import { startServer, type RunningServer } from '../../src/server';
import { createLogger } from '../../src/shared/logger';
import { Browser } from '../support/browser';
import { freePort } from '../support/test-server';
import { launch, launchInput } from '../support/lti-launch';

const coachCount = 30;
const targetP95Ms = 150;

/** Keeps the `responseTime` of every logged request to /course (the page measured). */
class ResponseTimes extends Writable {
  readonly overview: number[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.includes('"responseTime"')) continue;
      const entry = JSON.parse(line) as { req?: { url?: string }; responseTime?: number; res?: { statusCode?: number } };
      if (entry.req?.url === '/course' && entry.res?.statusCode === 200 && typeof entry.responseTime === 'number')
        this.overview.push(entry.responseTime);
    }
    callback();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Adds `coachCount` learners to the built-in platform's course roster (what NRPS returns). */
async function seedRoster(server: RunningServer, contextId: string): Promise<string[]> {
  const db = server.connection.db!;
  const subs = Array.from({ length: coachCount }, (_, i) => `bench-faculty-${i}`);
  await db.collection('devplatform_users').bulkWrite(
    subs.map((userId, i) => ({
      updateOne: {
        filter: { _id: `canvas:${userId}` } as never,
        update: {
          $set: {
            shape: 'canvas',
            userId,
            key: userId,
            loginHint: userId,
            name: `Bench Coach ${String(i).padStart(2, '0')}`,
            givenName: 'Bench',
            familyName: `Coach ${i}`,
            email: `bench.coach${i}@example.edu`,
            siteAdmin: false,
          },
        },
        upsert: true,
      },
    })),
  );
  await db.collection('devplatform_enrollments').bulkWrite(
    subs.map((userId, i) => ({
      updateOne: {
        filter: { _id: `${contextId}:${userId}` } as never,
        update: { $set: { shape: 'canvas', contextId, userId, role: 'learner', status: 'Active', position: 2000 + i } },
        upsert: true,
      },
    })),
  );
  return subs;
}

/**
 * Mixed progress: every 5th coach never opens the tool; the others launch and finish 0–3 modules (one more
 * left in progress for some), faculty rate the reflections of every other coach, and every 4th is observed.
 */
async function seedProgress(server: RunningServer, contextId: string, subs: string[], facultySub: string): Promise<void> {
  const modules = ['M01', 'M02', 'M04', 'M06'];
  const db = server.connection.db!;
  for (const [i, sub] of subs.entries()) {
    if (i % 5 === 0) continue;
    await launch(server, new Browser(), { shape: 'canvas', userId: sub, contextId });
    const user = (await db.collection('users').findOne({ sub }))!;
    const course = (await db.collection('courses').findOne({ contextId }))!;
    const faculty = (await db.collection('users').findOne({ sub: facultySub }))!;
    const coach: Coach = {
      userId: user._id.toHexString(),
      courseId: course._id.toHexString(),
      issuer: course.issuer as string,
      clientId: course.clientId as string,
      deploymentId: course.deploymentId as string,
      resourceLinkId: undefined,
    };
    const done = i % 4;
    const inProgress = i % 3 === 0 ? 1 : 0;
    for (const [m, moduleId] of modules.slice(0, done + inProgress).entries()) {
      const module = await server.assessment.currentModule(moduleId);
      const attempt = await server.assessment.startOrResume(coach, moduleId, `bench-${sub}-${moduleId}-start-key`);
      const items = m < done ? module.items : module.items.slice(0, 2);
      for (const [k, item] of items.entries()) {
        await server.assessment.answer(
          coach,
          attempt.id,
          item.id,
          item.kind === 'mcq'
            ? { kind: 'mcq', selected: [item.options[(i + k) % 3 === 0 ? 0 : item.options.findIndex((o) => o.correct)]!.id] }
            : { kind: 'reflection', text: `Reflection of coach ${i} on ${item.id}.`, selfLevel: 'proficient' },
        );
      }
      if (m >= done) continue;
      await server.assessment.complete(coach, attempt.id);
      if (i % 2 === 0)
        for (const item of module.items.filter((x) => x.kind === 'reflection'))
          await server.assessment.rateReflection(
            { userId: faculty._id.toHexString(), courseId: coach.courseId! },
            attempt.id,
            item.id,
            (['developing', 'proficient', 'expert'] as const)[i % 3]!,
          );
    }
    if (i % 4 === 1)
      await server.assessment.recordObservation({
        userId: coach.userId,
        courseId: coach.courseId!,
        observerId: faculty._id.toHexString(),
        observerName: 'Bench Faculty',
        observedOn: new Date(),
        setting: 'simulated',
        durationMinutes: 30,
        instrumentVersion: 1,
        ratings: [
          { competencyId: 'C1.1', level: 'proficient' },
          { competencyId: 'C2.2', level: 'developing' },
        ],
        narrative: `Observation of coach ${i}.`,
      });
  }
}

export interface FacultyOverviewResult {
  coaches: number;
  requests: number;
  serverP50: number;
  serverP95: number;
  clientP50: number;
  clientP95: number;
  met: boolean;
}

/** Runs the faculty overview bench; prints p50/p95 and met/MISSED; returns the figures. */
export async function benchFacultyOverview(
  log: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<FacultyOverviewResult> {
  const requests = Number(process.env.BENCH_FACULTY_REQUESTS ?? 100);
  const db = await startMongoJavaServer();
  const times = new ResponseTimes();
  const port = await freePort();
  const server = await startServer({
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'coachlti-bench-faculty-')),
      MONGODB_URI: `${db.uri}/bench_faculty`,
      PORT: String(port),
      HOST: '127.0.0.1',
      TOOL_URL: `http://127.0.0.1:${port}`,
      DATA_ENCRYPTION_KEYS: generateKeyEntry('bench1'),
      PRIVACY_SWEEP_INTERVAL_MS: '0',
    },
    logger: createLogger('info', times),
  });
  try {
    await server.ready;
    const facultyInput = launchInput('canvas', 'faculty');
    const contextId = facultyInput.contextId;
    if (!devPlatformDirectory().courses.some((c) => c.contextId === contextId)) throw new Error(`no course ${contextId}`);
    log(`faculty overview: seeding ${coachCount} coaches of mixed progress…`);
    const seedStart = performance.now();
    const subs = await seedRoster(server, contextId);
    const faculty = new Browser();
    const landing = await launch(server, faculty, facultyInput);
    if (new URL(landing.url).pathname !== '/course') throw new Error(`faculty landed on ${landing.url}`);
    await seedProgress(server, contextId, subs, facultyInput.userId);
    await server.assessment.sweepOwed(0, 1000);
    log(`faculty overview: seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

    const url = new URL('/course', landing.url).toString();
    const check = await faculty.get(url);
    const rows = (check.text.match(/Bench Coach \d\d/g) ?? []).length;
    if (check.status !== 200 || new Set(check.text.match(/Bench Coach \d\d/g)).size !== coachCount)
      throw new Error(`the overview shows ${rows} bench coaches (status ${check.status}), expected ${coachCount}`);
    for (let i = 0; i < 10; i += 1) await faculty.get(url); // warm-up (view cache, connection pool, JIT)
    times.overview.length = 0;
    const client: number[] = [];
    for (let i = 0; i < requests; i += 1) {
      const t = performance.now();
      const page = await faculty.get(url);
      if (page.status !== 200) throw new Error(`/course answered ${page.status}`);
      client.push(performance.now() - t);
    }
    await new Promise((r) => setTimeout(r, 200)); // let the last log lines arrive
    // Where the time goes: the overview's two largest reads, timed on their own (mean of 20).
    const courseId = String((await server.connection.db!.collection('courses').findOne({ contextId }))!._id);
    const timed = async (fn: () => Promise<unknown>): Promise<number> => {
      const t = performance.now();
      for (let i = 0; i < 20; i += 1) await fn();
      return (performance.now() - t) / 20;
    };
    const breakdown = {
      outboxEntries: await server.connection.db!.collection('passback_outbox').countDocuments({}),
      badgesMs: await timed(() => server.grading.courseBadges(courseId)),
      progressMs: await timed(() => server.assessment.courseProgress(courseId)),
    };
    const server_ = times.overview;
    const result: FacultyOverviewResult = {
      coaches: coachCount,
      requests: server_.length,
      serverP50: percentile(server_, 50),
      serverP95: percentile(server_, 95),
      clientP50: percentile(client, 50),
      clientP95: percentile(client, 95),
      met: percentile(server_, 95) <= targetP95Ms,
    };
    log(
      `faculty overview (/course, ${coachCount} coaches, ${result.requests} sequential requests; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}):\n` +
        `  server time p50 ${result.serverP50.toFixed(1)} ms, p95 ${result.serverP95.toFixed(1)} ms (target p95 ≤ ${targetP95Ms} ms: ${result.met ? 'met' : 'MISSED'})\n` +
        `  client time on localhost p50 ${result.clientP50.toFixed(1)} ms, p95 ${result.clientP95.toFixed(1)} ms\n` +
        `  reads alone: passback badges ${breakdown.badgesMs.toFixed(1)} ms (${breakdown.outboxEntries} outbox entries), attempts and scores ${breakdown.progressMs.toFixed(1)} ms`,
    );
    return result;
  } finally {
    await server.stop();
    await db.stop();
  }
}
