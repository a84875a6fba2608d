/**
 * The run's progress (ReconcileDeps.onProgress, which the CLI shows): the phases that write to Port report how many
 * items they will handle, so the CLI can show a total and an ETA for them — the delete phase of a full run its
 * candidates, a window's lookups and writes its changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileProgress } from '../../shared/sync/reconcile/context.js';
import { MINUTE, SUB_A, SUB_B, resourceId, seedSmallEstate, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  seedSmallEstate(h.arg);
  expect((await h.run({ mode: 'full' })).status).toBe('succeeded');
});
afterAll(async () => {
  await h?.close();
});

async function runWithProgress(mode: 'full' | 'window'): Promise<ReconcileProgress[]> {
  const seen: ReconcileProgress[] = [];
  const summary = await h.run({ mode }, { onProgress: (p) => seen.push({ ...p }) });
  expect(summary.status).toBe('succeeded');
  return seen;
}

describe('write-phase progress carries its total', () => {
  it('a full run reports its deletions against the number of candidates, from 0 to all of them', async () => {
    h.arg.advance(MINUTE);
    h.arg.deleteResource(resourceId(SUB_A, 'RG-App', 'Microsoft.Network', 'virtualNetworks', 'vnet-app'));
    h.arg.deleteResource(resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared'));
    h.arg.advance(MINUTE);
    const deletes = (await runWithProgress('full')).filter((p) => p.phase === 'delete');
    expect(deletes.length).toBeGreaterThanOrEqual(2);
    expect(deletes.every((p) => p.total === 2)).toBe(true);
    expect(deletes[0]!.items).toBe(0);
    expect(deletes.at(-1)!.items).toBe(2);
    // Reading phases have no total of the run's own: the CLI takes Resource Graph's totalRecords for them.
    expect(h.catalog().resource).toHaveLength(6);
  });

  it('a windowed run reports its lookups and writes against the number of changes', async () => {
    h.arg.advance(MINUTE);
    h.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'cache-progress'), location: 'westeurope' });
    h.arg.upsertResource({ id: resourceId(SUB_B, 'rg-shared', 'Microsoft.KeyVault', 'vaults', 'kv-shared'), location: 'swedencentral' });
    h.arg.deleteResource(resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1'));
    h.arg.advance(15 * MINUTE);
    const seen = await runWithProgress('window');
    const writes = seen.filter((p) => p.phase === 'write');
    const lookups = seen.filter((p) => p.phase === 'lookup');
    expect(writes.length).toBeGreaterThan(0);
    expect(lookups.length).toBeGreaterThan(0);
    // The three changes made here, and the two deletions before them that the window's overlap reads again.
    const total = writes[0]!.total;
    expect(total).toBe(5);
    for (const p of [...writes, ...lookups]) expect(p.total, p.phase).toBe(total);
    expect(writes.at(-1)!.items).toBe(total);
    expect(seen.filter((p) => p.phase === 'changes').every((p) => p.total === undefined)).toBe(true);
  });
});
