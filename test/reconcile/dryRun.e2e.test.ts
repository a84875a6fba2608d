/**
 * 7. A dry run writes nothing, and its plan is exactly what the real run then does (full and windowed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';
import { MINUTE, SUB_A, SUB_B, resourceId, seedSmallEstate, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** What the real run sent to Port, per blueprint: identifiers upserted and deleted. */
function writesOf(harness: Harness): Record<string, { upserted: string[]; deleted: string[] }> {
  const out: Record<string, { upserted: string[]; deleted: string[] }> = {};
  for (const r of harness.port.requests) {
    const m = /^\/v1\/blueprints\/([^/]+)\//.exec(r.decodedPath);
    if (!m || m[1] === harness.settings.port.blueprints.state || r.status >= 300) continue;
    if (r.kind !== 'bulkUpsert' && r.kind !== 'delete') continue;
    const bucket = (out[m[1]!] ??= { upserted: [], deleted: [] });
    const body = r.body as { entities?: ({ identifier: string } | string)[] };
    if (r.kind === 'bulkUpsert') bucket.upserted.push(...(body.entities ?? []).map((e) => (e as { identifier: string }).identifier));
    if (r.kind === 'delete') bucket.deleted.push(...(body.entities ?? []).map((e) => String(e)));
  }
  for (const b of Object.values(out)) {
    b.upserted.sort();
    b.deleted.sort();
  }
  return out;
}

function planned(summary: RunSummary): Record<string, { upserted: string[]; deleted: string[] }> {
  const out: Record<string, { upserted: string[]; deleted: string[] }> = {};
  for (const [bp, p] of Object.entries(summary.plan ?? {})) {
    out[bp] = { upserted: [...p.create, ...p.update.map((u) => u.identifier)].sort(), deleted: [...p.delete].sort() };
  }
  return out;
}

function makeChanges(harness: Harness): { tagged: string } {
  harness.arg.advance(MINUTE);
  harness.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'cache-new'), tags: { a: '1' } });
  const tagged = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1');
  harness.arg.upsertResource({ id: tagged, location: 'westeurope', tags: { cost: '1', team: 'x' } });
  harness.arg.deleteResource(resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared'));
  harness.arg.deleteResourceGroup(`/subscriptions/${SUB_A}/resourcegroups/rg-data`);
  harness.arg.advance(2 * MINUTE);
  return { tagged };
}

describe.each(['full', 'window'] as const)('--dry-run (%s)', (mode) => {
  it('writes nothing and plans exactly what the real run then does', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const { tagged } = makeChanges(h);

    h.port.clearRequests();
    const stateBefore = h.stateEntity();
    const catalogBefore = h.catalog();
    const dry = await h.run({ mode, dryRun: true });
    expect(dry.status).toBe('planned');
    expect(dry.mode).toBe(mode);
    expect(h.port.requests.filter((r) => r.kind === 'bulkUpsert' || r.kind === 'delete' || r.method !== 'POST' && r.method !== 'GET')).toEqual([]);
    expect(h.stateEntity()).toEqual(stateBefore);
    expect(h.catalog()).toEqual(catalogBefore);

    const resourcePlan = dry.plan![h.settings.port.blueprints.resource]!;
    expect(resourcePlan.create).toEqual([toPortIdentifier(resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'cache-new'))]);
    expect(resourcePlan.update).toEqual([{ identifier: toPortIdentifier(tagged), fields: ['properties.tags'] }]);
    expect(resourcePlan.delete).toHaveLength(3);

    h.port.clearRequests();
    const real = await h.run({ mode });
    expect(real.status).toBe('succeeded');
    expect(writesOf(h)).toEqual(planned(dry));
    for (const key of ['created', 'updated', 'deleted'] as const) expect(real.counts[key]).toBe(dry.counts[key]);
    expect(h.catalog()).toEqual(h.expected());
  });
});
