import { describe, expect, it } from 'vitest';
import { decideMode } from '../../shared/sync/reconcile/mode.js';
import { decideDeletions } from '../../shared/sync/reconcile/deletionGuard.js';
import { blueprintFields, canonicalJson, changedFields, fingerprint } from '../../shared/sync/converge/fingerprint.js';
import { stateIdentifierFor, subscriptionOfIdentifier } from '../../shared/sync/reconcile/scope.js';
import { stateFromEntity, stateToProperties, type SyncState } from '../../shared/sync/reconcile/state.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';

const H = 3_600_000;
const reconcile = { fullSyncIntervalMs: 24 * H, maxChangeWindowMs: 6 * 24 * H };
const now = new Date('2026-01-10T12:00:00Z');
const iso = (ms: number) => new Date(now.getTime() - ms).toISOString();
const state = (over: Partial<SyncState> = {}): SyncState => ({
  identifier: 'azure-port-sync',
  scope: 'x',
  cursor: iso(15 * 60_000),
  lastFullSyncAt: iso(2 * H),
  ...over,
});

describe('decideMode', () => {
  it('is full on the first run, without a cursor and when full is requested', () => {
    expect(decideMode(undefined, now, reconcile).mode).toBe('full');
    expect(decideMode(state({ cursor: undefined }), now, reconcile).mode).toBe('full');
    expect(decideMode(state(), now, reconcile, 'full')).toEqual({ mode: 'full', reason: 'full sync requested' });
  });
  it('is windowed when the cursor and last full sync are recent', () => {
    expect(decideMode(state(), now, reconcile).mode).toBe('window');
    expect(decideMode(state(), now, reconcile, 'window').mode).toBe('window');
  });
  it('is full when the last full sync is older than FULL_SYNC_INTERVAL', () => {
    const d = decideMode(state({ lastFullSyncAt: iso(25 * H) }), now, reconcile);
    expect(d.mode).toBe('full');
    expect(d.reason).toMatch(/FULL_SYNC_INTERVAL/);
  });
  it('is full when the cursor is older than MAX_CHANGE_WINDOW, even if a window was requested', () => {
    const d = decideMode(state({ cursor: iso(7 * 24 * H), lastFullSyncAt: iso(H) }), now, reconcile, 'window');
    expect(d.mode).toBe('full');
    expect(d.reason).toMatch(/MAX_CHANGE_WINDOW/);
  });
});

describe('decideDeletions', () => {
  const rs = (ids: string[], inScope: number) => ({ blueprint: 'res', candidates: ids, inScope });
  it('deletes in the given order when complete and under the threshold', () => {
    const d = decideDeletions({
      incompleteReasons: [],
      threshold: 0.9,
      silentSubscriptions: [],
      blueprints: [rs(['/subscriptions/a/x'], 10), { blueprint: 'rg', candidates: ['/subscriptions/a/rg'], inScope: 3 }],
    });
    expect(d.deletions.map((x) => x.blueprint)).toEqual(['res', 'rg']);
    expect(d.skippedReason).toBeUndefined();
  });
  it('deletes nothing after an incomplete run and says why', () => {
    const d = decideDeletions({ incompleteReasons: ['2 Port write(s) failed'], threshold: 0.9, silentSubscriptions: [], blueprints: [rs(['/subscriptions/a/x'], 10)] });
    expect(d.deletions).toEqual([]);
    expect(d.skippedReason).toMatch(/2 Port write\(s\) failed/);
  });
  it('deletes nothing when a blueprint would lose more than the threshold', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `/subscriptions/a/r${i}`);
    expect(decideDeletions({ incompleteReasons: [], threshold: 0.9, silentSubscriptions: [], blueprints: [rs(ids.slice(0, 9), 10)] }).deletions).toHaveLength(1);
    const d = decideDeletions({ incompleteReasons: [], threshold: 0.9, silentSubscriptions: [], blueprints: [rs(ids, 10)] });
    expect(d.deletions).toEqual([]);
    expect(d.skippedReason).toMatch(/10 of 10 res entities .*DELETE_THRESHOLD 0.9/);
  });
  it('keeps the entities of a silent subscription and deletes the rest', () => {
    const d = decideDeletions({
      incompleteReasons: [],
      threshold: 0.9,
      silentSubscriptions: ['B'],
      blueprints: [rs(['/subscriptions/a/x', '/subscriptions/b/y', '/subscriptions/b/z'], 10)],
    });
    expect(d.deletions).toEqual([{ blueprint: 'res', identifiers: ['/subscriptions/a/x'] }]);
    expect(d.skippedReason).toMatch(/subscription\(s\) b/);
  });
});

