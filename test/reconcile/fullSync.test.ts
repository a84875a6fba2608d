/**
 * The full sync's decisions on their own (runFullSync with a plan writer, against the emulators): what it would
 * create, update and delete, and when it holds deletions back. End-to-end runs (test/reconcile/*.e2e.test.ts,
 * test/defects/reconcile.test.ts) show the same through runReconciliation; these read the decision itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { BlueprintPlan } from '../../shared/sync/converge/writer.js';
import { runFullSync, type SubscriptionMemory } from '../../shared/sync/reconcile/fullSync.js';
import { MINUTE, SUB_A, SUB_B, resourceId, type Harness } from './harness.js';
import { startMirrored, syncContext } from './syncContext.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function mirrored(env: Record<string, string> = {}): Promise<Harness> {
  h = await startMirrored(env);
  return h;
}

async function full(harness: Harness, memory: SubscriptionMemory = {}, options: { protectUpdatedSince?: number } = {}) {
  const ctx = await syncContext(harness, options);
  const outcome = await runFullSync(ctx, memory);
  const plan = ctx.writer.plan();
  const of = (bp: string): BlueprintPlan => plan[bp] ?? { create: [], update: [], delete: [] };
  const bps = harness.settings.port.blueprints;
  return { outcome, counts: ctx.writer.counts(), resource: of(bps.resource), resourceGroup: of(bps.resourceGroup), subscription: of(bps.subscription) };
}

const stshared = resourceId(SUB_B, 'rg-shared', 'Microsoft.Storage', 'storageAccounts', 'stshared');
const kv = resourceId(SUB_B, 'rg-shared', 'Microsoft.KeyVault', 'vaults', 'kv-shared');

describe('runFullSync', () => {
  it('a mirrored catalog: nothing to write, everything counted unchanged, the subscriptions it answers for', async () => {
    const harness = await mirrored();
    const { outcome, counts, resource } = await full(harness);
    expect(resource).toEqual({ create: [], update: [], delete: [] });
    expect(counts).toMatchObject({ created: 0, updated: 0, deleted: 0, unchanged: 13 });
    expect(outcome).toEqual({
      incompleteReasons: [],
      rejectedReasons: [],
      lostSubscriptions: {},
      knownSubscriptions: [SUB_A, SUB_B].map((s) => s.toLowerCase()).sort(),
    });
  });

  it('creates what Port lacks, updates what differs, deletes what Azure proves gone', async () => {
    const harness = await mirrored();
    const fresh = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'fresh');
    harness.arg.upsertResource({ id: fresh, location: 'westeurope' });
    const row = harness.arg.estate().resources.find((r) => r.id === stshared)!;
    harness.arg.upsertResource({ ...row, tags: { changed: 'yes' } });
    harness.arg.deleteResource(kv);
    harness.arg.advance(MINUTE);
    const { outcome, resource } = await full(harness);
    expect(resource.create).toEqual([toPortIdentifier(fresh)]);
    expect(resource.update.map((u) => u.identifier)).toEqual([toPortIdentifier(stshared)]);
    expect(resource.delete).toEqual([toPortIdentifier(kv)]);
    expect(outcome.deletionSkippedReason).toBeUndefined();
  });

  it('over DELETE_THRESHOLD: nothing deleted, and the outcome says why', async () => {
    const harness = await mirrored({ DELETE_THRESHOLD: '0.2' });
    harness.arg.deleteResource(kv);
    harness.arg.deleteResource(stshared);
    harness.arg.advance(MINUTE);
    const { outcome, resource } = await full(harness);
    expect(resource.delete).toEqual([]);
    expect(outcome.deletionSkippedReason).toMatch(/^deletion would remove 2 of 8 .* \(0\.25 > DELETE_THRESHOLD 0\.2\); no entity was deleted$/);
  });

  it('an entity Port shows as updated since the run started is never deleted (a live event re-created it)', async () => {
    const harness = await mirrored();
    harness.arg.deleteResource(kv);
    harness.arg.advance(MINUTE);
    // Port's clock is the emulator's: the entity's updatedAt is the first run's time, T0.
    const { resource } = await full(harness, {}, { protectUpdatedSince: harness.arg.now().getTime() - 2 * MINUTE });
    expect(resource.delete).toEqual([]);
    const { resource: unprotected } = await full(harness, {}, { protectUpdatedSince: harness.arg.now().getTime() });
    expect(unprotected.delete).toEqual([toPortIdentifier(kv)]);
  });

  it('a subscription whose Reader role is gone: its entities are kept, flagged as lost since now, and not deleted', async () => {
    const harness = await mirrored();
    harness.arg.revokeSubscriptions([SUB_B]);
    harness.arg.advance(MINUTE);
    // With "every readable subscription", the earlier full sync's knownSubscriptions make SUB_B ours.
    const { outcome, resource, resourceGroup, subscription } = await full(harness, { knownSubscriptions: [SUB_A, SUB_B].map((s) => s.toLowerCase()) });
    expect(resource.delete).toEqual([]);
    expect(resourceGroup.delete).toEqual([]);
    expect(subscription.delete).toEqual([]);
    expect(outcome.lostSubscriptions).toEqual({ [SUB_B.toLowerCase()]: harness.arg.now().toISOString() });
    expect(outcome.knownSubscriptions).toEqual([SUB_A, SUB_B].map((s) => s.toLowerCase()).sort());
    expect(outcome.deletionSkippedReason).toMatch(new RegExp(`${SUB_B.toLowerCase()}.*their entities were kept`));
  });

  it('a lost subscription past LOST_SUBSCRIPTION_RETENTION: its entities go, children first, and it is no longer known', async () => {
    const harness = await mirrored({ LOST_SUBSCRIPTION_RETENTION: '1d' });
    harness.arg.revokeSubscriptions([SUB_B]);
    harness.arg.advance(MINUTE);
    const since = new Date(harness.arg.now().getTime() - 25 * 60 * MINUTE).toISOString();
    const { outcome, resource, resourceGroup, subscription, counts } = await full(harness, {
      lostSubscriptions: { [SUB_B.toLowerCase()]: since },
      knownSubscriptions: [SUB_A.toLowerCase(), SUB_B.toLowerCase()],
    });
    const under = (ids: string[]) => ids.every((i) => i.startsWith(`/subscriptions/${SUB_B.toLowerCase()}`));
    expect(resource.delete).toHaveLength(3);
    expect(under(resource.delete)).toBe(true);
    expect(resourceGroup.delete).toEqual([toPortIdentifier(`/subscriptions/${SUB_B}/resourceGroups/rg-shared`)]);
    expect(subscription.delete).toEqual([toPortIdentifier(`/subscriptions/${SUB_B}`)]);
    expect(counts.deleted).toBe(5);
    expect(outcome.lostSubscriptions).toEqual({});
    expect(outcome.knownSubscriptions).toEqual([SUB_A.toLowerCase()]);
  });

  it('a subscription configured elsewhere is never touched: its entities are outside the scope', async () => {
    const harness = await mirrored();
    harness.arg.deleteResource(kv);
    harness.arg.advance(MINUTE);
    const ctx = await syncContext(harness);
    const outcome = await runFullSync({ ...ctx, scope: { ...ctx.scope, subscriptionIds: [SUB_A] } });
    const plan = ctx.writer.plan()[harness.settings.port.blueprints.resource];
    expect(plan?.delete ?? []).toEqual([]);
    expect(outcome.knownSubscriptions).toContain(SUB_A.toLowerCase());
  });
});
