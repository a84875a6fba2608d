/**
 * Ordering and Resource Graph lag: out-of-order, duplicated and delayed delivery, with the emulator serving stale
 * reads, must converge to Azure's final state within the settle time.
 *
 * Two runs of the same argument:
 * - scaled down in real time (lag 2 s, settle 3 s, real delayed queue messages);
 * - the documented numbers (lag 60 s, settle 90 s) on the emulator's manual clock: re-checks are held by a virtual
 *   scheduler and released into the real queue when the clock reaches their due time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { BP, createRig, startServices, type Rig, type Services } from './harness.js';
import { deleteEvent, sampleEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const SUB_ID = `/subscriptions/${SUB}`;

function tagsOf(services: Services, id: string): unknown {
  return services.port.entity(BP.resource, toPortIdentifier(id))?.properties?.['tags'];
}

/** Port's resource entities equal Resource Graph's true (lag-free) resources under `rg`, tags included. */
function expectMirror(services: Services, rg: string): void {
  const prefix = `${rg.toLowerCase()}/`;
  const truth = services.arg
    .rows()
    .filter((r) => r.id.toLowerCase().startsWith(prefix))
    .map((r) => [toPortIdentifier(r.id), r.tags ?? {}] as const)
    .sort();
  const catalog = services.port
    .entities(BP.resource)
    .filter((e) => e.identifier.startsWith(toPortIdentifier(rg) + '/'))
    .map((e) => [e.identifier, e.properties?.['tags'] ?? {}] as const)
    .sort();
  expect(catalog).toEqual(truth);
}

describe('scaled down, real time: lag 2 s, settle 3 s', () => {
  let services: Services;
  let rig: Rig;
  beforeAll(async () => {
    services = await startServices();
    services.arg.upsertSubscription({ id: SUB_ID });
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
    await services?.close();
  });

  it('out-of-order, duplicated and delayed events converge within the settle time', async () => {
    const settleMs = 3_000;
    rig = await createRig(services, { subscriptionIds: [SUB], settleTimeMs: settleMs, flushWindowMs: 30 });
    const rg = `${SUB_ID}/resourceGroups/rg-order`;
    const [x, y, z, w] = ['x', 'y', 'z', 'w'].map((n) => `${rg}/providers/Microsoft.Web/sites/${n}`) as [string, string, string, string];
    // seed() stores rows as given: like real rows they need subscriptionId to be in a subscription-scoped query.
    services.arg.seed({
      resourceGroups: [{ id: rg, location: 'westeurope', subscriptionId: SUB }],
      resources: [
        { id: y, location: 'westeurope', subscriptionId: SUB, tags: { v: 'y0' } },
        { id: w, location: 'westeurope', subscriptionId: SUB, tags: { v: 'w0' } },
      ],
    });
    services.port.seed(BP.resource, [
      { identifier: toPortIdentifier(y), properties: { tags: { v: 'y0' } }, relations: {} },
      { identifier: toPortIdentifier(w), properties: { tags: { v: 'w0' } }, relations: {} },
    ]);
    services.arg.setLag({ resourcesMs: 2_000 });

    // What happened in Azure, in order (each change stamped on the emulator clock).
    const at = (offsetMs: number) => new Date(services.arg.now().getTime() + offsetMs);
    const t0 = at(0);
    services.arg.upsertResource({ id: x, location: 'westeurope', tags: { v: 'x1' } });
    const tX1 = at(0);
    await new Promise((r) => setTimeout(r, 20));
    services.arg.upsertResource({ id: x, location: 'westeurope', tags: { v: 'x2' } });
    const tX2 = at(0);
    services.arg.deleteResource(y);
    const tY = at(0);
    services.arg.upsertResource({ id: z, location: 'westeurope' });
    const tZ1 = at(0);
    await new Promise((r) => setTimeout(r, 20));
    services.arg.deleteResource(z);
    const tZ2 = at(0);
    services.arg.deleteResource(w);
    const tW1 = at(0);
    await new Promise((r) => setTimeout(r, 20));
    services.arg.upsertResource({ id: w, location: 'westeurope', tags: { v: 'w3' } });
    const tW2 = at(0);

    // Delivered out of order, with duplicates, in both schemas, one of them delayed.
    await rig.send(deleteEvent({ resourceId: z, eventTime: tZ2 }));
    await rig.send(writeEvent({ resourceId: x, eventTime: tX2 }));
    await rig.send(sampleEvent('resource_delete_success', { resourceId: y, eventTime: tY, schema: 'cloud-events-schema' }));
    await rig.send(writeEvent({ resourceId: w, eventTime: tW2 }));
    await rig.send(writeEvent({ resourceId: x, eventTime: tX1 }));
    await rig.send(writeEvent({ resourceId: z, eventTime: tZ1 }));
    await rig.send(deleteEvent({ resourceId: w, eventTime: tW1 }));
    await rig.send(deleteEvent({ resourceId: y, eventTime: tY }));
    await rig.queue.sendMessage(Buffer.from(JSON.stringify(writeEvent({ resourceId: x, eventTime: tX2 }))).toString('base64'), {
      visibilityTimeout: 1,
    });

    const result = await rig.host.drain({ horizonMs: 20_000 });
    const convergedAt = services.arg.now().getTime();
    expect(result.remaining).toBe(0);
    expectMirror(services, rg);
    expect(tagsOf(services, x)).toEqual({ v: 'x2' });
    expect(tagsOf(services, w)).toEqual({ v: 'w3' });
    // Within the settle time of the last event, plus the queue's whole-second visibility rounding and polling.
    expect(convergedAt - t0.getTime()).toBeLessThanOrEqual(settleMs + 2_500);
    // The first reads were stale (that is what forced re-checks), yet the end state is right.
    expect(rig.processor.counters.get('recheckScheduled')).toBeGreaterThan(0);
    expect(rig.processor.counters.get('presentAfterDelete')).toBeGreaterThan(0);
    expect(await rig.poisonBodies()).toEqual([]);
  });
});

