/**
 * Reproductions of reconciliation's defects from issue #10 §1 (and §3's deep-merging Port), through
 * runReconciliation (test/reconcile/harness.ts) against the emulators in their unkind modes. Each asserts what a
 * user expects; each failed on the product before the convergence core (committed as `it.fails` then, flipped when it
 * landed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeResourceId } from '../../shared/azure/resourceId.js';
import { writeEvent } from '../events/samples.js';
import { MINUTE, SUB_A, T0, resourceId, seedSmallEstate, startHarness, type Harness } from '../reconcile/harness.js';
import { entityFor, eventPathFor } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function mirroredSmallEstate(): Promise<Harness> {
  h = await startHarness();
  seedSmallEstate(h.arg);
  const first = await h.run();
  expect(first).toMatchObject({ mode: 'full', status: 'succeeded' });
  expect(h.catalog()).toEqual(h.expected());
  return h;
}

/** The small estate's resource ids in Resource Graph's paging order. */
const pagingOrder = (harness: Harness) => harness.arg.estate().resources.map((r) => r.id).sort((a, b) => (normalizeResourceId(a) < normalizeResourceId(b) ? -1 : 1));
const resourceBlueprint = (harness: Harness) => harness.settings.port.blueprints.resource;

describe('issue #10 §1: reconciliation', () => {
  // failed before the convergence core (issue #10 §1.2)
  it('defect 10.2: a full sync never deletes a live resource that Resource Graph paging skipped', async () => {
    const harness = await mirroredSmallEstate();
    const order = pagingOrder(harness);
    // Pages of 3; right after page 1 the first resource is deleted in Azure, so offset paging skips order[3].
    harness.arg.setPaging({ mode: 'offset', maxRowsPerPage: 3, churn: [{ afterPage: 1, table: 'resources', changes: [{ op: 'deleteResource', id: order[0]! }] }] });
    await harness.run({ mode: 'full' });
    expect(harness.arg.estate().resources.map((r) => r.id)).toContain(order[3]);
    expect(entityFor(harness.port, resourceBlueprint(harness), order[3]!)).toBeDefined();
  });

  // failed before the convergence core (issue #10 §1.6)
  it('defect 10.6: a full sync keeps a resource re-created (and upserted by the real-time path) after the listing passed it', async () => {
    h = await startHarness();
    const harness = h;
    seedSmallEstate(harness.arg);
    // Sorts before every other resource ("a.a" < "microsoft.*"), so the listing has passed it by page 3.
    const early = resourceId(SUB_A, 'RG-App', 'A.A', 'things', 'early');
    harness.arg.upsertResource({ id: early, location: 'westeurope' });
    expect(await harness.run()).toMatchObject({ mode: 'full', status: 'succeeded' });
    expect(entityFor(harness.port, resourceBlueprint(harness), early)).toBeDefined();

    // Deleted in Azure just before the run (its delete event still queued), then re-created while the run lists
    // resources; the real-time path upserts it before the listing's last page comes back.
    harness.arg.deleteResource(early);
    harness.arg.advance(MINUTE);
    const events = eventPathFor(harness);
    let recreated: string | undefined;
    harness.arg.setPaging({ maxRowsPerPage: 3 });
    harness.arg.setPageHook(async ({ table, page }) => {
      if (table !== 'resources' || page !== 3 || recreated) return;
      harness.arg.advance(5_000); // time passes during the run (the run's clock is the emulator's manual clock)
      harness.arg.upsertResource({ id: early, location: 'westeurope', tags: { v: '2' } });
      recreated = (await events.processor.handle(writeEvent({ resourceId: early, eventTime: harness.arg.now() }))).status;
    });
    try {
      await harness.run({ mode: 'full' });
    } finally {
      harness.arg.setPageHook(undefined);
      await events.close();
    }
    expect(recreated).toBe('upserted');
    expect(entityFor(harness.port, resourceBlueprint(harness), early)?.properties?.['tags']).toEqual({ v: '2' });
  });

  // failed before the convergence core (issue #10 §1.7)
  it('defect 10.7: a change record ingested 12 minutes late still converges by a later window', async () => {
    const harness = await mirroredSmallEstate(); // full sync at T0: cursor T0
    harness.arg.advance(4 * MINUTE);
    const late = resourceId(SUB_A, 'rg-data', 'Microsoft.Web', 'sites', 'late-app');
    // Resource Graph's resources table shows it at once; its change record is ingested 12 minutes after its timestamp.
    harness.arg.setLag({ tables: { resourcechanges: 12 * MINUTE } });
    harness.arg.upsertResource({ id: late, location: 'westeurope' });
    harness.arg.setLag({ tables: { resourcechanges: null } });
    for (const at of [15, 30, 45, 60]) {
      harness.arg.setNow(new Date(T0.getTime() + at * MINUTE));
      expect(await harness.run()).toMatchObject({ mode: 'window', status: 'succeeded' });
    }
    expect(entityFor(harness.port, resourceBlueprint(harness), late)).toBeDefined();
  });

  // fails until the convergence core lands (issue #10 §3: "under which the product must still converge")
  it('issue #10 §3: with a deep-merging Port, a removed tag is cleared and the next run writes nothing', async () => {
    const harness = await mirroredSmallEstate();
    harness.port.setMergeDepth('deep');
    const order = pagingOrder(harness);
    const tagged = harness.arg.estate().resources.find((r) => Object.keys(r.tags ?? {}).length > 1) ?? harness.arg.estate().resources.find((r) => r.id === order[0])!;
    const [kept, ...removed] = Object.entries(tagged.tags ?? { team: 'a', cost: '1' });
    expect(removed.length).toBeGreaterThan(0);
    harness.arg.upsertResource({ ...tagged, tags: Object.fromEntries([kept!]) });
    harness.arg.advance(MINUTE);
    await harness.run();
    expect(entityFor(harness.port, resourceBlueprint(harness), tagged.id)?.properties?.['tags']).toEqual(Object.fromEntries([kept!]));
    harness.arg.advance(MINUTE);
    harness.port.clearRequests();
    await harness.run({ mode: 'full' });
    expect(harness.catalogWrites()).toBe(0);
  });
});

