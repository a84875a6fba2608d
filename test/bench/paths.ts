/**
 * The repository root, found by walking up to our package.json, so the same code works from test/bench (tsx) and
 * from dist-bench/test/bench (compiled, which `npm run bench` runs the application side from).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'azure-port-sync') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the azure-port-sync package.json above ${start}`);
    dir = parent;
  }
}

export const REPO_ROOT = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
export const HOST_JSON = path.join(REPO_ROOT, 'host.json');
export const REFERENCE_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'reference');
