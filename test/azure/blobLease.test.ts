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

  it('does not create the container with identity-based access: says the deployment creates it', async () => {
    const container = service().getContainerClient('never-created');
    const locks = new BlobLeaseLocks(container, false);
    await expect(locks.tryAcquire('x', holder)).rejects.toThrow(/"never-created" does not exist .*infra\/main\.bicep/);
    expect(await container.exists()).toBe(false);
  });
});
