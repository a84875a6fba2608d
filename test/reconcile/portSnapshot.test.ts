/**
 * What a full sync knows of Port before it lists Azure (shared/sync/reconcile/portSnapshot.ts): identifier →
 * fingerprint for the entities under subscriptions in scope, a count per subscription, and the subscriptions out of
 * scope (never touched). Against the Port emulator through the real client, paged at 1000 and partitioned by the
 * subscription id's first hex digit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import { blueprintFields, fingerprint } from '../../shared/sync/converge/fingerprint.js';
import { loadPortSnapshot } from '../../shared/sync/reconcile/portSnapshot.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const S1 = '0aaaaaaa-0000-4000-8000-000000000001';
const S2 = 'f2222222-0000-4000-8000-000000000002';
const S3 = '93333333-0000-4000-8000-000000000003';

async function ready() {
  h = await startHarness();
  const ids = h.settings.port.blueprints;
  const definitions = defaultBlueprints(ids);
  await h.deps().port.ensureBlueprints(definitions);
  const fields = blueprintFields(definitions.find((d) => d.identifier === ids.resource)!);
  return { harness: h, bp: ids.resource, fields };
}

const rid = (sub: string, name: string) => toPortIdentifier(`/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Web/sites/${name}`);

describe('loadPortSnapshot', () => {
  it('fingerprints every entity under a subscription in scope, counts them per subscription, names the others', async () => {
    const { harness, bp, fields } = await ready();
    const entity = (identifier: string, tags: Record<string, string> = {}) => ({ identifier, title: identifier.split('/').pop()!, properties: { tags, location: 'westeurope' }, relations: {} });
    const inScope = [entity(rid(S1, 'a'), { t: '1' }), entity(rid(S1, 'b')), entity(rid(S2, 'c'))];
    harness.port.seed(bp, [
      ...inScope,
      entity(rid(S3, 'theirs')),
      // Not a subscription's entity: never in the snapshot, never a candidate.
      entity('azure-port-sync'),
      entity('/subscriptions/'),
    ]);
    const pages: number[] = [];
    const snapshot = await loadPortSnapshot(harness.deps().port, fields, new Set([S1, S2]), { onPage: (n) => pages.push(n) });
    expect(snapshot.blueprint).toBe(bp);
    expect([...snapshot.fingerprints.keys()].sort()).toEqual(inScope.map((e) => e.identifier).sort());
    for (const e of inScope) {
      const stored = harness.port.entity(bp, e.identifier)!;
      expect(snapshot.fingerprints.get(e.identifier)).toBe(fingerprint(stored, fields));
    }
    expect(Object.fromEntries(snapshot.countBySubscription)).toEqual({ [S1]: 2, [S2]: 1 });
    expect([...snapshot.outOfScopeSubscriptions]).toEqual([S3]);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('finds entities another tool wrote with upper-case ids, under the lower-cased subscription', async () => {
    const { harness, bp, fields } = await ready();
    const upper = `/subscriptions/${S2.toUpperCase()}/resourceGroups/RG/providers/Microsoft.Web/sites/X`;
    harness.port.seed(bp, [{ identifier: upper, properties: {}, relations: {} }]);
    const snapshot = await loadPortSnapshot(harness.deps().port, fields, new Set([S2]));
    expect([...snapshot.fingerprints.keys()]).toEqual([upper]);
    expect(Object.fromEntries(snapshot.countBySubscription)).toEqual({ [S2]: 1 });
  });

  it('pages: more than 1000 entities under one partition are all read', async () => {
    const { harness, bp, fields } = await ready();
    const many = Array.from({ length: 1203 }, (_, i) => ({ identifier: rid(S1, `n${i}`), properties: {}, relations: {} }));
    harness.port.seed(bp, many);
    const pages: number[] = [];
    const snapshot = await loadPortSnapshot(harness.deps().port, fields, new Set([S1]), { onPage: (n) => pages.push(n) });
    expect(snapshot.fingerprints.size).toBe(1203);
    expect(snapshot.countBySubscription.get(S1)).toBe(1203);
    expect(pages.filter((n) => n > 0).sort((a, b) => b - a)).toEqual([1000, 203]);
  });

  it('detailed fingerprints name fields (dry run), plain ones do not', async () => {
    const { harness, bp, fields } = await ready();
    harness.port.seed(bp, [{ identifier: rid(S1, 'a'), title: 'a', properties: { location: 'westeurope' }, relations: {} }]);
    const plain = await loadPortSnapshot(harness.deps().port, fields, new Set([S1]));
    const detailed = await loadPortSnapshot(harness.deps().port, fields, new Set([S1]), { detailed: true });
    const stored = harness.port.entity(bp, rid(S1, 'a'))!;
    expect(plain.fingerprints.get(rid(S1, 'a'))).toBe(fingerprint(stored, fields, false));
    expect(detailed.fingerprints.get(rid(S1, 'a'))).toBe(fingerprint(stored, fields, true));
    expect(detailed.fingerprints.get(rid(S1, 'a'))).not.toBe(plain.fingerprints.get(rid(S1, 'a')));
  });

  it('an empty scope holds nothing in scope; every managed entity is out of scope', async () => {
    const { harness, bp, fields } = await ready();
    harness.port.seed(bp, [{ identifier: rid(S1, 'a'), properties: {}, relations: {} }]);
    const snapshot = await loadPortSnapshot(harness.deps().port, fields, new Set());
    expect(snapshot.fingerprints.size).toBe(0);
    expect(snapshot.countBySubscription.size).toBe(0);
    expect([...snapshot.outOfScopeSubscriptions]).toEqual([S1]);
  });
});
