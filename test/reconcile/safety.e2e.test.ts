/**
 * What must never happen, end to end against both emulators: deletions or a moved cursor after a partial run, a
 * wiped catalog after lost permission, mass deletion past the threshold; and the full-sync fallbacks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryScope, ResourceGraphApi } from '../../shared/azure/types.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { IncompleteReadError } from '../../shared/errors.js';
import { generateEstate } from '../fixtures/estate.js';
import { MINUTE, SUB_A, SUB_B, resourceId, seedSmallEstate, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;

/** The real reader, method by method, so a test can replace one behaviour of the dependency. */
function delegate(real: ResourceGraphApi): ResourceGraphApi {
  return {
    resolveScope: (o) => real.resolveScope(o),
    listSubscriptions: (s, o) => real.listSubscriptions(s, o),
    listResourceGroups: (s, o) => real.listResourceGroups(s, o),
    listResources: (s, o) => real.listResources(s, o),
    lookupByIds: (i, s, o) => real.lookupByIds(i, s, o),
    observe: (i, s, o) => real.observe(i, s, o),
    listChanges: (s, o) => real.listChanges(s, o),
    queryCount: () => real.queryCount(),
  };
}
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a run killed part-way', () => {
  it('4. leaves the state unchanged, deletes nothing, and the next run completes', async () => {
    h = await startHarness();
    const estate = generateEstate({ subscriptions: 2, resourceGroups: 6, resources: 2600, seed: 5 });
    h.arg.seed(estate);
    const first = await h.run();
    expect(first.status).toBe('succeeded');
    expect(h.catalog()).toEqual(h.expected());

    // Deletion candidates exist from here on.
    h.arg.advance(MINUTE);
    const gone = estate.resources.slice(0, 5).map((r) => r.id);
    for (const id of gone) h.arg.deleteResource(id);
    const goneIdentifiers = gone.map((id) => toPortIdentifier(id));
    h.arg.advance(MINUTE);

    // Killed by the host (abortSignal) after the first page of resources.
    const stateBefore = h.stateEntity();
    const controller = new AbortController();
    await expect(
      h.run(
        { mode: 'full', abortSignal: controller.signal },
        { onProgress: (p) => p.phase === 'resources' && p.pages >= 1 && controller.abort(new Error('host shutdown')) },
      ),
    ).rejects.toThrow();
    expect(h.stateEntity()).toEqual(stateBefore);
    const resources = h.catalog().resource;
    for (const id of goneIdentifiers) expect(resources).toContain(id);

    // A Resource Graph failure after the first page of resources (a truncated result the reader refuses).
    const real = h.deps().graph;
    const truncating: ResourceGraphApi = {
      ...delegate(real),
      listResources: async function* (scope, options) {
        let pages = 0;
        for await (const page of real.listResources(scope, options)) {
          yield page;
          if (++pages === 1) {
            throw new IncompleteReadError('Resource Graph truncated the result after 1 page', { source: 'resource-graph' });
          }
        }
      },
    };
    const broken = await h.run({ mode: 'full' }, { graph: truncating });
    expect(broken.status).toBe('failed');
    expect(broken.error).toBeDefined();
    const afterBroken = h.stateEntity()!.properties!;
    expect(afterBroken.cursor).toBe(stateBefore!.properties!.cursor);
    expect(afterBroken.lastFullSyncAt).toBe(stateBefore!.properties!.lastFullSyncAt);
    expect(afterBroken.lastRunStatus).toBe('failed');
    expect(String(afterBroken.lastError)).toMatch(/Error/);
    for (const id of goneIdentifiers) expect(h.catalog().resource).toContain(id);

    // The next run redoes the window and completes.
    h.arg.advance(MINUTE);
    const next = await h.run();
    expect(next.mode).toBe('window');
    expect(next.status).toBe('succeeded');
    expect(next.counts.deleted).toBe(5);
    expect(h.catalog()).toEqual(h.expected());
    expect(h.stateEntity()!.properties!.cursor).toBe(h.arg.now().toISOString());
  });
});

