/**
 * Builds the deployable Function App package from the production build (`npm run package`):
 *
 *   .deploy/app/      the folder to publish from (`func azure functionapp publish <app>` run inside it)
 *   .deploy/app.zip   the same files, for `az functionapp deployment source config-zip`
 *
 * The package holds only what the Functions host runs: host.json, a package.json cut down to what the runtime
 * reads, the compiled functions/ and shared/ with the JSON assets the build copies next to them (dist/, no source
 * maps), and the production dependencies as `npm ls --omit=dev` lists them from the installed node_modules (so
 * nothing is downloaded again, and no dev or optional-only tool rides along). test/infra/package.test.ts checks the
 * listing and starts the written package in plain Node.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync, type Zippable } from 'fflate';

export interface PackageFile {
  /** Path inside the package, with forward slashes. */
  to: string;
  /** Absolute source path, or undefined for generated content. */
  from?: string;
  content?: string;
}

/** The fields of package.json the Functions host and Node read at run time. */
export function runtimePackageJson(pkg: Record<string, unknown>): Record<string, unknown> {
  const keep = ['name', 'version', 'description', 'license', 'type', 'main', 'engines', 'dependencies'];
  return Object.fromEntries(keep.filter((k) => pkg[k] !== undefined).map((k) => [k, pkg[k]]));
}

/** Directories of the installed production dependencies (the root excluded), as npm resolves them. */
export function productionDependencyDirs(root: string): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const rootDir = path.resolve(root);
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && path.resolve(line) !== rootDir);
}

function walk(dir: string, skip: (relative: string, isDirectory: boolean) => boolean, base = dir): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const relative = path.relative(base, full);
    if (entry.isSymbolicLink()) continue;
    if (skip(relative, entry.isDirectory())) continue;
    if (entry.isDirectory()) files.push(...walk(full, skip, base));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/** A file of the production build the app needs at run time: compiled code or an asset it imports (JSON). */
export function isRuntimeBuildFile(relative: string): boolean {
  return /\.(js|json)$/.test(relative);
}

export interface PlanOptions {
  /** The production build to take (default `<root>/dist`). */
  distDir?: string;
  /** Production dependency directories (default: from `npm ls --omit=dev`). */
  dependencyDirs?: string[];
}

/** Every file the package holds, in a stable order. Throws when the production build is missing. */
export function packagePlan(root: string, options: PlanOptions = {}): PackageFile[] {
  const distDir = options.distDir ?? path.join(root, 'dist');
  const files: PackageFile[] = [];
  files.push({ to: 'host.json', from: path.join(root, 'host.json') });
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  files.push({ to: 'package.json', content: `${JSON.stringify(runtimePackageJson(pkg), null, 2)}\n` });

  for (const part of ['functions', 'shared']) {
    const dir = path.join(distDir, part);
    if (!existsSync(dir)) throw new Error(`${dir} is missing: run the production build first (npm run build)`);
    // The compiled code and every asset the build put next to it (tsc copies JSON the code imports, such as
    // shared/mapping/default-port-app-config.json, which the worker loads at start); never maps or declarations.
    for (const file of walk(dir, (rel, isDir) => !isDir && !isRuntimeBuildFile(rel))) {
      files.push({ to: `dist/${part}/${toPosix(path.relative(dir, file))}`, from: file });
    }
  }

  const nodeModules = path.join(root, 'node_modules');
  for (const dir of options.dependencyDirs ?? productionDependencyDirs(root)) {
    // A package's own node_modules holds nested dependencies; those that ship are listed on their own.
    for (const file of walk(dir, (rel, isDir) => isDir && rel === 'node_modules')) {
      files.push({ to: `node_modules/${toPosix(path.relative(nodeModules, file))}`, from: file });
    }
  }
  return files.sort((a, b) => a.to.localeCompare(b.to));
}

/** Writes the files into `outDir` (emptied first) and, when `zipPath` is given, the same files as a zip there. */
export function writePackage(files: PackageFile[], outDir: string, zipPath?: string): { files: number; bytes: number } {
  rmSync(outDir, { recursive: true, force: true });
  const zip: Zippable = {};
  let bytes = 0;
  for (const file of files) {
    const target = path.join(outDir, ...file.to.split('/'));
    mkdirSync(path.dirname(target), { recursive: true });
    if (file.from) cpSync(file.from, target);
    else writeFileSync(target, file.content ?? '');
    if (zipPath === undefined) {
      bytes += statSync(target).size;
      continue;
    }
    const data = readFileSync(target);
    bytes += data.length;
    zip[file.to] = [data, { mtime: statSync(target).mtime }];
  }
  if (zipPath !== undefined) {
    mkdirSync(path.dirname(zipPath), { recursive: true });
    writeFileSync(zipPath, zipSync(zip, { level: 6 }));
  }
  return { files: files.length, bytes };
}

function main(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const outDir = path.join(root, '.deploy', 'app');
  const zipPath = path.join(root, '.deploy', 'app.zip');
  const { files, bytes } = writePackage(packagePlan(root), outDir, zipPath);
  const zipMb = (statSync(zipPath).size / 1_048_576).toFixed(1);
  console.log(`${path.relative(root, outDir)}/: ${files} files, ${(bytes / 1_048_576).toFixed(1)} MB; ${path.relative(root, zipPath)}: ${zipMb} MB`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
