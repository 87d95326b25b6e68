import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fromRoot } from '../shared/paths';

export interface BuildInfo {
  version: string;
  /** Short commit id, when known (COACHLTI_COMMIT at build/deploy time, or the checkout's .git). */
  commit: string | undefined;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The commit of a checkout without running git: HEAD, a loose ref or packed-refs (worktrees point elsewhere). */
function commitOfCheckout(root: string): string | undefined {
  let gitDir = path.join(root, '.git');
  if (!existsSync(gitDir)) return undefined;
  if (statSync(gitDir).isFile()) {
    const pointer = /^gitdir:\s*(.+)$/m.exec(read(gitDir) ?? '')?.[1];
    if (!pointer) return undefined;
    gitDir = path.resolve(root, pointer);
  }
  const head = read(path.join(gitDir, 'HEAD'));
  if (!head) return undefined;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  // Linked worktrees keep HEAD of their own but share refs with the main repository (commondir).
  const common = read(path.join(gitDir, 'commondir'));
  const dirs = [gitDir, ...(common ? [path.resolve(gitDir, common)] : [])];
  for (const dir of dirs) {
    const loose = read(path.join(dir, ref));
    if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
    const packed = read(path.join(dir, 'packed-refs'));
    const line = packed?.split('\n').find((l) => l.endsWith(` ${ref}`));
    if (line) return line.slice(0, 40);
  }
  return undefined;
}

let cached: BuildInfo | undefined;

/** Read once: the version from package.json and the commit the running code was built from. */
export function buildInfo(env?: Record<string, string | undefined>): BuildInfo {
  if (cached && !env) return cached;
  const pkg = JSON.parse(read(fromRoot('package.json')) ?? '{}') as { version?: string };
  const fromEnv = (env ?? process.env).COACHLTI_COMMIT?.trim();
  const commit = fromEnv && /^[0-9a-f]{7,40}$/i.test(fromEnv) ? fromEnv : commitOfCheckout(fromRoot());
  const info = { version: pkg.version ?? 'unknown', commit: commit?.slice(0, 12) };
  if (!env) cached = info;
  return info;
}