describe('issue #10 §2: moves, lost subscriptions and a failing full sync', () => {
  it('a move between groups converges by the next window: the old id goes, the new one comes', async () => {
    const harness = await mirroredSmallEstate();
    const [first] = pagingOrder(harness);
    const source = first!.split('/providers/')[0]!;
    const target = `/subscriptions/${SUB_A}/resourceGroups/rg-move-target`;
    harness.arg.upsertResourceGroup({ id: target });
    const to = harness.arg.moveResources(source, [first!], target)[0]!.to;
    harness.arg.advance(15 * MINUTE);
    const window = await harness.run();
    expect(window).toMatchObject({ mode: 'window', status: 'succeeded' });
    expect(entityFor(harness.port, resourceBlueprint(harness), first!)).toBeUndefined();
    expect(entityFor(harness.port, resourceBlueprint(harness), to)).toBeDefined();
    expect(harness.catalog()).toEqual(harness.expected());
  });

  it('a subscription that disappears is kept and flagged, then removed after LOST_SUBSCRIPTION_RETENTION', async () => {
    h = await startHarness({ LOST_SUBSCRIPTION_RETENTION: '2d', FULL_SYNC_INTERVAL: '1d' });
    seedSmallEstate(h.arg);
    expect(await h.run()).toMatchObject({ mode: 'full', status: 'succeeded' });
    const lost = SUB_A.toLowerCase();
    const inLost = () => h!.catalog().resource.filter((id) => id.startsWith(`/subscriptions/${lost}/`));
    const before = inLost().length;
    expect(before).toBeGreaterThan(0);
    h.arg.revokeSubscriptions([SUB_A]);

    h.arg.advance(25 * 60 * MINUTE);
    const kept = await h.run();
    expect(kept.mode).toBe('full');
    expect(inLost()).toHaveLength(before);
    const subscriptionEntity = h.port.entity(h.settings.port.blueprints.subscription, `/subscriptions/${lost}`);
    expect(subscriptionEntity?.properties?.['notVisibleSince']).toBe(h.arg.now().toISOString());
    expect(h.stateEntity()?.properties?.['lostSubscriptions']).toEqual({ [lost]: h.arg.now().toISOString() });

    h.arg.advance(25 * 60 * MINUTE);
    await h.run();
    expect(inLost()).toHaveLength(before); // 25 h lost: within the 2 d retention

    h.arg.advance(25 * 60 * MINUTE);
    const removed = await h.run();
    expect(removed.mode).toBe('full');
    expect(inLost()).toEqual([]);
    expect(h.port.entity(h.settings.port.blueprints.subscription, `/subscriptions/${lost}`)).toBeUndefined();
    expect(h.stateEntity()?.properties?.['lostSubscriptions']).toBeFalsy();
  });

  it('a subscription that comes back before the retention loses its flag', async () => {
    h = await startHarness({ FULL_SYNC_INTERVAL: '1d' });
    seedSmallEstate(h.arg);
    await h.run();
    h.arg.revokeSubscriptions([SUB_A]);
    h.arg.advance(25 * 60 * MINUTE);
    await h.run();
    h.arg.grantSubscriptions([SUB_A]);
    h.arg.advance(25 * 60 * MINUTE);
    await h.run();
    const subscriptionEntity = h.port.entity(h.settings.port.blueprints.subscription, `/subscriptions/${SUB_A.toLowerCase()}`);
    expect(subscriptionEntity?.properties?.['notVisibleSince'] ?? null).toBeNull();
    expect(h.stateEntity()?.properties?.['lostSubscriptions']).toBeFalsy();
    expect(h.catalog()).toEqual(h.expected());
  });

  it('a full sync that keeps failing does not stop the windows; it is retried with backoff', async () => {
    h = await startHarness({ FULL_SYNC_INTERVAL: '1h' });
    seedSmallEstate(h.arg);
    expect(await h.run()).toMatchObject({ mode: 'full', status: 'succeeded' });
    h.arg.advance(61 * MINUTE);
    // Every listing of resources fails from now on; by-id reads and change tables still work.
    h.arg.setPaging({ mode: 'keyset', maxRowsPerPage: null, churnPerPage: null });
    h.arg.setPageHook(async ({ query }) => {
      if (/^resources\s*\n\| project/m.test(query)) throw new Error('listing unavailable');
    });
    const failed = await h.run();
    expect(failed.mode).toBe('full');
    expect(failed.status).toBe('failed');
    const state = () => h!.stateEntity()!.properties!;
    expect(state()['fullSyncFailures']).toBe(1);
    const retryAt = Date.parse(String(state()['fullSyncRetryAt']));
    expect(retryAt).toBe(h.arg.now().getTime() + 30 * MINUTE);

    h.arg.advance(15 * MINUTE);
    const app = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'made-while-full-fails');
    h.arg.upsertResource({ id: app });
    h.arg.advance(MINUTE);
    const window = await h.run();
    expect(window.mode).toBe('window');
    expect(window.modeReason).toMatch(/next attempt at/);
    expect(entityFor(h.port, resourceBlueprint(h), app)).toBeDefined();

    h.arg.advance(20 * MINUTE);
    h.arg.setPageHook(undefined);
    const retried = await h.run();
    expect(retried).toMatchObject({ mode: 'full', status: 'succeeded' });
    expect(state()['fullSyncFailures'] ?? null).toBeNull();
  });
});

