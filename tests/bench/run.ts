/**
 * npm run bench (BENCH_QUICK=1 or npm run bench:smoke for a short version): CoachLTI against a minimal
 * ltijs 5.9.9 tool, in one run, in alternation, on the same database server and the same independent LTI
 * platform, each in its own process. Prints a table with ratios and the targets of issue 13 and writes
 * JSON to bench-results/. Not part of npm test. Exits 1 when a target is missed (BENCH_NO_FAIL=1: 0).
 *
 * Knobs: BENCH_QUICK=1, BENCH_SKIP_BUILD=1 (use dist/ as it is), BENCH_CPU_PROF=coach|ltijs|both
 * (node --cpu-prof of the tool processes into bench-results/profiles), BENCH_ONLY=launch|passback|faculty (skip the
 * other phases), BENCH_COUNT_COMMANDS=1 (a counting proxy between each tool and the database: commands per
 * launch and per delivered score, by name).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import { startMongoJavaServer } from '../../src/db/embedded/embedded-mongo';
import { devPlatformDirectory } from '../../src/devplatform';
import { createOutbox } from '../../src/grading/outbox';
import { fromRoot } from '../../src/shared/paths';
import { startCommandCounter, type CommandCounter } from './command-counter';
import { benchFacultyOverview } from './faculty-overview';
import { BenchBrowser, fullLaunch } from './http-client';

const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY;
const plan = quick
  ? { warmup: 20, launches: { 1: 30, 10: 120, 50: 150 } as Record<number, number>, pageRequests: 15, coaches: 100, rss: [300, 1000] }
  : { warmup: 60, launches: { 1: 80, 10: 400, 50: 600 } as Record<number, number>, pageRequests: 60, coaches: 1000, rss: [2000, 10000] };
const concurrencies = [1, 10, 50];
const jwksDelays = [0, 100];
const competencyIds = ['C1.1', 'C1.2', 'C1.3', 'C1.4', 'C2.1', 'C2.2', 'C2.3', 'C2.4', 'C3.1', 'C3.2', 'C3.3', 'C4.1', 'C4.2'];
const resultsDir = fromRoot('bench-results');

type ToolName = 'coach' | 'ltijs';
const tools: ToolName[] = ['coach', 'ltijs'];
const label: Record<ToolName, string> = { coach: 'CoachLTI', ltijs: 'ltijs baseline' };

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in MB, from /proc (Linux). */
function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Child {
  name: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The V8 heap budget `npm start` gives the tool (package.json config.heapMb, or COACHLTI_HEAP_MB): the bench runs it the same way. */
function startHeapMb(): string {
  const config = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { config?: { heapMb?: string } }).config;
  return process.env.COACHLTI_HEAP_MB ?? config?.heapMb ?? '256';
}