describe('5. Resource Graph returning nothing for a subscription', () => {
  it('keeps its entities when an explicitly configured subscription is no longer readable, and records why', async () => {
    h = await startHarness({ AZURE_SUBSCRIPTION_IDS: `${SUB_A},${SUB_B}` });
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.catalog();
    h.arg.setReadableSubscriptions([SUB_A]);
    h.arg.advance(MINUTE);
    const summary = await h.run({ mode: 'full' });
    expect(summary.status).toBe('succeeded');
    expect(h.catalog()).toEqual(before);
    expect(String(h.stateEntity()!.properties!.deletionSkippedReason)).toContain(SUB_B);
  });

  it('keeps them with the default scope too (every readable subscription)', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.catalog();
    h.arg.setReadableSubscriptions([SUB_A]);
    h.arg.advance(MINUTE);
    await h.run({ mode: 'full' });
    expect(h.catalog()).toEqual(before);
    expect(String(h.stateEntity()!.properties!.deletionSkippedReason)).toContain(SUB_B);
  });

  it('keeps them when the subscription is in scope but no query returns a single row for it', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.catalog();
    // Between resolving the scope and reading it the identity loses access to SUB_B: in scope, but silent.
    const real = h.deps().graph;
    const graph: ResourceGraphApi = {
      ...delegate(real),
      resolveScope: async (o) => {
        const scope: QueryScope = await real.resolveScope(o);
        h!.arg.setReadableSubscriptions([SUB_A]);
        return scope;
      },
    };
    // Something in SUB_A really is gone, and must still be deleted.
    const removed = resourceId(SUB_A, 'RG-App', 'Microsoft.Network', 'virtualNetworks', 'vnet-app');
    h.arg.deleteResource(removed);
    h.arg.advance(MINUTE);
    const summary = await h.run({ mode: 'full' }, { graph });
    expect(summary.status).toBe('succeeded');
    expect(h.catalog().resource).toEqual(before.resource.filter((id) => id !== toPortIdentifier(removed)));
    expect(h.catalog().subscription).toEqual(before.subscription);
    expect(String(h.stateEntity()!.properties!.deletionSkippedReason)).toMatch(new RegExp(`returned nothing .*${SUB_B}`));
  });
});

