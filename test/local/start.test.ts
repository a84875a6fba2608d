import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterEach, describe, expect, it } from 'vitest';
import { FUNC_MISSING_MESSAGE, emulatorEndpoints, findFunc } from './start.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(repo, 'test/local/start.ts');
const nodeDir = dirname(process.execPath);
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'port-sync-start-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stand-in `func` that records how it was called and runs until signalled, like `func start` does. */
function fakeFunc(binDir: string): void {
  mkdirSync(binDir, { recursive: true });
  const file = join(binDir, 'func');
  writeFileSync(
    file,
    `#!${process.execPath}
require('node:fs').writeFileSync(process.env.FAKE_FUNC_MARKER, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }));
const stop = (signal) => () => { require('node:fs').appendFileSync(process.env.FAKE_FUNC_MARKER + '.signal', signal); process.exit(0); };
process.on('SIGINT', stop('SIGINT'));
process.on('SIGTERM', stop('SIGTERM'));
setInterval(() => {}, 1000);
`,
  );
  chmodSync(file, 0o755);
}

interface Run {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function runStart(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
  return {
    code: new Promise((done) => child.once('exit', (code) => done(code))),
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => child.kill(signal),
  };
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start (test/local/start.ts)', () => {
  it('exits non-zero with one install line when func is missing', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'local.settings.json'), readFileSync(join(repo, 'local.settings.sample.json')));
    const run = runStart(['--root', root, '--skip-build'], { PATH: nodeDir, HOME: root });
    expect(await run.code).toBe(1);
    expect(run.stdout()).toBe('');
    const lines = run.stderr().trimEnd().split('\n');
    expect(lines).toEqual([FUNC_MISSING_MESSAGE]);
    expect(lines[0]).toContain('npm i -g azure-functions-core-tools@4');
  });

  it('tells the user to copy the sample when local.settings.json is missing', async () => {
    const root = tempDir();
    fakeFunc(join(root, 'bin'));
    const run = runStart(['--root', root, '--skip-build'], { PATH: `${join(root, 'bin')}:${nodeDir}`, HOME: root, FAKE_FUNC_MARKER: join(root, 'marker') });
    expect(await run.code).toBe(1);
    expect(run.stderr()).toContain('cp local.settings.sample.json local.settings.json');
    expect(existsSync(join(root, 'marker'))).toBe(false);
  });

  it('starts Azurite, creates both queues, runs func start with extra args, and stops Azurite on Ctrl-C', async () => {
    const root = tempDir();
    const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${queuePort}/devstoreaccount1;` +
      `TableEndpoint=http://127.0.0.1:${tablePort}/devstoreaccount1;`;
    const sample = JSON.parse(readFileSync(join(repo, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    sample.Values.AzureWebJobsStorage = connectionString;
    sample.Values.RESOURCE_EVENTS_QUEUE = 'local-events';
    writeFileSync(join(root, 'local.settings.json'), JSON.stringify(sample));
    fakeFunc(join(root, 'bin'));
    const marker = join(root, 'marker');

    const run = runStart(['--root', root, '--skip-build', '--verbose'], { PATH: `${join(root, 'bin')}:${nodeDir}`, HOME: root, FAKE_FUNC_MARKER: marker });
    await waitFor(() => existsSync(marker), `func to be started (stdout: ${run.stdout()} stderr: ${run.stderr()})`);

    expect(JSON.parse(readFileSync(marker, 'utf8'))).toEqual({ args: ['start', '--verbose'], cwd: root });
    for (const port of [blobPort, queuePort, tablePort]) expect(await isListening(port)).toBe(true);
    const queues: string[] = [];
    for await (const q of QueueServiceClient.fromConnectionString(connectionString).listQueues()) queues.push(q.name);
    expect(queues.sort()).toEqual(['local-events', 'local-events-poison']);

    run.kill('SIGINT');
    expect(await run.code).toBe(0);
    expect(readFileSync(`${marker}.signal`, 'utf8')).toBe('SIGINT');
    for (const port of [blobPort, queuePort, tablePort]) expect(await isListening(port)).toBe(false);
  });
  async function emulatorRoot(): Promise<{ root: string; marker: string; ports: number[]; env: Record<string, string> }> {
    const root = tempDir();
    const ports = [await freePort(), await freePort(), await freePort()];
    const [blobPort, queuePort, tablePort] = ports;
    const sample = JSON.parse(readFileSync(join(repo, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    sample.Values.AzureWebJobsStorage =
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${queuePort}/devstoreaccount1;` +
      `TableEndpoint=http://127.0.0.1:${tablePort}/devstoreaccount1;`;
    writeFileSync(join(root, 'local.settings.json'), JSON.stringify(sample));
    fakeFunc(join(root, 'bin'));
    const marker = join(root, 'marker');
    return { root, marker, ports, env: { PATH: `${join(root, 'bin')}:${nodeDir}`, HOME: root, FAKE_FUNC_MARKER: marker } };
  }

  it('cancels start-up on SIGTERM before func runs, and stops Azurite', async () => {
    const { root, marker, ports, env } = await emulatorRoot();
    const run = runStart(['--root', root, '--skip-build'], env);
    await waitFor(() => run.stdout().includes('Starting Azurite'), 'Azurite to be started');
    run.kill('SIGTERM');
    expect(await run.code).toBe(143);
    expect(existsSync(marker)).toBe(false);
    for (const port of ports) expect(await isListening(port)).toBe(false);
  });

  it('fails with a clear message when Azurite cannot start', async () => {
    const { root, marker, ports, env } = await emulatorRoot();
    const squatter = createServer().listen(ports[0], '127.0.0.1');
    cleanups.push(() => squatter.close());
    const run = runStart(['--root', root, '--skip-build'], env);
    expect(await run.code).toBe(1);
    expect(run.stderr()).toMatch(/npm start failed: Azurite (exited early|did not open ports)/);
    expect(existsSync(marker)).toBe(false);
    expect(await isListening(ports[1]!)).toBe(false);
  });
});

describe('findFunc', () => {
  it('finds func on PATH, then in node_modules/.bin, and nothing elsewhere', () => {
    const root = tempDir();
    expect(findFunc(root, nodeDir)).toBeUndefined();
    fakeFunc(join(root, 'node_modules', '.bin'));
    expect(findFunc(root, nodeDir)).toBe(join(root, 'node_modules', '.bin', 'func'));
    fakeFunc(join(root, 'bin'));
    expect(findFunc(root, `${join(root, 'bin')}:${nodeDir}`)).toBe(join(root, 'bin', 'func'));
  });

  it('skips a func file that is not executable', () => {
    const root = tempDir();
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'bin', 'func'), '');
    chmodSync(join(root, 'bin', 'func'), 0o644);
    expect(findFunc(root, join(root, 'bin'))).toBeUndefined();
  });
});

describe('emulatorEndpoints', () => {
  it('maps UseDevelopmentStorage=true to the default Azurite ports', () => {
    expect(emulatorEndpoints('UseDevelopmentStorage=true')).toEqual({ host: '127.0.0.1', blobPort: 10000, queuePort: 10001, tablePort: 10002 });
  });

  it('reads custom ports from an explicit devstoreaccount1 connection string', () => {
    expect(
      emulatorEndpoints(`AccountName=devstoreaccount1;AccountKey=${AZURITE_KEY};QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1;BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1`),
    ).toEqual({ host: '127.0.0.1', blobPort: 41000, queuePort: 41001, tablePort: 10002 });
  });

  it('leaves real storage accounts alone', () => {
    expect(emulatorEndpoints('DefaultEndpointsProtocol=https;AccountName=stprod;AccountKey=abc;EndpointSuffix=core.windows.net')).toBeUndefined();
    expect(emulatorEndpoints('')).toBeUndefined();
  });
});
