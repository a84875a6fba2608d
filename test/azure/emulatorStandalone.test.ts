/**
 * `npm run emulator:arg -- --port <n> --seed <estate.json>`: the standalone emulator the bench and the sandbox use,
 * run as its own process and read through the real reader.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { staticTestCredential } from '../emulators/resourceGraph/credential.js';
import { generateEstate } from '../fixtures/estate.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(join(tmpdir(), 'arg-emulator-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs main.ts the way `npm run emulator:arg` does (tsx), with this Node. */
function launch(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/emulators/resourceGraph/main.ts'), ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(child: ChildProcess): { stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { stdout: () => stdout, stderr: () => stderr, exit };
}

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('standalone Resource Graph emulator', () => {
  it('serves a --seed estate on a free --port to the real reader, and exits cleanly on SIGTERM', async () => {
    const estate = generateEstate({ subscriptions: 2, resourceGroups: 6, resources: 1_500, seed: 31 });
    const seed = join(scratch, 'estate.json');
    writeFileSync(seed, JSON.stringify(estate));
    const child = launch(['--port', '0', '--seed', seed]);
    const io = output(child);
    try {
      const url = await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(io.stdout())?.[1], 'the URL line');
      expect(io.stdout()).toContain('(2 subscriptions, 6 resource groups, 1500 resources)');
      const reader = new ResourceGraphReader({ endpoint: url, credential: staticTestCredential() });
      let rows = 0;
      for await (const page of reader.listResources({ subscriptionIds: estate.subscriptions.map((s) => String(s.subscriptionId)) })) rows += page.length;
      expect(rows).toBe(1_500);
      expect(reader.queryCount()).toBe(2);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await io.exit).toBe(0);
  });

  it('refuses a --seed file it cannot read, naming the file', async () => {
    const missing = join(scratch, 'nope.json');
    const io = output(launch(['--port', '0', '--seed', missing]));
    expect(await io.exit).not.toBe(0);
    expect(io.stderr()).toContain(`cannot read --seed ${missing}`);
  });
});
