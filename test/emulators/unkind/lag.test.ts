/**
 * Lag per table (test/emulators/README.md, "Lag"): each of resources, resourcecontainers, resourcechanges and
 * resourcecontainerchanges gets a fixed delay or a seeded long-tail distribution, drawn per change; a change record
 * stamped T is queryable only from T + its ingestion delay, so a window query run later finds records stamped
 * inside a window that was already read.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../../shared/azure/types.js';
import { longTailLag } from '../resourceGraph/server.js';
import { MINUTE, T0, collect, control, emulator, norm, reader } from './support.js';

const SUB = '7d2f5a31-9a6b-4e0c-8d1e-3f4a5b6c7d8e';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-lag`;
const site = (name: string) => `${RG}/providers/Microsoft.Web/sites/${name}`;
const scope = { subscriptionIds: [SUB] };

async function started(options: Parameters<typeof emulator>[0] = {}) {
  const emu = await emulator(options);
  emu.seed({ subscriptions: [{ id: `/subscriptions/${SUB}`, subscriptionId: SUB }], resourceGroups: [{ id: RG, subscriptionId: SUB }] });
  return { emu, r: reader(emu) };
}

describe('lag per table', () => {
  it('a resource group can lag a minute behind while its new resource is already visible', async () => {
    const { emu, r } = await started({ lag: { tables: { resources: 0, resourcecontainers: MINUTE } } });
    emu.upsertResourceGroup({ id: `${RG}-new` });
    emu.upsertResource({ id: `${RG}-new/providers/Microsoft.Web/sites/app` });
    const ids = [`${RG}-new`, `${RG}-new/providers/Microsoft.Web/sites/app`];
    expect([...(await r.lookupByIds(ids, scope)).keys()]).toEqual([norm(ids[1]!)]);
    emu.advance(MINUTE);
    expect([...(await r.lookupByIds(ids, scope)).keys()].sort()).toEqual(ids.map(norm).sort());
  });

  it('a change record ingested 12 minutes late is missing from its window at first, and found there later', async () => {
    const { emu, r } = await started();
    emu.setLag({ tables: { resourcechanges: 12 * MINUTE } });
    emu.upsertResource({ id: site('late') });
    // The delay is drawn when the change happens: switching back does not re-time the late record.
    emu.setLag({ tables: { resourcechanges: 0 } });
    emu.advance(MINUTE);
    emu.upsertResource({ id: site('prompt') });
    const window = { since: new Date(T0.getTime() - MINUTE), until: new Date(T0.getTime() + 5 * MINUTE) };
    const targets = async () => (await collect<ChangeRow>(r.listChanges(scope, window))).map((c) => c.targetResourceId).sort();
    expect(await targets()).toEqual([site('prompt')]);
    emu.advance(11 * MINUTE - 1);
    expect(await targets()).toEqual([site('prompt')]);
    emu.advance(1);
    expect(await targets()).toEqual([site('late'), site('prompt')]);
    // The resources table never lagged.
    expect((await r.lookupByIds([site('late')], scope)).size).toBe(1);
  });

  it('a seeded long tail: most changes within 30 s, some take minutes, the same seed gives the same delays', async () => {
    const visibleOver = async (seed: number) => {
      const { emu, r } = await started({ lag: { tables: { resourcechanges: longTailLag(seed) } } });
      for (let i = 0; i < 400; i++) emu.upsertResource({ id: site(`s${i}`) });
      const window = { since: T0, until: new Date(T0.getTime() + MINUTE) };
      const counts: number[] = [];
      for (const at of [30_000, 5 * MINUTE, 30 * MINUTE]) {
        emu.setNow(new Date(T0.getTime() + at));
        counts.push((await collect<ChangeRow>(r.listChanges(scope, window))).length);
      }
      return counts;
    };
    const [under30s = 0, under5m = 0, under30m = 0] = await visibleOver(3);
    expect(under30s).toBeGreaterThanOrEqual(360); // ≈95 %
    expect(under30s).toBeLessThan(400); // a tail exists
    expect(under5m).toBeGreaterThan(under30s);
    expect(under30m).toBe(400);
    expect(await visibleOver(3)).toEqual([under30s, under5m, under30m]);
  });

  it('the legacy shortcut still re-times every version at query time', async () => {
    const { emu, r } = await started({ lag: { resourcesMs: MINUTE } });
    emu.upsertResource({ id: site('a') });
    expect((await r.lookupByIds([site('a')], scope)).size).toBe(0);
    emu.setLag({ resourcesMs: 0 });
    expect((await r.lookupByIds([site('a')], scope)).size).toBe(1);
  });

  it('is switched at run time over HTTP, and a bad spec is refused naming the table', async () => {
    const { emu } = await started();
    const set = await control(emu, 'POST', 'lag', { tables: { resourcechanges: { kind: 'lognormal', medianMs: 10_000, sigma: 1.5, maxMs: 3_600_000, seed: 2 } } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ resourcesMs: 0, changesMs: 0, tables: { resourcechanges: { kind: 'lognormal', medianMs: 10_000 } } });
    expect((await control(emu, 'GET', 'lag')).body).toEqual(set.body);
    const bad = await control(emu, 'POST', 'lag', { tables: { resourcechanges: { kind: 'mixture', parts: [] } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/tables\.resourcechanges: mixture needs a non-empty parts array/);
    const unknown = await control(emu, 'POST', 'lag', { tables: { nope: 5 } });
    expect(unknown.body.error?.message).toMatch(/unknown table "nope"/);
    expect((await control(emu, 'POST', 'lag', { tables: { resourcechanges: null } })).body).toMatchObject({ tables: {} });
  });
});