describe('fingerprint', () => {
  const fields = blueprintFields(defaultBlueprints()[2]!);
  const base = {
    identifier: '/subscriptions/s/resourcegroups/rg/providers/p/t/n',
    title: 'n',
    properties: { tags: { a: '1', b: '2' }, location: 'westeurope', kind: null },
    relations: { resourceGroup: '/subscriptions/s/resourcegroups/rg' },
  };
  it('ignores key order in tags and treats null like absent', () => {
    const reordered = { ...base, properties: { location: 'westeurope', tags: { b: '2', a: '1' } } };
    expect(fingerprint(reordered, fields)).toBe(fingerprint(base, fields));
    expect(canonicalJson({ b: 1, a: null, c: { y: 1, x: 2 } })).toBe('{"b":1,"c":{"x":2,"y":1}}');
  });
  it('ignores properties outside the blueprint but sees changes inside it', () => {
    const extra = { ...base, properties: { ...base.properties, somethingElse: 1 } };
    expect(fingerprint(extra, fields)).toBe(fingerprint(base, fields));
    const retagged = { ...base, properties: { ...base.properties, tags: { a: '1', b: '3' } } };
    expect(fingerprint(retagged, fields)).not.toBe(fingerprint(base, fields));
  });
  it('names the changed fields from detailed fingerprints', () => {
    const changed = { ...base, title: 'N2', properties: { ...base.properties, tags: { a: '1' } } };
    expect(changedFields(fingerprint(base, fields, true), fingerprint(changed, fields, true), fields)).toEqual([
      '$title',
      'properties.tags',
    ]);
  });
});

describe('scope and state', () => {
  it('derives a stable state identifier per scope', () => {
    const none = { subscriptionIds: [], managementGroupIds: [] };
    expect(stateIdentifierFor(none)).toBe('azure-port-sync');
    const a = stateIdentifierFor({ subscriptionIds: ['B', 'a'], managementGroupIds: [] });
    expect(a).toBe(stateIdentifierFor({ subscriptionIds: ['a', 'b'], managementGroupIds: [] }));
    expect(a).toMatch(/^azure-port-sync-subs-[0-9a-f]{12}$/);
    expect(stateIdentifierFor({ subscriptionIds: [], managementGroupIds: ['mg1'] })).toMatch(/^azure-port-sync-mg-/);
    expect(subscriptionOfIdentifier('/subscriptions/ABC/resourcegroups/x')).toBe('abc');
    expect(subscriptionOfIdentifier('azure-port-sync')).toBeUndefined();
  });
  it('round-trips the state through entity properties', () => {
    const s: SyncState = {
      identifier: 'azure-port-sync',
      scope: 'every readable subscription',
      cursor: '2026-01-10T12:00:00.000Z',
      lastFullSyncAt: '2026-01-10T00:00:00.000Z',
      lastRun: {
        runId: 'r1',
        mode: 'window',
        windowStart: '2026-01-10T11:35:00.000Z',
        windowEnd: '2026-01-10T12:00:00.000Z',
        startedAt: '2026-01-10T12:00:00.000Z',
        finishedAt: '2026-01-10T12:00:03.000Z',
        status: 'succeeded',
        counts: { created: 1, updated: 2, unchanged: 3, deleted: 4, failed: 0, byBlueprint: {} },
        argQueries: 2,
        portRequests: 5,
        durationMs: 3000,
      },
      pendingRequest: { mode: 'full', runId: 'r2', requestedAt: '2026-01-10T12:01:00.000Z' },
    };
    expect(stateFromEntity({ identifier: s.identifier, properties: stateToProperties(s) }, 'ignored')).toEqual(s);
  });
});