describe('guards and fallbacks', () => {
  it('6. a cursor gap longer than MAX_CHANGE_WINDOW gives a full run', async () => {
    h = await startHarness({ FULL_SYNC_INTERVAL: '30d', MAX_CHANGE_WINDOW: '1h', CHANGE_WINDOW_OVERLAP: '15m' });
    seedSmallEstate(h.arg);
    await h.run();
    h.arg.advance(10 * MINUTE);
    const removed = resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared');
    h.arg.deleteResource(removed);
    h.arg.advance(30 * MINUTE);
    expect((await h.run()).mode).toBe('window');
    h.arg.advance(2 * 60 * MINUTE);
    h.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'late') });
    const summary = await h.run();
    expect(summary.mode).toBe('full');
    expect(summary.modeReason).toMatch(/MAX_CHANGE_WINDOW/);
    expect(summary.status).toBe('succeeded');
    expect(h.catalog()).toEqual(h.expected());
  });

  it('changes Resource Graph shows late are picked up by the next window thanks to the overlap', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    h.arg.setLag({ resourcesMs: 3 * MINUTE, changesMs: 2 * MINUTE });
    h.arg.advance(MINUTE);
    const late = resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'lagging');
    const created = h.arg.now();
    h.arg.upsertResource({ id: late });
    h.arg.advance(MINUTE);
    // The change record is not visible yet: this window sees nothing, yet the cursor moves on.
    const first = await h.run();
    expect(first.status).toBe('succeeded');
    expect(first.changes).toBe(0);
    h.arg.advance(90_000);
    // Now the change record is visible but the resource row is not: nothing is deleted, nothing invented.
    const second = await h.run();
    expect(second.notVisible).toBe(1);
    expect(h.catalog().resource).not.toContain(toPortIdentifier(late));
    h.arg.advance(5 * MINUTE);
    const third = await h.run();
    expect(Date.parse(third.window.start!)).toBeLessThanOrEqual(created.getTime());
    expect(h.catalog().resource).toContain(toPortIdentifier(late));
    expect(h.catalog()).toEqual(h.expected());
  });

  it('a run that cannot read its state fails without touching the state', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.stateEntity();
    h.arg.advance(MINUTE);
    // Exactly the attempts of the first read (PORT_RETRY_MAX_ATTEMPTS=2): later reads would succeed.
    h.port.setFaults({ next: [{ route: '/entities/azure-port-sync', status: 503, count: 2 }] });
    const summary = await h.run();
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/503/);
    h.port.clearFaults();
    expect(h.stateEntity()).toEqual(before);
  });

  it('respects the deletion threshold and records the skip', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.catalog();
    for (const r of h.arg.estate().resources) h.arg.deleteResource(r.id);
    h.arg.advance(MINUTE);
    const summary = await h.run({ mode: 'full' });
    expect(summary.counts.deleted).toBe(0);
    expect(h.catalog().resource).toEqual(before.resource);
    expect(String(h.stateEntity()!.properties!.deletionSkippedReason)).toMatch(/8 of 8 .* DELETE_THRESHOLD 0.9/);
  });

  it('deletes within the threshold in a full run, children before their group', async () => {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    h.arg.deleteResourceGroup(`/subscriptions/${SUB_A}/resourcegroups/rg-data`);
    h.arg.advance(MINUTE);
    const summary = await h.run({ mode: 'full' });
    expect(summary.status).toBe('succeeded');
    expect(summary.counts.deleted).toBe(3);
    expect(h.catalog()).toEqual(h.expected());
    const deletes = h.port.requests.filter((r) => r.kind === 'delete').map((r) => r.decodedPath);
    const bps = h.settings.port.blueprints;
    expect(deletes.findIndex((p) => p.includes(`/${bps.resource}/`))).toBeLessThan(deletes.findIndex((p) => p.includes(`/${bps.resourceGroup}/`)));
  });

  /** One changed resource (stapp1) and one deleted (app-shared) since the first run; the change is in the window. */
  async function changedEstate(): Promise<{ removed: string; changed: string; cursorBefore: unknown; fullBefore: unknown }> {
    h = await startHarness();
    seedSmallEstate(h.arg);
    await h.run();
    const before = h.stateEntity()!.properties!;
    const removed = resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared');
    const changed = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1');
    h.arg.deleteResource(removed);
    h.arg.upsertResource({ id: changed, tags: { team: 'z' } });
    h.arg.advance(MINUTE);
    return { removed, changed, cursorBefore: before.cursor, fullBefore: before.lastFullSyncAt };
  }

  const resourceBulk = () => new RegExp(`^POST /v1/blueprints/${h!.settings.port.blueprints.resource}/entities/bulk$`);

  it('an entity Port rejects in a full run: counted as failed, deletions skipped, yet it counts as the last full sync', async () => {
    const { removed, changed } = await changedEstate();
    h!.port.setFaults({ next: [{ route: resourceBulk(), status: 422, error: 'invalid_request', message: 'tags must be flat', count: 1 }] });
    const summary = await h!.run({ mode: 'full' });
    const rejected = h!.port.requests.find((r) => r.status === 422)!;
    const traceId = rejected.responseHeaders['x-trace-id'];
    expect(summary.status).toBe('partial');
    expect(summary.counts.failed).toBe(1);
    expect(summary.counts.deleted).toBe(0);
    expect(summary.incompleteReasons).toEqual([]);
    expect(summary.failures).toEqual([expect.objectContaining({ identifier: toPortIdentifier(changed), permanent: true, traceId })]);
    expect(h!.catalog().resource).toContain(toPortIdentifier(removed));
    // Logged with Port's trace id.
    const logged = h!.logs.records.find((r) => r.message === 'Port upsert failed')!;
    expect(logged.fields).toMatchObject({ identifier: toPortIdentifier(changed), traceId, permanent: true });

    const state = h!.stateEntity()!.properties!;
    expect(state.cursor).toBe(h!.arg.now().toISOString());
    expect(state.lastFullSyncAt).toBe(h!.arg.now().toISOString());
    expect(state.lastRunStatus).toBe('partial');
    expect(String(state.deletionSkippedReason)).toMatch(/1 Port write\(s\) failed permanently/);
    expect(String(state.lastError)).toContain(traceId);
    expect(String(state.lastError)).toContain('tags must be flat');

    // The next tick is an ordinary window (not another full run); its overlap re-applies both changes.
    h!.arg.advance(MINUTE);
    const next = await h!.run();
    expect(next.mode).toBe('window');
    expect(next.status).toBe('succeeded');
    expect(h!.catalog()).toEqual(h!.expected());
    expect(h!.port.entity(h!.settings.port.blueprints.resource, toPortIdentifier(changed))?.properties?.tags).toEqual({ team: 'z' });
  });

  it('a retryable Port failure in a full run (5xx after every attempt) skips deletions and holds the cursor', async () => {
    const { removed, cursorBefore, fullBefore } = await changedEstate();
    // PORT_RETRY_MAX_ATTEMPTS is 2 in the harness.
    h!.port.setFaults({ next: [{ route: resourceBulk(), status: 503, count: 2 }] });
    const summary = await h!.run({ mode: 'full' });
    expect(summary.status).toBe('partial');
    expect(summary.counts.failed).toBe(1);
    expect(summary.counts.deleted).toBe(0);
    expect(summary.incompleteReasons).toEqual([expect.stringMatching(/1 Port write\(s\) failed and may succeed on retry/)]);
    expect(summary.failures[0]).toMatchObject({ permanent: false, traceId: expect.any(String) });
    expect(h!.catalog().resource).toContain(toPortIdentifier(removed));
    const state = h!.stateEntity()!.properties!;
    expect(state.cursor).toBe(cursorBefore);
    expect(state.lastFullSyncAt).toBe(fullBefore);
    expect(String(state.deletionSkippedReason)).toMatch(/may succeed on retry/);
    expect(String(state.lastError)).toMatch(/503/);

    // Once Port accepts writes again the next run (windowed: the cursor did not move) repairs everything.
    h!.arg.advance(MINUTE);
    const next = await h!.run();
    expect(next.mode).toBe('window');
    expect(next.status).toBe('succeeded');
    expect(h!.catalog()).toEqual(h!.expected());
  });

  it('in a windowed run, a rejected entity lets the cursor advance and a retryable failure holds it', async () => {
    await changedEstate();
    h!.port.setFaults({ next: [{ route: resourceBulk(), status: 422, error: 'invalid_request', message: 'rejected', count: 1 }] });
    const rejected = await h!.run();
    expect(rejected.mode).toBe('window');
    expect(rejected.status).toBe('partial');
    expect(rejected.counts.failed).toBe(1);
    // Deletes from the window's own Delete rows are unaffected by an unrelated rejected upsert.
    expect(rejected.counts.deleted).toBe(1);
    expect(h!.stateEntity()!.properties!.cursor).toBe(h!.arg.now().toISOString());
    expect(String(h!.stateEntity()!.properties!.lastError)).toMatch(/failed permanently/);

    h!.arg.advance(MINUTE);
    const heldCursor = h!.stateEntity()!.properties!.cursor;
    h!.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'held'), tags: { a: '1' } });
    h!.arg.advance(MINUTE);
    h!.port.setFaults({ next: [{ route: resourceBulk(), status: 429, retryAfterSeconds: 0, count: 2 }] });
    const throttled = await h!.run();
    expect(throttled.status).toBe('partial');
    expect(throttled.incompleteReasons).toHaveLength(1);
    expect(h!.stateEntity()!.properties!.cursor).toBe(heldCursor);

    h!.arg.advance(MINUTE);
    expect((await h!.run()).status).toBe('succeeded');
    expect(h!.catalog()).toEqual(h!.expected());
  });
});
