import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fromRoot } from '../../shared/paths';

/**
 * The embedded default database: mongo-java-server (an in-process MongoDB wire-protocol server from
 * Maven Central) started by our tiny launcher, EmbeddedMongo.java. With a data file it persists to an
 * H2 MVStore file; without one it keeps everything in memory (tests). It has no transactions and never
 * expires TTL documents, which is why production runs real MongoDB.
 */
export interface EmbeddedDatabase {
  readonly uri: string;
  readonly description: string;
  stop(): Promise<void>;
}

/** A started mongo-java-server process: its port and pid, and a promise that settles when it exits. */
export interface EmbeddedProcess extends EmbeddedDatabase {
  readonly port: number;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class EmbeddedDatabaseUnavailableError extends Error {
  constructor(
    message: string,
    /** Set when the cause is a missing program (the only case where "install it" is the right advice). */
    readonly missing?: 'java' | 'maven',
  ) {
    super(message);
    this.name = 'EmbeddedDatabaseUnavailableError';
  }
}

const launcherDir = fromRoot('src', 'db', 'embedded');
export const defaultJarsDir = fromRoot('.cache', 'embedded-mongo', 'lib');

function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.status === 0;
}

function hasJars(jarsDir: string): boolean {
  return existsSync(jarsDir) && readdirSync(jarsDir).some((f) => f.startsWith('mongo-java-server-core-'));
}

/** Downloads the jars from Maven Central once (needs Maven); later starts are offline. */
export function ensureJars(jarsDir: string = defaultJarsDir): void {
  if (hasJars(jarsDir)) return;
  if (!commandWorks('mvn', ['-v'])) {
    throw new EmbeddedDatabaseUnavailableError('Maven (mvn) is not installed, so the embedded database jars cannot be fetched', 'maven');
  }
  mkdirSync(jarsDir, { recursive: true });
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-f', path.join(launcherDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${jarsDir}`],
    { encoding: 'utf8' },
  );
  if (result.status !== 0 || !hasJars(jarsDir)) {
    throw new EmbeddedDatabaseUnavailableError(`Maven could not fetch mongo-java-server: ${(result.stdout + result.stderr).slice(-500)}`);
  }
}

/** The data file is open in another process (H2 allows one); not a missing-Java problem. */
export class EmbeddedDatabaseLockedError extends Error {
  constructor(readonly dataFile: string) {
    super(`the embedded database file ${dataFile} is locked by another process`);
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

export interface StartOptions {
  /** H2 file for persistent data; omit for an in-memory database. */
  dataFile?: string;
  jarsDir?: string;
  port?: number;
  startTimeoutMs?: number;
}

/**
 * The launcher compiled once, next to the jars, in a folder named by its source's hash: running
 * EmbeddedMongo.java as a source file made every start compile it (≈ 3 of the 5 s a start took here).
 * Compiled into a temporary folder and renamed, so processes starting at once never see half a build.
 * null when javac is missing (a JRE): the source launcher is used as before.
 */
function compiledLauncher(jarsDir: string): string | null {
  const source = path.join(launcherDir, 'EmbeddedMongo.java');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const target = path.join(path.dirname(jarsDir), `launcher-${hash}`);
  if (existsSync(path.join(target, 'EmbeddedMongo.class'))) return target;
  const temporary = mkdtempSync(path.join(path.dirname(jarsDir), 'launcher-build-'));
  try {
    const built = spawnSync('javac', ['-d', temporary, '-cp', path.join(jarsDir, '*'), source], { stdio: 'ignore' });
    if (built.status !== 0) return null;
    try {
      renameSync(temporary, target);
    } catch {
      // Another process finished first: its build is the same source.
    }
    return existsSync(path.join(target, 'EmbeddedMongo.class')) ? target : null;
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

export async function startMongoJavaServer(options: StartOptions = {}): Promise<EmbeddedProcess> {
  if (!commandWorks('java', ['-version'])) {
    throw new EmbeddedDatabaseUnavailableError('Java is not installed', 'java');
  }
  const jarsDir = options.jarsDir ?? defaultJarsDir;
  ensureJars(jarsDir);
  const compiled = compiledLauncher(jarsDir);
  const args = [
    '-Xss4m',
    '-cp',
    compiled ? `${path.join(jarsDir, '*')}${path.delimiter}${compiled}` : path.join(jarsDir, '*'),
    compiled ? 'EmbeddedMongo' : path.join(launcherDir, 'EmbeddedMongo.java'),
    '--port',
    String(options.port ?? 0),
  ];
  if (options.dataFile) args.push('--file', options.dataFile);
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const port = await waitForPort(child, options.startTimeoutMs ?? 60_000, options.dataFile);
  return {
    uri: `mongodb://127.0.0.1:${port}`,
    description: options.dataFile ? `embedded mongo-java-server, data in ${options.dataFile}` : 'embedded mongo-java-server, in memory',
    port,
    pid: child.pid ?? 0,
    exited,
    stop: () => stopChild(child),
  };
}

function waitForPort(child: ChildProcess, timeoutMs: number, dataFile: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmbeddedDatabaseUnavailableError(`mongo-java-server did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line.trim());
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 3 && dataFile && stderr.includes('FILE_LOCKED')) {
        reject(new EmbeddedDatabaseLockedError(dataFile));
        return;
      }
      reject(new EmbeddedDatabaseUnavailableError(`mongo-java-server exited (code ${code}) before it was ready: ${stderr.trim()}`));
    });
  });
}

/** Closing stdin asks the launcher to shut down cleanly (the H2 file is committed); SIGKILL after 10 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}
