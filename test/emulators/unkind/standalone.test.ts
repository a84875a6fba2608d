/**
 * The unkind modes from the standalone emulators' command lines (`npm run emulator:arg` / `emulator:port`), as the
 * soak and local runs start them: the flags reach the running emulator, and a bad flag is refused by name.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Starts a main.ts with tsx, returns its URL (or its exit code and stderr when it refuses to start). */
async function launch(main: string, args: string[]): Promise<{ url?: string; code?: number | null; stderr: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, main), '--port', '0', ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    if (url) {
      return {
        url,
        stderr,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    if (child.exitCode !== null) return { code: child.exitCode, stderr, stop: async () => undefined };
    if (Date.now() > deadline) throw new Error(`${main} did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const json = async (url: string) => (await fetch(url)).json();

describe('unkind modes from the command line', () => {
  it('emulator:arg --paging offset --max-rows-per-page 2 --long-tail-lag 7', async () => {
    const arg = await launch('test/emulators/resourceGraph/main.ts', ['--paging', 'offset', '--max-rows-per-page', '2', '--long-tail-lag', '7']);
    try {
      expect(await json(`${arg.url}/_emulator/paging`)).toMatchObject({ mode: 'offset', maxRowsPerPage: 2 });
      expect(await json(`${arg.url}/_emulator/lag`)).toMatchObject({
        tables: { resources: { kind: 'mixture', seed: 7 }, resourcecontainerchanges: { kind: 'mixture', seed: 10 } },
      });
    } finally {
      await arg.stop();
    }
    const bad = await launch('test/emulators/resourceGraph/main.ts', ['--paging', 'sideways']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--paging must be "keyset" or "offset"/);
  });

  it('emulator:port --merge-depth deep', async () => {
    const port = await launch('test/emulators/port/main.ts', ['--merge-depth', 'deep']);
    try {
      expect(await json(`${port.url}/_emulator/merge`)).toEqual({ ok: true, depth: 'deep' });
    } finally {
      await port.stop();
    }
  });
});
