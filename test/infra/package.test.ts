/**
 * The deployable package (`npm run package`, infra/package-app.ts) carries only the app: the production build of
 * functions/ and shared/, host.json, a runtime package.json and the production dependencies. The production build
 * is compiled here into a temporary folder with tsconfig.build.json; dependencies come from the installed
 * node_modules, so the test runs offline.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagePlan, writePackage, type PackageFile } from '../../infra/package-app.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

/** Top-level package name of a node_modules path (`node_modules/@azure/x/…` → `@azure/x`), innermost one. */
function packageNameOf(to: string): string | undefined {
  const parts = to.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const first = parts[at + 1] ?? '';
  return first.startsWith('@') ? `${first}/${parts[at + 2] ?? ''}` : first;
}

/** Installed packages reachable from package.json `dependencies` by Node's resolution, read independently of npm. */
function reachableFromDependencies(): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string): void => {
    let manifest: string;
    try {
      manifest = createRequire(path.join(fromDir, 'noop.js')).resolve(`${name}/package.json`);
    } catch {
      // Not installed (an optional dependency for another platform) or no exported package.json: find it on disk.
      let dir = fromDir;
      for (;;) {
        const candidate = path.join(dir, 'node_modules', name, 'package.json');
        if (existsSync(candidate)) {
          manifest = candidate;
          break;
        }
        const parent = path.dirname(dir);
        if (parent === dir) return;
        dir = parent;
      }
    }
    const dir = path.dirname(manifest);
    const key = path.relative(repo, dir).split(path.sep).join('/');
    if (seen.has(key)) return;
    seen.add(key);
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) visit(dep, dir);
  };
  for (const dep of Object.keys(pkg.dependencies)) visit(dep, repo);
  return seen;
}

/** What must never be in the package; returns one line per offending file. */
function packageProblems(files: PackageFile[]): string[] {
  const problems: string[] = [];
  const devOnly = Object.keys(pkg.devDependencies).filter((d) => !(d in pkg.dependencies));
  for (const f of files) {
    const top = f.to.split('/')[0]!;
    if (!['host.json', 'package.json', 'dist', 'node_modules'].includes(top)) problems.push(`${f.to}: not part of the app`);
    if (f.to.startsWith('dist/') && !/^dist\/(functions|shared)\/.+\.(js|json)$/.test(f.to)) problems.push(`${f.to}: only compiled functions/ and shared/ (and their JSON assets) belong in dist/`);
    const name = packageNameOf(f.to);
    if (name === 'azure-functions-core-tools') problems.push(`${f.to}: Core Tools must never ship`);
    else if (name && devOnly.includes(name)) problems.push(`${f.to}: ${name} is a dev dependency`);
  }
  return problems;
}

let dist: string;
let files: PackageFile[];

beforeAll(() => {
  dist = mkdtempSync(path.join(tmpdir(), 'aps-dist-'));
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(repo, 'tsconfig.build.json'), '--outDir', dist], { cwd: repo, stdio: 'pipe' });
  files = packagePlan(repo, { distDir: dist });
}, 240_000);

afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('the production build (tsconfig.build.json)', () => {
  it('compiles functions/ and shared/ only, without source maps (plus the shipped default mapping)', () => {
    expect(readdirSync(dist).sort()).toEqual(['functions', 'shared']);
    const all = readdirSync(dist, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(all.filter((n) => !n.endsWith('.js'))).toEqual(['default-port-app-config.json']);
    for (const entry of readdirSync(path.join(repo, 'functions')).filter((f) => f.endsWith('.ts'))) {
      expect(existsSync(path.join(dist, 'functions', entry.replace(/\.ts$/, '.js'))), entry).toBe(true);
    }
  });
});

describe('the deployable package', () => {
  it('holds host.json, a runtime package.json, dist/functions, dist/shared and production node_modules', () => {
    const tops = new Set(files.map((f) => f.to.split('/')[0]));
    expect([...tops].sort()).toEqual(['dist', 'host.json', 'node_modules', 'package.json']);
    expect(files.some((f) => f.to === 'dist/functions/resourceEvents.js')).toBe(true);
    expect(files.some((f) => f.to === 'dist/shared/settings.js')).toBe(true);
    expect(files.some((f) => f.to === 'dist/shared/cli/main.js')).toBe(true);
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(files.some((f) => f.to === `node_modules/${dep}/package.json`), dep).toBe(true);
    }
  });

  it('has no tests, sources, source maps, dev dependencies or Core Tools', () => {
    expect(packageProblems(files)).toEqual([]);
    expect(pkg.optionalDependencies ?? {}).toEqual({});
    expect(files.some((f) => /^dist\/.*\.(ts|map)$/.test(f.to))).toBe(false);
  });

  it('ships exactly the packages reachable from dependencies', () => {
    const shipped = new Set(
      files
        .filter((f) => f.to.startsWith('node_modules/') && f.to.endsWith('/package.json'))
        .map((f) => f.to.slice(0, -'/package.json'.length))
        // package.json files inside a package (e.g. dist/esm/package.json) are not package roots.
        .filter((dir) => packageNameOf(`${dir}/x`) !== undefined && dir.endsWith(`node_modules/${packageNameOf(`${dir}/x`)}`)),
    );
    const reachable = reachableFromDependencies();
    expect([...reachable].filter((d) => !shipped.has(d))).toEqual([]);
    expect([...shipped].filter((d) => !reachable.has(d))).toEqual([]);
    // The dev tool chain is large; a regression that ships it would show here first.
    for (const dev of ['typescript', 'vitest', 'azurite', 'tsx', 'tree-sitter']) expect(shipped.has(`node_modules/${dev}`), dev).toBe(false);
  });

  it('writes a package.json with what the runtime reads and nothing for development', () => {
    const runtime = JSON.parse(files.find((f) => f.to === 'package.json')!.content!) as Record<string, unknown>;
    expect(runtime).toMatchObject({ name: 'azure-port-sync', type: 'module', main: pkg.main, dependencies: pkg.dependencies });
    for (const key of ['scripts', 'devDependencies', 'optionalDependencies', 'bin']) expect(runtime, key).not.toHaveProperty(key);
  });

  it('writes the folder and a zip with the same files', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'aps-pkg-'));
    try {
      // The app's own files plus one dependency keep this quick; the full write is the same loop.
      const subset = files.filter((f) => !f.to.startsWith('node_modules/') || f.to.startsWith('node_modules/p-limit/'));
      const zipPath = path.join(out, 'app.zip');
      const written = writePackage(subset, path.join(out, 'app'), zipPath);
      expect(written.files).toBe(subset.length);
      const entries = unzipSync(readFileSync(zipPath));
      expect(Object.keys(entries).sort()).toEqual(subset.map((f) => f.to).sort());
      expect(Buffer.from(entries['host.json']!).equals(readFileSync(path.join(repo, 'host.json')))).toBe(true);
      expect(existsSync(path.join(out, 'app', 'dist', 'functions', 'reconcile.js'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/**
 * Stands in for the Functions host inside the package folder, with plain Node (no tsx, no vitest): fakes the host's
 * core API (`@azure/functions-core`, which exists only inside the worker), imports every entry file in
 * dist/functions as the worker does, runs the appStart hooks they register (settings and the default mapping are
 * loaded there), then imports every other module in dist/ (the entry files load those on the first invocation).
 * Prints one JSON line: what was registered and every failure.
 */
const HOST_STAND_IN = `
import Module from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const app = process.argv[2];
const functions = [];
const hooks = [];
const failures = [];
const fakePath = path.join(app, '__functions_core_stand_in__.js');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === '@azure/functions-core' ? fakePath : original.call(this, request, ...rest);
};
const fake = new Module(fakePath);
fake.filename = fakePath;
fake.loaded = true;
let model;
fake.exports = {
  version: '4.99.0-stand-in',
  setProgrammingModel: (m) => { model = m; },
  getProgrammingModel: () => model,
  registerFunction: (metadata) => { functions.push(metadata.name); return { dispose() {} }; },
  registerHook: (name, callback) => { hooks.push({ name, callback }); return { dispose() {} }; },
  log: () => {},
};
Module._cache[fakePath] = fake;

const message = (error) => (error instanceof Error ? error.message : String(error)).split('\\n')[0];
const dist = path.join(app, 'dist');
const entries = readdirSync(path.join(dist, 'functions')).filter((f) => f.endsWith('.js')).sort();
for (const entry of entries) {
  try {
    await import(pathToFileURL(path.join(dist, 'functions', entry)).href);
  } catch (error) {
    failures.push('dist/functions/' + entry + ': ' + message(error));
  }
}
for (const hook of hooks.filter((h) => h.name === 'appStart')) {
  try {
    await hook.callback({ hookData: {} });
  } catch (error) {
    failures.push('appStart hook: ' + message(error));
  }
}
const modules = readdirSync(dist, { recursive: true }).map(String).filter((f) => f.endsWith('.js')).sort();
for (const file of modules) {
  try {
    await import(pathToFileURL(path.join(dist, file)).href);
  } catch (error) {
    failures.push('dist/' + file.split(path.sep).join('/') + ': ' + message(error));
  }
}
console.log(JSON.stringify({ entries, functions: functions.sort(), hooks: hooks.map((h) => h.name), modules: modules.length, failures }));
process.exit(0);
`;

describe('the packaged app loads', () => {
  it('ships every non-TypeScript file under functions/ and shared/ (assets the code reads at run time)', () => {
    const assets = ['functions', 'shared'].flatMap((part) =>
      readdirSync(path.join(repo, part), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.endsWith('.ts'))
        .map((e) => path.relative(repo, path.join(e.parentPath, e.name)).split(path.sep).join('/')),
    );
    expect(assets).toContain('shared/mapping/default-port-app-config.json');
    const shipped = new Set(files.map((f) => f.to));
    expect(assets.filter((a) => !shipped.has(`dist/${a}`))).toEqual([]);
  });

  it('starts in plain Node from the package folder with only its production node_modules', () => {
    // Every file of the plan is put in a folder under the system temp dir, which has no node_modules above it:
    // every import resolves inside the package, as it does on the Function App. Files are hard-linked where the
    // file system allows (copying ~10k dependency files takes longer than the check); writePackage's own copy is
    // tested above.
    const out = mkdtempSync(path.join(tmpdir(), 'aps-load-'));
    try {
      const app = path.join(out, 'app');
      const made = new Set<string>();
      for (const file of files) {
        const target = path.join(app, ...file.to.split('/'));
        const dir = path.dirname(target);
        if (!made.has(dir)) mkdirSync(dir, { recursive: true });
        made.add(dir);
        if (file.from === undefined) writeFileSync(target, file.content ?? '');
        else {
          try {
            linkSync(file.from, target);
          } catch {
            copyFileSync(file.from, target);
          }
        }
      }
      const harness = path.join(out, 'host-stand-in.mjs');
      writeFileSync(harness, HOST_STAND_IN);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: out,
        PORT_CLIENT_ID: 'client-id',
        PORT_CLIENT_SECRET: 'client-secret',
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      };
      const stdout = execFileSync(process.execPath, [harness, app], { cwd: app, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { entries: string[]; functions: string[]; hooks: string[]; modules: number; failures: string[] };
      expect(report.failures).toEqual([]);
      expect(report.entries).toEqual(readdirSync(path.join(repo, 'functions')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '.js')).sort());
      expect(report.functions).toEqual(['reconcile', 'resourceEvents', 'resync']);
      expect(report.hooks).toContain('appStart');
      expect(report.modules).toBe(files.filter((f) => /^dist\/.*\.js$/.test(f.to)).length);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the package check', () => {
  it('reports tests, sources, dev dependencies and Core Tools', () => {
    const bad: PackageFile[] = [
      { to: 'test/settings.test.js', from: '/x' },
      { to: 'dist/test/bench/app.js', from: '/x' },
      { to: 'dist/shared/settings.js.map', from: '/x' },
      { to: 'node_modules/vitest/package.json', from: '/x' },
      { to: 'node_modules/azure-functions-core-tools/lib/main.js', from: '/x' },
      { to: 'dist/shared/settings.js', from: '/x' },
    ];
    expect(packageProblems(bad)).toEqual([
      'test/settings.test.js: not part of the app',
      'dist/test/bench/app.js: only compiled functions/ and shared/ (and their JSON assets) belong in dist/',
      'dist/shared/settings.js.map: only compiled functions/ and shared/ (and their JSON assets) belong in dist/',
      'node_modules/vitest/package.json: vitest is a dev dependency',
      'node_modules/azure-functions-core-tools/lib/main.js: Core Tools must never ship',
    ]);
  });
});