describe('documented numbers on the emulator clock: lag 60 s, settle 90 s', () => {
  let services: Services;
  let rig: Rig;
  beforeAll(async () => {
    services = await startServices({ manualClock: true, startTime: new Date('2026-06-01T12:00:00Z') });
    services.arg.upsertSubscription({ id: SUB_ID });
  }, 30_000);
  afterAll(async () => {
    await rig?.close();
    await services?.close();
  });

  it('Port reflects Azure within eventTime + 90 s although every first read is stale', async () => {
    const settleMs = 90_000;
    rig = await createRig(services, { subscriptionIds: [SUB], settleTimeMs: settleMs, recheck: 'virtual', flushWindowMs: 20 });
    const virtual = rig.virtual!;
    const rg = `${SUB_ID}/resourceGroups/rg-lag60`;
    const updated = `${rg}/providers/Microsoft.Storage/storageAccounts/updated`;
    const created = `${rg}/providers/Microsoft.Storage/storageAccounts/created`;
    const deleted = `${rg}/providers/Microsoft.Storage/storageAccounts/deleted`;
    services.arg.seed({
      resourceGroups: [{ id: rg, location: 'westeurope', subscriptionId: SUB }],
      resources: [
        { id: updated, location: 'westeurope', subscriptionId: SUB, tags: { v: 'old' } },
        { id: deleted, location: 'westeurope', subscriptionId: SUB, tags: { v: 'doomed' } },
      ],
    });
    services.port.seed(BP.resource, [
      { identifier: toPortIdentifier(updated), properties: { tags: { v: 'old' } }, relations: {} },
      { identifier: toPortIdentifier(deleted), properties: { tags: { v: 'doomed' } }, relations: {} },
    ]);
    services.arg.setLag({ resourcesMs: 60_000 });

    services.arg.advance(5_000);
    const eventTime = services.arg.now();
    services.arg.upsertResource({ id: updated, location: 'westeurope', tags: { v: 'new' } });
    services.arg.upsertResource({ id: created, location: 'westeurope', tags: { v: 'fresh' } });
    services.arg.deleteResource(deleted);
    services.arg.advance(1_000); // Event Grid delivers about a second later

    await rig.send(writeEvent({ resourceId: updated, eventTime }));
    await rig.send(sampleEvent('resource_write_success', { resourceId: created, eventTime, schema: 'cloud-events-schema' }));
    await rig.send(deleteEvent({ resourceId: deleted, eventTime }));
    await rig.host.drain({ horizonMs: 10_000 });

    // Every first read was stale: old tags re-written, the new resource invisible, the deleted one still there.
    expect(tagsOf(services, updated)).toEqual({ v: 'old' });
    expect(tagsOf(services, created)).toBeUndefined();
    expect(tagsOf(services, deleted)).toEqual({ v: 'doomed' });

    const releases: number[] = [];
    for (let i = 0; i < 20; i++) {
      const due = virtual.nextDue();
      if (due === undefined) break;
      services.arg.setNow(new Date(due));
      releases.push(due - eventTime.getTime());
      await virtual.release();
      await rig.host.drain({ horizonMs: 10_000 });
    }
    expect(virtual.held).toEqual([]);
    expectMirror(services, rg);
    expect(tagsOf(services, updated)).toEqual({ v: 'new' });
    expect(tagsOf(services, created)).toEqual({ v: 'fresh' });
    expect(tagsOf(services, deleted)).toBeUndefined();
    // Converged by the settle deadline (event time + 90 s, plus at most the 1 s re-check rounding)…
    expect(Math.max(...releases)).toBeLessThanOrEqual(settleMs + 1_000);
    // …and the work was bounded: re-checks at +15 s, +45 s and the deadline only.
    expect(releases.every((r) => r > 0)).toBe(true);
    expect(new Set(releases).size).toBeLessThanOrEqual(3);
  });
});
