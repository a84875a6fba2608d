import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../shared/settings.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('README', () => {
  it('documents every setting in the configuration table', () => {
    const documented = new Set([...readme.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]));
    const missing = SETTING_NAMES.filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });

  it('names the test command that CI runs', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('`npm test`');
    expect(ci).toMatch(/^npm test$/m);
  });

  it('only advertises npm scripts that exist', () => {
    const advertised = [...readme.matchAll(/npm run ([a-z:-]+)/g)].map((m) => m[1]!);
    const missing = [...new Set(advertised)].filter((script) => !(script in pkg.scripts));
    expect(missing).toEqual([]);
  });
});