function spawnChild(name: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // BENCH_OUTPUT_DIR: each child's whole output also goes to <dir>/<name>.log (e.g. with --trace-gc).
  const copy = process.env.BENCH_OUTPUT_DIR ? createWriteStream(path.join(process.env.BENCH_OUTPUT_DIR, `${name}.log`)) : undefined;
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-20_000);
    copy?.write(d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    name,
    process: child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function waitFor(child: Child, url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const browser = new BenchBrowser();
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited: ${child.output().slice(-3000)}`);
    try {
      if ((await browser.get(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${child.name} not ready after ${timeoutMs} ms: ${child.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface CellResult {
  tool: ToolName;
  concurrency: number;
  jwksDelayMs: number;
  launches: number;
  failures: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  jwksFetches: number;
  firstError?: string;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} cores`);
  // Faculty overview (issue 11), in its own module with its own database; BENCH_ONLY=faculty runs only it.
  const faculty = !only || only === 'faculty' ? await benchFacultyOverview(log) : undefined;
  if (only === 'faculty') return faculty!.met || process.env.BENCH_NO_FAIL === '1' ? 0 : 1;
  if (process.env.BENCH_SKIP_BUILD !== '1' || !existsSync(fromRoot('dist', 'src', 'main.js'))) {
    log('building (tsc)…');
    execFileSync(process.execPath, [fromRoot('node_modules', 'typescript', 'bin', 'tsc'), '-p', fromRoot('tsconfig.build.json')], {
      stdio: 'inherit',
    });
  }
  mkdirSync(resultsDir, { recursive: true });
  const profileDir = path.join(resultsDir, 'profiles');
  const prof = process.env.BENCH_CPU_PROF ?? '';
  const profArgs = (tool: ToolName | 'platform'): string[] =>
    prof === tool || (prof === 'both' && tool !== 'platform')
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=500']
      : [];

  const db = await startMongoJavaServer();
  const children: Child[] = [];
  const counters: Partial<Record<ToolName, CommandCounter>> = {};
  const control = new BenchBrowser();
  try {
    const [platformPort, coachPort, ltijsPort] = [await freePort(), await freePort(), await freePort()];
    const platformUrl = `http://127.0.0.1:${platformPort}`;
    const toolUrls: Record<ToolName, string> = { coach: `http://127.0.0.1:${coachPort}`, ltijs: `http://127.0.0.1:${ltijsPort}` };
    const counting = process.env.BENCH_COUNT_COMMANDS === '1';
    if (counting) {
      counters.coach = await startCommandCounter(db.uri, 'bench_coachlti');
      counters.ltijs = await startCommandCounter(db.uri, 'bench_ltijs');
    }
    const dbUri = (name: string): string => `${db.uri}/${name}`;
    const toolDbUri = (tool: ToolName): string => counters[tool]?.uri ?? dbUri(tool === 'coach' ? 'bench_coachlti' : 'bench_ltijs');

    const platform = spawnChild('platform', [...profArgs('platform'), '--import', 'tsx', fromRoot('tests', 'bench', 'platform-host.ts')], {
      NODE_ENV: 'development',
      PORT: String(platformPort),
      MONGODB_BASE_URI: db.uri,
      TOOLS: `coach=${toolUrls.coach},ltijs=${toolUrls.ltijs}`,
      LOG_LEVEL: 'warn',
    });
    children.push(platform);
    const coachStart = performance.now();
    const coach = spawnChild(
      'CoachLTI',
      [
        ...profArgs('coach'),
        `--max-old-space-size=${startHeapMb()}`,
        ...(process.env.BENCH_COACH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        fromRoot('dist', 'src', 'main.js'),
      ],
      {
        NODE_ENV: 'development',
        DEV_PLATFORM: 'false',
        LTI_DYNREG_AUTO_ACTIVATE: 'true',
        LOG_LEVEL: 'warn',
        MONGODB_URI: toolDbUri('coach'),
        PORT: String(coachPort),
        HOST: '127.0.0.1',
        TOOL_URL: toolUrls.coach,
        DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'coachlti-bench-')),
        LTI_KEY: 'bench-lti-key-bench-lti-key-bench-lti-key',
        SESSION_SECRET: 'bench-session-secret-bench-session-secret',
        // Experiments, CoachLTI only: BENCH_COACH_ENV="NAME=value,NAME=value", BENCH_COACH_NODE_ARGS="--trace-gc …".
        ...Object.fromEntries(
          (process.env.BENCH_COACH_ENV ?? '')
            .split(',')
            .filter((pair) => pair.includes('='))
            .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
        ),
      },
    );
    children.push(coach);
    const ltijs = spawnChild('ltijs', [...profArgs('ltijs'), fromRoot('tests', 'bench', 'baseline', 'tool.js')], {
      NODE_ENV: 'development',
      PORT: String(ltijsPort),
      TOOL_URL: toolUrls.ltijs,
      MONGODB_URI: toolDbUri('ltijs'),
      LTI_KEY: 'bench-lti-key-bench-lti-key-bench-lti-key',
    });
    children.push(ltijs);
    const pids: Record<ToolName, number | undefined> = { coach: coach.process.pid, ltijs: ltijs.process.pid };
    await waitFor(platform, `${platformUrl}/control/directory`);
    await waitFor(coach, `${toolUrls.coach}/readyz`);
    const coachReadyMs = performance.now() - coachStart;
    await waitFor(ltijs, `${toolUrls.ltijs}/lti/keys`);
    log(`processes up (CoachLTI ready in ${(coachReadyMs / 1000).toFixed(1)} s, first start on an empty database)`);

    const registrationMs: Record<string, number> = {};
    const registrations: Record<string, { canvas: { issuer: string; clientId: string } }> = {};
    for (const tool of tools) {
      const t = performance.now();
      const answer = await control.request('POST', `${platformUrl}/control/register`, undefined, { tool });
      if (answer.status !== 200) throw new Error(`registration of ${tool} failed: ${answer.text.slice(0, 500)}`);
      registrations[tool] = JSON.parse(answer.text) as { canvas: { issuer: string; clientId: string } };
      registrationMs[tool] = performance.now() - t;
    }
    log(`registered both platform shapes: CoachLTI ${registrationMs.coach!.toFixed(0)} ms, ltijs ${registrationMs.ltijs!.toFixed(0)} ms`);

    const course = devPlatformDirectory().courses.find((c) => c.shape === 'canvas')!;
    const contextId = course.contextId;
    const learnerCount = Math.max(plan.coaches, 1000);
    for (const tool of tools) {
      const answer = await control.request('POST', `${platformUrl}/control/seed-learners`, undefined, {
        tool,
        shape: 'canvas',
        contextId,
        n: learnerCount,
      });
      if (answer.status !== 200) throw new Error(`seeding failed: ${answer.text}`);
    }

    const launched: Record<ToolName, number> = { coach: 0, ltijs: 0 };
    const launchUrl = (tool: ToolName, i: number): string =>
      `${platformUrl}/${tool}/launch?shape=canvas&context=${encodeURIComponent(contextId)}&user=bench-canvas-${i % learnerCount}`;
    const setDelay = async (ms: number): Promise<void> => {
      await control.request('POST', `${platformUrl}/control/jwks-delay`, undefined, { ms });
    };
    const stats = async (tool: ToolName): Promise<{ jwks: number; tokens: Record<string, number>; lineItems: number; scores: number }> =>
      JSON.parse((await control.get(`${platformUrl}/control/stats?tool=${tool}&contextId=${encodeURIComponent(contextId)}`)).text) as {
        jwks: number;
        tokens: Record<string, number>;
        lineItems: number;
        scores: number;
      };

    async function runLaunches(
      tool: ToolName,
      n: number,
      concurrency: number,
    ): Promise<{ durations: number[]; failures: number; seconds: number; firstError?: string }> {
      const durations: number[] = [];
      let failures = 0;
      let firstError: string | undefined;
      let next = 0;
      const started = performance.now();
      const worker = async (): Promise<void> => {
        while (next < n) {
          next += 1;
          const i = launched[tool]++;
          const t = performance.now();
          try {
            await fullLaunch(new BenchBrowser(), launchUrl(tool, i));
            durations.push(performance.now() - t);
          } catch (error) {
            failures += 1;
            firstError ??= (error as Error).message.slice(0, 300);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return { durations, failures, seconds: (performance.now() - started) / 1000, ...(firstError ? { firstError } : {}) };
    }

    log('warm-up');
    for (const tool of tools) await runLaunches(tool, plan.warmup, 5);
    const commandsPerLaunch: Partial<Record<ToolName, { perLaunch: number; byName: Record<string, number> }>> = {};
    if (counting) {
      for (const tool of tools) {
        const n = 50;
        // Background work (passback worker polls, sweepers) is measured idle first and subtracted.
        counters[tool]!.reset();
        await new Promise((r) => setTimeout(r, 3000));
        const idle = counters[tool]!.counts();
        counters[tool]!.reset();
        const t = performance.now();
        await runLaunches(tool, n, 1);
        const seconds = (performance.now() - t) / 1000;
        const byName: Record<string, number> = {};
        let perLaunch = 0;
        for (const [name, count] of Object.entries(counters[tool]!.counts())) {
          const v = Math.max(0, (count - ((idle[name] ?? 0) * seconds) / 3) / n);
          if (v >= 0.05) byName[name] = Math.round(v * 100) / 100;
          perLaunch += v;
        }
        commandsPerLaunch[tool] = { perLaunch, byName };
        log(`${label[tool]}: ${perLaunch.toFixed(2)} database commands per launch (idle background subtracted) ${JSON.stringify(byName)}`);
      }
    }
    if (only === 'passback' || only === 'pages') {
      concurrencies.length = 0;
      jwksDelays.length = 0;
    }

    // Where each launch's CPU goes on this machine: the tool, the platform, the database, the driver (this process).
    const cpuParts = ['tool', 'platform', 'database', 'driver'] as const;
    type CpuPart = (typeof cpuParts)[number];
    const systemCpu = (tool: ToolName): Record<CpuPart, number> => {
      const own = process.cpuUsage();
      return {
        tool: cpuSeconds(pids[tool]),
        platform: cpuSeconds(platform.process.pid),
        database: cpuSeconds(db.pid),
        driver: (own.user + own.system) / 1e6,
      };
    };
    const cpuSplit: Record<ToolName, Record<CpuPart, number>> = {
      coach: { tool: 0, platform: 0, database: 0, driver: 0 },
      ltijs: { tool: 0, platform: 0, database: 0, driver: 0 },
    };
    const cpuSplitLaunches: Record<ToolName, number> = { coach: 0, ltijs: 0 };
    const matrixStart = { cpu: { coach: cpuSeconds(pids.coach), ltijs: cpuSeconds(pids.ltijs) }, launched: { ...launched } };
    // Launch matrix: each cell in two halves, in alternating order, so drift in machine load hits both.
    const cells: CellResult[] = [];
    for (const delay of jwksDelays) {
      await setDelay(delay);
      for (const concurrency of concurrencies) {
        const n = plan.launches[concurrency]!;
        const acc: Record<ToolName, { durations: number[]; failures: number; seconds: number; jwks: number; firstError?: string }> = {
          coach: { durations: [], failures: 0, seconds: 0, jwks: 0 },
          ltijs: { durations: [], failures: 0, seconds: 0, jwks: 0 },
        };
        for (const order of [tools, [...tools].reverse()]) {
          for (const tool of order) {
            const before = (await stats(tool)).jwks;
            const cpuBefore = systemCpu(tool);
            const r = await runLaunches(tool, Math.ceil(n / 2), concurrency);
            const cpuAfter = systemCpu(tool);
            for (const part of cpuParts) cpuSplit[tool][part] += cpuAfter[part] - cpuBefore[part];
            cpuSplitLaunches[tool] += Math.ceil(n / 2);
            const a = acc[tool];
            a.durations.push(...r.durations);
            a.failures += r.failures;
            a.seconds += r.seconds;
            a.jwks += (await stats(tool)).jwks - before;
            a.firstError ??= r.firstError;
          }
        }
        for (const tool of tools) {
          const a = acc[tool];
          const cell: CellResult = {
            tool,
            concurrency,
            jwksDelayMs: delay,
            launches: a.durations.length + a.failures,
            failures: a.failures,
            seconds: a.seconds,
            perSecond: a.durations.length / a.seconds,
            p50: percentile(a.durations, 50),
            p95: percentile(a.durations, 95),
            jwksFetches: a.jwks,
            ...(a.firstError ? { firstError: a.firstError } : {}),
          };
          cells.push(cell);
          log(
            `key set +${delay} ms, ${concurrency} concurrent, ${label[tool]}: ${cell.perSecond.toFixed(1)}/s p50 ${cell.p50.toFixed(1)} ms p95 ${cell.p95.toFixed(1)} ms, ${cell.failures} failed, ${cell.jwksFetches} key-set fetches${cell.firstError ? ` (${cell.firstError})` : ''}`,
          );
        }
      }
    }
    await setDelay(0);
    // Tool CPU per launch over the matrix: less sensitive to the machine's load than launches/s.
    const cpuMsPerLaunch = Object.fromEntries(
      tools.map((tool) => [
        tool,
        ((cpuSeconds(pids[tool]) - matrixStart.cpu[tool]) * 1000) / Math.max(1, launched[tool] - matrixStart.launched[tool]),
      ]),
    ) as Record<ToolName, number>;
    log(`CPU per launch: CoachLTI ${cpuMsPerLaunch.coach.toFixed(1)} ms, ltijs ${cpuMsPerLaunch.ltijs.toFixed(1)} ms`);
    const cpuSplitMs = Object.fromEntries(
      tools.map((tool) => [
        tool,
        Object.fromEntries(cpuParts.map((part) => [part, (cpuSplit[tool][part] * 1000) / Math.max(1, cpuSplitLaunches[tool])])),
      ]),
    ) as Record<ToolName, Record<CpuPart, number>>;
    for (const tool of tools) {
      const split = cpuSplitMs[tool];
      const total = cpuParts.reduce((sum, part) => sum + split[part], 0);
      log(
        `CPU ms per launch, whole machine, ${label[tool]}: ${cpuParts.map((part) => `${part} ${split[part].toFixed(1)}`).join(', ')}; total ${total.toFixed(1)}`,
      );
    }

    // Learner pages: 20 signed-in coaches reading /training at once.
    log('learner pages');
    const pageDurations: number[] = [];
    let pageFailures = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        const browser = new BenchBrowser();
        await fullLaunch(browser, launchUrl('coach', w));
        for (let i = 0; i < plan.pageRequests; i += 1) {
          const t = performance.now();
          const page = await browser.get(`${toolUrls.coach}/training`);
          if (page.status === 200) pageDurations.push(performance.now() - t);
          else pageFailures += 1;
        }
      }),
    );
    const pages = {
      requests: pageDurations.length,
      failures: pageFailures,
      p50: percentile(pageDurations, 50),
      p95: percentile(pageDurations, 95),
    };
    log(`learner pages at 20 concurrent: p50 ${pages.p50.toFixed(1)} ms, p95 ${pages.p95.toFixed(1)} ms, ${pageFailures} failed`);

    const passback: Record<string, unknown> = {};
    const rss: Record<ToolName, Record<number, number>> = { coach: {}, ltijs: {} };
    const cpu: Record<ToolName, number> = { coach: NaN, ltijs: NaN };
    if (only !== 'launch' && only !== 'pages') {
      // Passback: every coach × 13 competencies delivered to the platform.
      const users = Array.from({ length: plan.coaches }, (_, i) => `bench-canvas-${i}`);
      // BENCH_PASSBACK_SKIP_LTIJS=1: CoachLTI's passback alone (when iterating on it on a busy machine).
      if (process.env.BENCH_PASSBACK_SKIP_LTIJS !== '1') {
        log(`passback: ${users.length} coaches × 13 competencies, ltijs baseline`);
        await control.request('POST', `${platformUrl}/control/reset-stats`, undefined, { tool: 'ltijs' });
        const before = await stats('ltijs');
        counters.ltijs?.reset();
        const t = performance.now();
        const answer = await control.request('POST', `${toolUrls.ltijs}/bench/passback`, undefined, {
          contextId,
          users,
          competencies: competencyIds,
        });
        const seconds = (performance.now() - t) / 1000;
        const after = await stats('ltijs');
        passback.ltijs = {
          answer: JSON.parse(answer.text) as unknown,
          seconds,
          delivered: after.scores - before.scores,
          perSecond: (after.scores - before.scores) / seconds,
          tokenRequests: after.tokens,
          lineItemsCreated: after.lineItems - before.lineItems,
          ...(counters.ltijs
            ? { commandsPerScore: counters.ltijs.total() / Math.max(1, after.scores - before.scores), commands: counters.ltijs.counts() }
            : {}),
        };
        log(`ltijs: ${JSON.stringify(passback.ltijs)}`);
      }
      log('passback: CoachLTI (outbox entries written by the bench, delivered by the tool worker)');
      {
        const connection = await mongoose.createConnection(dbUri('bench_coachlti')).asPromise();
        try {
          const courseDoc = await connection.db!.collection('courses').findOne({ contextId });
          if (!courseDoc) throw new Error('CoachLTI has no course record: no launch reached it?');
          const outbox = createOutbox(connection);
          await control.request('POST', `${platformUrl}/control/reset-stats`, undefined, { tool: 'coach' });
          const before = await stats('coach');
          const issuer = registrations.coach!.canvas.issuer;
          const clientId = registrations.coach!.canvas.clientId;
          const at = new Date();
          counters.coach?.reset();
          const cpuAtStart = systemCpu('coach');
          const t = performance.now();
          let next = 0;
          // As a resync does: one recomputation per coach queues its 13 columns at once (enqueueMany).
          await Promise.all(
            Array.from({ length: 8 }, async () => {
              while (next < users.length) {
                const li = next++;
                const userSub = users[li]!;
                await outbox.enqueueMany(
                  competencyIds.map((competencyId) => ({
                    issuer,
                    clientId,
                    productFamily: 'canvas',
                    courseId: courseDoc._id.toHexString(),
                    contextId,
                    courseTitle: String(courseDoc.title),
                    userId: li.toString(16).padStart(24, '0'),
                    userSub,
                    userName: `Bench Coach ${li}`,
                    target: { kind: 'competency', id: competencyId, lineItemUrl: undefined },
                    score: {
                      scoreGiven: (li * 7) % 100,
                      activityProgress: 'InProgress',
                      gradingProgress: 'FullyGraded',
                      comment: 'bench',
                      timestamp: at.toISOString(),
                    },
                    version: at.getTime(),
                    newSubmission: false,
                  })),
                  new Date(),
                );
              }
            }),
          );
          const enqueueSeconds = (performance.now() - t) / 1000;
          const deadline = Date.now() + (quick ? 120_000 : 300_000);
          // Polled slowly: counting pending entries scans the outbox on mongo-java-server, CPU the tool needs.
          while ((await outbox.pendingCount()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
          const seconds = (performance.now() - t) / 1000;
          const cpuAtEnd = systemCpu('coach');
          const passbackCpuSeconds = Object.fromEntries(
            cpuParts.map((part) => [part, Math.round((cpuAtEnd[part] - cpuAtStart[part]) * 10) / 10]),
          ) as Record<CpuPart, number>;
          const after = await stats('coach');
          const statuses = await connection
            .db!.collection('passback_outbox')
            .aggregate([{ $group: { _id: '$status', n: { $sum: 1 } } }])
            .toArray();
          const stuck = await connection.db!.collection('passback_outbox').findOne({ status: { $ne: 'sent' } });
          passback.coach = {
            enqueueSeconds,
            seconds,
            delivered: after.scores - before.scores,
            perSecond: (after.scores - before.scores) / seconds,
            tokenRequests: after.tokens,
            lineItemsCreated: after.lineItems - before.lineItems,
            cpuSeconds: passbackCpuSeconds,
            ...(counters.coach
              ? { commandsPerScore: counters.coach.total() / Math.max(1, after.scores - before.scores), commands: counters.coach.counts() }
              : {}),
            statuses: Object.fromEntries(statuses.map((s) => [String(s._id), s.n as number])),
            ...(stuck
              ? {
                  notSentSample: {
                    status: stuck.status,
                    reason: stuck.reason,
                    lastAttempt: (stuck.attempts as unknown[] | undefined)?.at(-1),
                  },
                }
              : {}),
          };
          log(`CoachLTI: ${JSON.stringify(passback.coach)}`);
        } finally {
          await connection.close();
        }
      }

      // RSS: keep launching (10 concurrent, alternating chunks) until each tool has done 2,000 and 10,000.
      if (only !== 'passback') log(`RSS: launching up to ${plan.rss.join(' and ')} launches per tool`);
      for (const mark of only === 'passback' ? [] : plan.rss) {
        for (;;) {
          let progressed = false;
          for (const tool of tools) {
            const left = mark - launched[tool];
            if (left <= 0) continue;
            progressed = true;
            await runLaunches(tool, Math.min(500, left), 10);
          }
          if (!progressed) break;
        }
        for (const tool of tools) rss[tool][mark] = rssMb(pids[tool]);
        log(`after ${mark} launches: RSS CoachLTI ${rss.coach[mark]!.toFixed(0)} MB, ltijs ${rss.ltijs[mark]!.toFixed(0)} MB`);
      }
    }
    for (const tool of tools) cpu[tool] = cpuSeconds(pids[tool]);

    // The table.
    const loadAfter = os.loadavg();
    const cell = (tool: ToolName, c: number, d: number): CellResult =>
      cells.find((x) => x.tool === tool && x.concurrency === c && x.jwksDelayMs === d)!;
    const rows: { metric: string; coach: string; ltijs: string; ratio: string; target: string; met: boolean | undefined }[] = [];
    const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');
    for (const d of jwksDelays) {
      for (const c of concurrencies) {
        const a = cell('coach', c, d);
        const b = cell('ltijs', c, d);
        const rateTarget = d === 0 && c >= 10;
        rows.push({
          metric: `launches/s, ${c} concurrent, key set +${d} ms`,
          coach: fmt(a.perSecond),
          ltijs: fmt(b.perSecond),
          ratio: `${fmt(a.perSecond / b.perSecond, 2)}×`,
          target: rateTarget ? '≥ 1.5×' : '',
          met: rateTarget ? a.perSecond >= 1.5 * b.perSecond && a.failures === 0 : undefined,
        });
        rows.push({
          metric: `  p50 ms`,
          coach: fmt(a.p50),
          ltijs: fmt(b.p50),
          ratio: `${fmt(a.p50 / b.p50, 2)}×`,
          target: d === 100 ? '≤ 0.5×' : '',
          met: d === 100 ? a.p50 <= 0.5 * b.p50 : undefined,
        });
        rows.push({
          metric: `  p95 ms`,
          coach: fmt(a.p95),
          ltijs: fmt(b.p95),
          ratio: `${fmt(a.p95 / b.p95, 2)}×`,
          target: rateTarget ? '≤ 1×' : '',
          met: rateTarget ? a.p95 <= b.p95 : undefined,
        });
        rows.push({
          metric: '  key-set fetches',
          coach: String(a.jwksFetches),
          ltijs: String(b.jwksFetches),
          ratio: '',
          target: '',
          met: undefined,
        });
      }
    }
    rows.push({
      metric: 'learner page p95 ms (/training, 20 concurrent)',
      coach: fmt(pages.p95),
      ltijs: '',
      ratio: '',
      target: '≤ 15',
      met: pages.p95 <= 15 && pages.failures === 0,
    });
    const pc = passback.coach as
      | { seconds: number; delivered: number; perSecond: number; tokenRequests: Record<string, number>; lineItemsCreated: number }
      | undefined;
    const pl = passback.ltijs as typeof pc;
    if (pc && pl) {
      const total = plan.coaches * 13;
      rows.push({
        metric: `passback ${total} scores: seconds to deliver`,
        coach: fmt(pc.seconds),
        ltijs: fmt(pl.seconds),
        ratio: `${fmt(pc.seconds / pl.seconds, 2)}×`,
        target: `≤ ${fmt((20 * total) / 13_000, 1)}`,
        met: pc.seconds <= (20 * total) / 13_000 && pc.delivered >= total,
      });
      rows.push({
        metric: '  delivered to the platform',
        coach: String(pc.delivered),
        ltijs: String(pl.delivered),
        ratio: '',
        target: String(total),
        met: pc.delivered >= total,
      });
      rows.push({
        metric: '  scores/s',
        coach: fmt(pc.perSecond),
        ltijs: fmt(pl.perSecond),
        ratio: `${fmt(pc.perSecond / pl.perSecond, 2)}×`,
        target: '',
        met: undefined,
      });
      const maxTokens = (t: Record<string, number>): number => Math.max(0, ...Object.values(t));
      rows.push({
        metric: '  token requests (most for one scope set)',
        coach: `${Object.values(pc.tokenRequests).reduce((s, n) => s + n, 0)} (${maxTokens(pc.tokenRequests)})`,
        ltijs: `${Object.values(pl.tokenRequests).reduce((s, n) => s + n, 0)} (${maxTokens(pl.tokenRequests)})`,
        ratio: '',
        target: '≤ 1 per scope set',
        met: maxTokens(pc.tokenRequests) <= 1,
      });
      rows.push({
        metric: '  line-item creations in the course',
        coach: String(pc.lineItemsCreated),
        ltijs: String(pl.lineItemsCreated),
        ratio: '',
        target: '13',
        met: pc.lineItemsCreated === 13,
      });
    }
    if (only !== 'launch' && only !== 'passback') {
      const [m1, m2] = plan.rss as [number, number];
      const growth = (rss.coach[m2]! - rss.coach[m1]!) / rss.coach[m1]!;
      rows.push({
        metric: `RSS MB after ${m1} launches`,
        coach: fmt(rss.coach[m1]!, 0),
        ltijs: fmt(rss.ltijs[m1]!, 0),
        ratio: `${fmt(rss.coach[m1]! / rss.ltijs[m1]!, 2)}×`,
        target: '≤ 250',
        met: rss.coach[m1]! <= 250,
      });
      rows.push({
        metric: `RSS MB after ${m2} launches`,
        coach: fmt(rss.coach[m2]!, 0),
        ltijs: fmt(rss.ltijs[m2]!, 0),
        ratio: `${fmt(rss.coach[m2]! / rss.ltijs[m2]!, 2)}×`,
        target: '≤ 250, ±10 %',
        met: rss.coach[m2]! <= 250 && Math.abs(growth) <= 0.1,
      });
    }
    rows.push({
      metric: 'tool CPU ms per launch (launch matrix)',
      coach: fmt(cpuMsPerLaunch.coach),
      ltijs: fmt(cpuMsPerLaunch.ltijs),
      ratio: `${fmt(cpuMsPerLaunch.coach / cpuMsPerLaunch.ltijs, 2)}×`,
      target: '',
      met: undefined,
    });
    for (const part of ['platform', 'database', 'driver'] as const) {
      rows.push({
        metric: `  ${part} CPU ms per launch (same launches)`,
        coach: fmt(cpuSplitMs.coach[part]),
        ltijs: fmt(cpuSplitMs.ltijs[part]),
        ratio: `${fmt(cpuSplitMs.coach[part] / cpuSplitMs.ltijs[part], 2)}×`,
        target: '',
        met: undefined,
      });
    }
    if (commandsPerLaunch.coach && commandsPerLaunch.ltijs) {
      const a = commandsPerLaunch.coach.perLaunch;
      const b = commandsPerLaunch.ltijs.perLaunch;
      rows.push({
        metric: 'database commands per launch',
        coach: fmt(a),
        ltijs: fmt(b),
        ratio: `${fmt(a / b, 2)}×`,
        target: '',
        met: undefined,
      });
    }
    rows.push({
      metric: 'CPU seconds of the tool process, whole run',
      coach: fmt(cpu.coach),
      ltijs: fmt(cpu.ltijs),
      ratio: `${fmt(cpu.coach / cpu.ltijs, 2)}×`,
      target: '',
      met: undefined,
    });
    rows.push({
      metric: 'launches per tool, whole run',
      coach: String(launched.coach),
      ltijs: String(launched.ltijs),
      ratio: '',
      target: '',
      met: undefined,
    });

    const w = [48, 12, 14, 8, 18];
    const out: string[] = [];
    out.push(
      `${'metric'.padEnd(w[0]!)} ${'CoachLTI'.padStart(w[1]!)} ${'ltijs'.padStart(w[2]!)} ${'ratio'.padStart(w[3]!)} ${'target'.padStart(w[4]!)}  met`,
    );
    for (const r of rows)
      out.push(
        `${r.metric.padEnd(w[0]!)} ${r.coach.padStart(w[1]!)} ${r.ltijs.padStart(w[2]!)} ${r.ratio.padStart(w[3]!)} ${r.target.padStart(w[4]!)}  ${r.met === undefined ? '' : r.met ? 'yes' : 'MISSED'}`,
      );
    out.push(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores); ${quick ? 'quick' : 'full'} run in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s; CoachLTI ready in ${(coachReadyMs / 1000).toFixed(1)} s`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
    const file = path.join(resultsDir, `bench-${quick ? 'quick-' : ''}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          startedAt,
          quick,
          plan,
          commandsPerLaunch,
          cpuMsPerLaunch,
          cpuSplitMs,
          loadBefore,
          loadAfter,
          cores: os.cpus().length,
          coachReadyMs,
          registrationMs,
          cells,
          pages,
          passback,
          rss,
          cpuSeconds: cpu,
          launched,
          rows,
        },
        null,
        2,
      ),
    );
    log(`results written to ${path.relative(process.cwd(), file)}`);
    if (process.env.BENCH_NO_FAIL === '1') return 0;
    return rows.every((r) => r.met !== false) ? 0 : 1;
  } finally {
    for (const child of children.reverse()) await child.stop();
    for (const counter of Object.values(counters)) await counter.close();
    await db.stop();
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
