import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project root (the folder holding package.json), found from this file so the same code works
 * from src/ under tsx/jest and from dist/src/ after a build. Data files (framework, curriculum, views)
 * are read from the source tree, so the build never has to copy them.
 */
function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(__dirname);
export const fromRoot = (...segments: string[]): string => path.join(projectRoot, ...segments);
