/**
 * One reconciliation at a time per scope, whoever starts it (the timer, POST /api/resync, the CLI) and on whatever
 * instance: a blob lease in the app's storage account (shared/azure/blobLease.ts), taken before any Port or
 * Resource Graph call and released when the run ends, fails or is aborted.
 *
 * The lock's name is derived from what a run writes: the Port API (organisation region), the four blueprints and
 * the Azure scope (the state entity's identifier). Two apps, or an app and a CLI, that sync different scopes never
 * block each other; two that would write the same entities always do.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { LockHolder, RunLocks } from '../../azure/blobLease.js';
import type { Logger } from '../../log.js';
import type { BlobConnection, Settings } from '../../settings.js';
import { stateIdentifierFor } from './scope.js';

/** Created by infra/main.bicep (the app's role is scoped to it); created on first use with a connection string. */
export const RUN_LOCK_CONTAINER = 'azure-port-sync-locks';

export type RunLockScope = {
  port: Pick<Settings['port'], 'apiUrl' | 'blueprints'>;
  azure: Pick<Settings['azure'], 'subscriptionIds' | 'managementGroupIds'>;
};

/** `reconcile-<hash>`: stable across restarts and instances, independent of setting order and casing. */
export function runLockName(scope: RunLockScope): string {
  const b = scope.port.blueprints;
  const key = JSON.stringify([
    new URL(scope.port.apiUrl).origin.toLowerCase(),
    b.subscription,
    b.resourceGroup,
    b.resource,
    b.state,
    stateIdentifierFor(scope.azure),
  ]);
  return `reconcile-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export function lockHolder(trigger: string, runId?: string): LockHolder {
  return { trigger, startedAt: new Date().toISOString(), host: hostname(), ...(runId ? { runId } : {}) };
}

/** "a timer run started 2026-03-02T08:00:00Z on host-1 (run 1234…)": who is in the way, for messages. */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another run (its details could not be read)';
  const run = holder.runId ? ` (run ${holder.runId})` : '';
  const host = holder.host ? ` on ${holder.host}` : '';
  return `a ${holder.trigger} run started ${holder.startedAt}${host}${run}`;
}

const locksByConnection = new Map<string, Promise<RunLocks>>();

/** The lock service for a storage connection, one per process and connection. */
export function runLocksFor(storage: BlobConnection, logger: Logger): Promise<RunLocks> {
  const key = JSON.stringify(storage);
  let locks = locksByConnection.get(key);
  if (!locks) {
    locks = import('../../azure/blobLease.js').then(({ createBlobLeaseLocks }) =>
      createBlobLeaseLocks(storage, { container: RUN_LOCK_CONTAINER, logger }),
    );
    locks.catch(() => locksByConnection.delete(key));
    locksByConnection.set(key, locks);
  }
  return locks;
}
