/**
 * The run lock's blob lease against a real Azurite blob service: renewal keeps it, a broken lease is reported
 * through `lost`, release frees it, and the container rule (created with a connection string, reported with an
 * identity) holds.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobLeaseLocks, createBlobLeaseLocks, LockLostError, type LockAttempt } from '../../shared/azure/blobLease.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';

let azurite: AzuriteHandle;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => azurite?.stop());

const service = () => BlobServiceClient.fromConnectionString(azurite.connectionString);
const holder = { trigger: 'test', startedAt: '2026-03-02T08:00:00.000Z', runId: 'run-1' };
const acquired = (a: LockAttempt) => {
  if (!a.acquired) throw new Error(`expected the lock, held by ${JSON.stringify(a.holder)}`);
  return a.lock;
};

describe('BlobLeaseLocks', () => {
  it('creates its container on first use with a connection string, and refuses a second holder naming the first', async () => {
    const locks = await createBlobLeaseLocks({ connectionString: azurite.connectionString }, { container: 'locks-a' });
    const lock = acquired(await locks.tryAcquire('scope-1', holder));
    const second = await locks.tryAcquire('scope-1', { trigger: 'timer', startedAt: '2026-03-02T08:01:00.000Z' });
    expect(second.acquired).toBe(false);
    expect(second.acquired ? undefined : second.holder).toMatchObject(holder);
    // Another name is another scope: not blocked.
    const other = acquired(await locks.tryAcquire('scope-2', holder));
    await Promise.all([lock.release(), other.release()]);
    const again = acquired(await locks.tryAcquire('scope-1', holder));
    await again.release();
    expect(lock.lost.aborted).toBe(false);
  });

  it('renews the lease while held, so it outlives its duration', async () => {
    const locks = await createBlobLeaseLocks(
      { connectionString: azurite.connectionString },
      { container: 'locks-b', leaseSeconds: 15, renewEveryMs: 1_000 },
    );
    const lock = acquired(await locks.tryAcquire('renewed', holder));
    await new Promise((r) => setTimeout(r, 17_000));
    expect(lock.lost.aborted).toBe(false);
    expect((await locks.tryAcquire('renewed', holder)).acquired).toBe(false);
    await lock.release();
    expect((await service().getContainerClient('locks-b').getBlobClient('renewed').getProperties()).leaseState).toBe('available');
  }, 30_000);

  it('reports a lease taken away (broken) through `lost` at the next renewal', async () => {
    const locks = await createBlobLeaseLocks({ connectionString: azurite.connectionString }, { container: 'locks-c', renewEveryMs: 200 });
    const lock = acquired(await locks.tryAcquire('broken', holder));
    await service().getContainerClient('locks-c').getBlobClient('broken').getBlobLeaseClient().breakLease(0);
    await new Promise<void>((resolve) => lock.lost.addEventListener('abort', () => resolve(), { once: true }));
    expect(lock.lost.reason).toBeInstanceOf(LockLostError);
    expect(String(lock.lost.reason)).toMatch(/run lock broken was lost/);
    await lock.release();
  });

  it('two holders with lease clients of their own (two instances) race for the lock: exactly one wins each time', async () => {
    const connection = { connectionString: azurite.connectionString };
    const [a, b] = await Promise.all([createBlobLeaseLocks(connection, { container: 'locks-race' }), createBlobLeaseLocks(connection, { container: 'locks-race' })]);
    // Round 1 races the creation of the container and the lock blob too; later rounds race for an existing blob.
    for (let round = 1; round <= 5; round++) {
      const holderA = { trigger: 'timer', startedAt: '2026-03-02T08:00:00.000Z', runId: `a-${round}` };
      const holderB = { trigger: 'http', startedAt: '2026-03-02T08:00:00.000Z', runId: `b-${round}` };
      const attempts = await Promise.all([a.tryAcquire('raced', holderA), b.tryAcquire('raced', holderB)]);
      const winners = attempts.filter((x) => x.acquired);
      expect(winners, `round ${round}`).toHaveLength(1);
      // While the winner holds it, neither instance gets it again.
      expect((await a.tryAcquire('raced', holderA)).acquired, `round ${round}`).toBe(false);
      expect((await b.tryAcquire('raced', holderB)).acquired, `round ${round}`).toBe(false);
      await acquired(winners[0]!).release();
    }
  });

  it('keeps notes on the lock across holders (the global resync rate limit), whoever holds it next', async () => {
    const connection = { connectionString: azurite.connectionString };
    const [a, b] = await Promise.all([createBlobLeaseLocks(connection, { container: 'locks-notes' }), createBlobLeaseLocks(connection, { container: 'locks-notes' })]);
    const first = acquired(await a.tryAcquire('noted', holder));
    expect(first.notes).toEqual({});
    await first.note('lastresyncat', '2026-03-02T08:00:00.000Z');
    expect(first.notes).toEqual({ lastresyncat: '2026-03-02T08:00:00.000Z' });
    // The holder is still named while the note is there.
    const refused = await b.tryAcquire('noted', { trigger: 'timer', startedAt: '2026-03-02T08:00:30.000Z' });
    expect(refused.acquired ? undefined : refused.holder).toEqual({ ...holder, host: expect.any(String) });
    await first.release();

    const second = acquired(await b.tryAcquire('noted', { trigger: 'timer', startedAt: '2026-03-02T08:01:00.000Z' }));
    expect(second.notes).toEqual({ lastresyncat: '2026-03-02T08:00:00.000Z' });
    // Taking the lock replaces who holds it, not the notes.
    const metadata = (await service().getContainerClient('locks-notes').getBlobClient('noted').getProperties()).metadata ?? {};
    expect(metadata).toMatchObject({ trigger: 'timer', startedat: '2026-03-02T08:01:00.000Z', note_lastresyncat: '2026-03-02T08:00:00.000Z' });
    expect(metadata).not.toHaveProperty('runid');
    await second.note('lastresyncat', '2026-03-02T08:05:00.000Z');
    await second.release();
    const third = acquired(await a.tryAcquire('noted', holder));
    expect(third.notes).toEqual({ lastresyncat: '2026-03-02T08:05:00.000Z' });
    await expect(third.note('Not A Name', 'x')).rejects.toThrow(/note name/);
    await third.release();
  });

  it('does not create the container with identity-based access: says the deployment creates it', async () => {
    const container = service().getContainerClient('never-created');
    const locks = new BlobLeaseLocks(container, false);
    await expect(locks.tryAcquire('x', holder)).rejects.toThrow(/"never-created" does not exist .*infra\/main\.bicep/);
    expect(await container.exists()).toBe(false);
  });
});