describe('issue #10 §1.2 on the first full sync: a row the paging skipped is never lost', () => {
  it('a listing that shifted while paged does not count as a completed full sync; the retry creates the skipped resource', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    const order = pagingOrder(h);
    h.arg.setPaging({ mode: 'offset', maxRowsPerPage: 3, churn: [{ afterPage: 1, table: 'resources', changes: [{ op: 'deleteResource', id: order[0]! }] }] });
    const first = await h.run();
    expect(first.mode).toBe('full');
    expect(first.status).toBe('partial');
    expect(first.rejectedReasons.join(' ')).toMatch(/listing changed while it was paged/);
    // The skipped resource is live in Azure but missing from Port, and no change record will ever name it.
    expect(entityFor(h.port, resourceBlueprint(h), order[3]!)).toBeUndefined();
    const state = () => h!.stateEntity()!.properties!;
    expect(state()['lastFullSyncAt'] ?? null).toBeNull();
    expect(state()['fullSyncFailures']).toBe(1);

    h.arg.setPaging({ mode: 'keyset', maxRowsPerPage: null, churnPerPage: null });
    h.arg.advance(15 * MINUTE);
    expect((await h.run()).mode).toBe('window'); // windows go on while the full sync backs off
    h.arg.advance(16 * MINUTE);
    const retried = await h.run();
    expect(retried).toMatchObject({ mode: 'full', status: 'succeeded' });
    expect(entityFor(h.port, resourceBlueprint(h), order[3]!)).toBeDefined();
    expect(h.catalog()).toEqual(h.expected());
  });
});
