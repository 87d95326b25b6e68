/**
 * npm run bench: launch latency and passback throughput on the embedded database with the built-in
 * platform, against targets. Prints a table and exits 1 when a target is missed. Not part of npm test.
 */
import { performance } from 'node:perf_hooks';
import { devPlatformDirectory } from '../../src/devplatform';
import type { EnqueueInput } from '../../src/grading/outbox';
import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { startTestServer } from '../support/test-server';

const targets = { launchP95Ms: 300, launchesPerSecond: 10, passbackScoresPerSecond: 50, rssMb: 600 };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<number> {
  const db = process.env.MONGODB_URI ? undefined : await startMongoJavaServer();
  process.env.TEST_MONGODB_BASE_URI = process.env.MONGODB_URI ?? db!.uri;
  const server = await startTestServer({ LOG_LEVEL: 'warn' }, { tuning: { worker: { idlePollMs: 20 } } });
  try {
    // Warm-up: keys, JWKS cache, templates.
    await launch(server, new Browser(), launchInput('canvas', 'coach'));
    const durations: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 100; i += 1) {
      const t = performance.now();
      const page = await launch(server, new Browser(), launchInput(i % 2 ? 'canvas' : 'moodle', i % 3 ? 'coach' : 'faculty'));
      if (page.status !== 200) throw new Error(`launch ${i} answered ${page.status}`);
      durations.push(performance.now() - t);
    }
    const launchSeconds = (performance.now() - started) / 1000;

    const contextId = devPlatformDirectory().courses.find((c) => c.shape === 'canvas')!.contextId;
    const course = (await server.connection.db!.collection('courses').findOne({ contextId }))!;
    const registration = (await server.devPlatform!.registration('canvas'))!;
    const learners = devPlatformDirectory().users.filter((u) => u.shape === 'canvas' && u.enrollments.some((e) => e.contextId === contextId && e.role === 'learner' && e.status === 'Active'));
    const competencies = ['C1.1', 'C1.2', 'C1.3', 'C1.4', 'C2.1', 'C2.2', 'C2.3', 'C2.4', 'C3.1', 'C3.2', 'C3.3', 'C4.1', 'C4.2'];
    let count = 0;
    const t0 = performance.now();
    for (let round = 0; count < 1000; round += 1) {
      for (const [li, learner] of learners.entries()) {
        for (const c of competencies) {
          const at = new Date(Date.UTC(2026, 10, 24, 12, round, 0, li * 13 + competencies.indexOf(c)));
          const input: EnqueueInput = {
            issuer: registration.issuer,
            clientId: registration.clientId,
            productFamily: 'canvas',
            courseId: course._id.toHexString(),
            contextId,
            courseTitle: String(course.title),
            userId: li.toString(16).padStart(24, '0'),
            userSub: learner.userId,
            userName: learner.name,
            target: { kind: 'competency', id: c, lineItemUrl: undefined },
            score: { scoreGiven: (li * 7 + round) % 100, activityProgress: 'InProgress', gradingProgress: 'FullyGraded', comment: 'bench', timestamp: at.toISOString() },
            version: at.getTime(),
            newSubmission: false,
          };
          await server.outbox.enqueue(input, new Date());
          count += 1;
        }
      }
      server.worker.nudge();
      while ((await server.outbox.pendingCount()) > 0) await new Promise((r) => setTimeout(r, 10));
    }
    const passbackSeconds = (performance.now() - t0) / 1000;
    const rssMb = process.memoryUsage().rss / 1024 / 1024;

    const rows: [string, number, number, boolean][] = [
      ['launch p50 (ms)', percentile(durations, 50), targets.launchP95Ms, true],
      ['launch p95 (ms)', percentile(durations, 95), targets.launchP95Ms, percentile(durations, 95) <= targets.launchP95Ms],
      ['launches per second', 100 / launchSeconds, targets.launchesPerSecond, 100 / launchSeconds >= targets.launchesPerSecond],
      ['passback scores per second', count / passbackSeconds, targets.passbackScoresPerSecond, count / passbackSeconds >= targets.passbackScoresPerSecond],
      ['RSS after run (MB, tool + platform + test client)', rssMb, targets.rssMb, rssMb <= targets.rssMb],
    ];
    process.stdout.write(`${'metric'.padEnd(52)} ${'value'.padStart(10)} ${'target'.padStart(10)}  ok\n`);
    for (const [name, value, target, ok] of rows) process.stdout.write(`${name.padEnd(52)} ${value.toFixed(1).padStart(10)} ${String(target).padStart(10)}  ${ok ? 'yes' : 'NO'}\n`);
    process.stdout.write(`(${count} scores enqueued, JWKS fetches during launches: ${server.devPlatform!.stats.jwksRequests()}, token requests: ${JSON.stringify(server.devPlatform!.stats.tokenRequests())})\n`);
    return rows.every((r) => r[3]) ? 0 : 1;
  } finally {
    await server.stop();
    await db?.stop();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
