/**
 * package.json `engines.node` is the Node range the project really supports. `.npmrc` sets engine-strict, so npm
 * refuses to install on a Node outside it (one EBADENGINE block naming the range) — and would equally refuse a locked
 * package whose own engines.node our range admits versions outside of. So every Node version our range admits must
 * satisfy every locked package's engines.node, optional and development packages included (npm ci installs those).
 *
 * Ranges are compared with `semver` (npm's own range semantics). It is not a direct dependency: it is installed as a
 * dependency of development tools (azurite, Stryker), so this test takes it from node_modules as it is.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Semver {
  validRange(range: string): string | null;
  subset(sub: string, dom: string): boolean;
  satisfies(version: string, range: string): boolean;
}
const semver = createRequire(import.meta.url)('semver') as Semver;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(repo, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: unknown; optional?: boolean; dev?: boolean }>;
};
const ours = pkg.engines.node;

/** engines.node of a locked package; the old array form (`["node >= 0.4"]`) is ignored by npm and here. */
function nodeRange(engines: unknown): string | undefined {
  if (typeof engines !== 'object' || engines === null || Array.isArray(engines)) return undefined;
  const node = (engines as { node?: unknown }).node;
  return typeof node === 'string' ? node : undefined;
}

/** Every locked package (the root excluded) whose engines.node our range is not a subset of. */
function unmetEngines(range: string): string[] {
  return Object.entries(lock.packages)
    .filter(([location]) => location !== '')
    .flatMap(([location, entry]) => {
      const theirs = nodeRange(entry.engines);
      if (theirs === undefined || semver.subset(range, theirs)) return [];
      return [`${location}@${entry.version ?? '?'} needs node ${theirs}`];
    });
}

describe('engines.node', () => {
  it('is a valid range', () => {
    expect(semver.validRange(ours), ours).not.toBeNull();
  });

  it('admits only Node versions every locked package accepts', () => {
    expect(unmetEngines(ours)).toEqual([]);
  });

  it('is not a bare major: the ranges that would let npm ci fail on a dependency are caught', () => {
    // The check itself must be able to fail: ">=22" admits 22.0, which commander and vitest refuse.
    expect(unmetEngines('>=22').some((line) => line.startsWith('node_modules/commander@'))).toBe(true);
    expect(unmetEngines('>=22').some((line) => line.startsWith('node_modules/vitest@'))).toBe(true);
  });

  it('admits the Node running the tests and the current LTS lines, and refuses Node 20 and odd-numbered 23/25', () => {
    expect(semver.satisfies(process.versions.node, ours), process.versions.node).toBe(true);
    for (const ok of ['22.18.0', '22.99.0', '24.11.0', '24.99.0']) expect(semver.satisfies(ok, ours), ok).toBe(true);
    for (const no of ['20.19.0', '22.0.0', '22.11.0', '23.11.0', '25.0.0']) expect(semver.satisfies(no, ours), no).toBe(false);
  });

  it('is the range README.md and infra/README.md name', () => {
    for (const doc of ['README.md', 'infra/README.md']) {
      const text = readFileSync(path.join(repo, doc), 'utf8');
      expect(text, doc).toContain(`\`${ours}\``);
      expect(text, doc).not.toMatch(/Node(\.js)? (≥|>=) ?22\b/);
    }
  });

  it('is what .ci/run checks (read from package.json, not a hard-coded major)', () => {
    const ci = readFileSync(path.join(repo, '.ci/run'), 'utf8');
    expect(ci).toContain('engines.node');
    expect(ci).not.toMatch(/-lt 22\b/);
  });
});
