/**
 * `reconcile` from a shell takes the Function App's run lock (#11 §1): while another run of the same scope holds it,
 * the CLI says which and exits 3 without any Port or Resource Graph call, or waits with --wait; Ctrl-C stops a run
 * and gives the lock back. The other holder is played by this test taking the lease itself, as another instance
 * would.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import { RUN_LOCK_CONTAINER, runLockName } from '../../shared/sync/reconcile/runLock.js';
import type { AzuriteHandle } from '../support/azurite.js';
import { startCliHarness, stopCliHarness } from './support.js';
import type { Harness } from '../reconcile/harness.js';

let h: Harness;
let azurite: AzuriteHandle;
beforeAll(async () => {
  ({ h, azurite } = await startCliHarness());
}, 60_000);
afterAll(() => stopCliHarness(h, azurite));

async function cli(argv: string[], extra: Partial<CliIo> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { ...h.env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    deps: { credential: h.arg.credential, now: () => h.arg.now(), lockPollMs: 100 },
    ...extra,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const lockBlob = () =>
  BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(RUN_LOCK_CONTAINER).getBlockBlobClient(runLockName(h.settings));

async function holdLockElsewhere(): Promise<{ release(): Promise<void> }> {
  const blob = lockBlob();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(RUN_LOCK_CONTAINER).createIfNotExists();
  await blob.upload('', 0).catch(() => undefined);
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(60);
  await blob.setMetadata({ runid: 'timer-run-elsewhere', trigger: 'timer', startedat: '2026-03-02T07:59:00.000Z', host: 'worker-b' }, { conditions: { leaseId: lease.leaseId } });
  return { release: async () => void (await lease.releaseLease()) };
}

describe('reconcile and the run lock', () => {
  it('exits 3 naming the run that holds the lock, with no Port or Resource Graph call', async () => {
    const other = await holdLockElsewhere();
    try {
      h.port.clearRequests();
      const argBefore = h.arg.queryCount();
      for (const argv of [['reconcile'], ['reconcile', '--dry-run']]) {
        const r = await cli(argv);
        expect(r.code).toBe(3);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toEqual([
          'error: another reconciliation of this scope holds the run lock: a timer run started 2026-03-02T07:59:00.000Z on worker-b (run timer-run-elsewhere). Try again when it has finished, or pass --wait',
        ]);
      }
      expect(h.port.requests).toEqual([]);
      expect(h.arg.queryCount()).toBe(argBefore);
    } finally {
      await other.release();
    }
  });

  it('--wait waits for the holder to finish, then runs', async () => {
    const other = await holdLockElsewhere();
    const released = new Promise((r) => setTimeout(r, 500)).then(() => other.release());
    const r = await cli(['reconcile', '--wait', '--json', '--no-progress']);
    await released;
    expect(r.stderr).toMatch(/^waiting for the run lock \(0s so far\): held by a timer run started/m);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'succeeded', trigger: 'cli' });
    expect((await lockBlob().getProperties()).leaseState).toBe('available');
  });

  it('Ctrl-C stops the run, gives the lock back and leaves the sync state as it was', async () => {
    const stateBefore = h.stateEntity();
    const interrupt = new AbortController();
    h.arg.setLatency(300);
    try {
      setTimeout(() => interrupt.abort(new Error('interrupted')), 400);
      const r = await cli(['reconcile', '--mode', 'full', '--no-progress'], { abortSignal: interrupt.signal });
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/^error: reconcile stopped \(run [0-9a-f-]+\): interrupted; the sync state is unchanged/m);
    } finally {
      h.arg.setLatency(0);
    }
    expect(h.stateEntity()).toEqual(stateBefore);
    expect((await lockBlob().getProperties()).leaseState).toBe('available');
  });
});
