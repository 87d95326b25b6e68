/**
 * npm run bench: launch latency and passback throughput on the embedded database with the built-in
 * platform, against targets. Prints a table and exits 1 when a target is missed. Not part of npm test.
 */
import { performance } from 'node:perf_hooks';
import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';
import { Browser } from '../support/browser';
import { launch, launchInput } from '../support/lti-launch';
import { competencyIds, scoreCourse } from '../support/outbox-fixtures';
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

    const { learners, entry } = await scoreCourse(server, 'canvas');
    let count = 0;
    const t0 = performance.now();
    for (let round = 0; count < 1000; round += 1) {
      for (let li = 0; li < learners.length; li += 1) {
        for (const c of competencyIds) {
          const at = new Date(Date.UTC(2026, 10, 24, 12, round, 0, li * 13 + competencyIds.indexOf(c)));
          const input = entry(li, c, (li * 7 + round) % 100, at, 'bench');
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
      [
        'passback scores per second',
        count / passbackSeconds,
        targets.passbackScoresPerSecond,
        count / passbackSeconds >= targets.passbackScoresPerSecond,
      ],
      ['RSS after run (MB, tool + platform + test client)', rssMb, targets.rssMb, rssMb <= targets.rssMb],
    ];
    process.stdout.write(`${'metric'.padEnd(52)} ${'value'.padStart(10)} ${'target'.padStart(10)}  ok\n`);
    for (const [name, value, target, ok] of rows)
      process.stdout.write(`${name.padEnd(52)} ${value.toFixed(1).padStart(10)} ${String(target).padStart(10)}  ${ok ? 'yes' : 'NO'}\n`);
    process.stdout.write(
      `(${count} scores enqueued, JWKS fetches during launches: ${server.devPlatform!.stats.jwksRequests()}, token requests: ${JSON.stringify(server.devPlatform!.stats.tokenRequests())})\n`,
    );
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
