/**
 * `npm run mutate` stays what the README says it is: the files Stryker mutates are the ones the README's
 * "Mutation testing" section names, every test file the mutation run lists exists, and the report folders are
 * git-ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

async function strykerConfig(): Promise<{ mutate: string[]; incrementalFile: string; htmlReporter: { fileName: string }; tempDirName: string }> {
  const href = new URL('stryker.config.mjs', root).href;
  return ((await import(href)) as { default: never }).default;
}

function readmeSection(): string {
  const readme = read('README.md');
  const start = readme.indexOf('### Mutation testing');
  expect(start, 'README has a "Mutation testing" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('npm run mutate', () => {
  it('is the script, with Stryker pinned', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
    expect(pkg.scripts['mutate']).toBe('stryker run');
    for (const name of ['@stryker-mutator/core', '@stryker-mutator/vitest-runner', '@stryker-mutator/typescript-checker']) {
      expect(pkg.devDependencies[name], name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('mutates exactly the files the README names, each of which exists', async () => {
    const { mutate } = await strykerConfig();
    const section = readmeSection();
    for (const entry of mutate) {
      const file = entry.replace(/:\d+-\d+$/, '');
      expect(existsSync(new URL(file, root)), file).toBe(true);
      expect(section, file).toContain(`\`${file}\``);
    }
    // The TypeScript checker's program is the same files (and what they import).
    const checked = (JSON.parse(read('tsconfig.mutate.json')) as { include: string[] }).include;
    expect([...checked].sort()).toEqual([...new Set(mutate.map((e) => e.replace(/:\d+-\d+$/, '')))].sort());
    const named = [...section.matchAll(/`(shared\/[^`]+\.ts)`/g)].map((m) => m[1]!);
    expect([...new Set(named)].sort()).toEqual([...new Set(mutate.map((e) => e.replace(/:\d+-\d+$/, '')))].sort());
  });

  it('runs only test files that exist, and keeps its report and sandbox out of git', async () => {
    const config = read('vitest.mutate.config.ts');
    const listed = [...config.matchAll(/'(test\/[^']+\.test\.ts)'/g)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(5);
    for (const file of listed.filter((f) => !f.includes('*'))) expect(existsSync(new URL(file, root)), file).toBe(true);
    const { incrementalFile, htmlReporter, tempDirName } = await strykerConfig();
    const ignored = read('.gitignore').split('\n');
    expect(ignored).toContain('reports/mutation/');
    expect(ignored).toContain(`${tempDirName}/`);
    expect(incrementalFile.startsWith('reports/mutation/')).toBe(true);
    expect(htmlReporter.fileName.startsWith('reports/mutation/')).toBe(true);
  });
});
