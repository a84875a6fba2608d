/**
 * The README's offline walkthrough, as a user runs it: both emulators started with their npm entry files, the
 * settings exported, and every CLI command run as its own process (`npm run azure-port-sync -- …` runs the same
 * entry file through tsx). Nothing is injected: the CLI signs in with AZURE_CREDENTIAL=emulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const children: ChildProcess[] = [];

/** Starts an emulator's main.ts and resolves with the URL it prints. */
function startEmulator(entry: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [entry, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${entry} printed no URL within 30 s: ${out}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${out}`)));
  });
}

let env: Record<string, string>;
beforeAll(async () => {
  const [portUrl, argUrl] = await Promise.all([
    startEmulator('test/emulators/port/main.ts', ['--port', '0']),
    startEmulator('test/emulators/resourceGraph/main.ts', ['--port', '0', '--generate', '60', '--subscriptions', '2', '--resource-groups', '4']),
  ]);
  // Exactly the walkthrough's exports (the emulator's default client id and secret).
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PORT_CLIENT_ID: 'emulator-client-id',
    PORT_CLIENT_SECRET: 'emulator-client-secret',
    PORT_API_URL: portUrl,
    AZURE_ARM_ENDPOINT: argUrl,
    AZURE_CREDENTIAL: 'emulator',
  };
}, 60_000);
afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
});

function azurePortSync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, ['shared/cli/main.ts', ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the offline walkthrough (README) against both emulators', () => {
  it('check, status, reconcile --dry-run, reconcile, status, check', async () => {
    const check = await azurePortSync('check');
    expect(check.stdout).toMatch(/^PASS  azure authentication: .*AZURE_CREDENTIAL=emulator/m);
    expect(check.stdout).toMatch(/^PASS  resource graph: 2 subscription\(s\) in scope/m);
    expect(check.stdout).toMatch(/^PASS  port blueprint azureCloudResources: not created yet: the first run creates it$/m);
    expect(check.stdout).toMatch(/^SKIP  run lock/m);
    expect(check.code).toBe(0);

    const before = await azurePortSync('status');
    expect(before.stdout).toMatch(/no sync state "azure-port-sync".*no run has finished yet/);
    expect(before.code).toBe(1);

    const dry = await azurePortSync('reconcile', '--dry-run');
    expect(dry.stdout).toMatch(/^azureCloudResources: create 60, update 0, delete 0$/m);
    expect(dry.stdout).toContain('nothing was written');
    expect(dry.code).toBe(0);

    const run = await azurePortSync('reconcile');
    expect(run.stdout).toMatch(/→ succeeded/);
    expect(run.stderr).toMatch(/^warning: AzureWebJobsStorage is not set/m);
    expect(run.code).toBe(0);

    const after = await azurePortSync('status', '--json');
    expect(JSON.parse(after.stdout)).toMatchObject({ state: { lastRun: { status: 'succeeded', mode: 'full' } } });
    expect(after.code).toBe(0);

    const again = await azurePortSync('check');
    expect(again.stdout).toMatch(/^PASS  port blueprint azureCloudResources: exists and is readable$/m);
    expect(again.code).toBe(0);
  }, 120_000);
});
