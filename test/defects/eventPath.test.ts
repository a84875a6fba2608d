/**
 * Reproductions of the real-time path's defects from issue #10 §1, through EventProcessor.handle and the queue host
 * (test/events/harness.ts) against the emulators in their unkind modes. Each asserts what a user expects; each fails
 * on the product before the convergence core (committed as `it.fails` then, flipped when it landed).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BP, createRig, startServices, type Rig, type Services } from '../events/harness.js';
import { writeEvent, deleteEvent } from '../events/samples.js';
import { entityFor } from './support.js';
import { moveEvents } from '../events/moveEvents.js';

const A = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';
const B = '4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a';
const group = (sub: string, name: string) => `/subscriptions/${sub}/resourceGroups/${name}`;
const MINUTE = 60_000;

let services: Services;
let rig: Rig | undefined;
beforeAll(async () => {
  services = await startServices();
  services.arg.seed({ subscriptions: [A, B].map((s) => ({ id: `/subscriptions/${s}`, subscriptionId: s })) });
}, 30_000);
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});
afterAll(async () => {
  await services?.close();
});

/** Creates a group and resources in Azure and lets the product mirror them (events through handle()). */
async function mirrored(r: Rig, groupId: string, resources: Record<string, unknown>[]): Promise<void> {
  services.arg.upsertResourceGroup({ id: groupId });
  for (const row of resources) services.arg.upsertResource(row as { id: string });
  const outcomes = await Promise.all([groupId, ...resources.map((x) => String(x.id))].map((id) => r.processor.handle(writeEvent({ resourceId: id }))));
  expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'upserted'));
}

describe('issue #10 §1: real-time path', () => {
  // failed before the convergence core (issue #10 §1.1)
  it('defect 10.1: real-time path keeps entities of a subscription that lost Reader', async () => {
    rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000 });
    const appA = `${group(A, 'rg-101')}/providers/Microsoft.Web/sites/app-a`;
    const appB = `${group(B, 'rg-101')}/providers/Microsoft.Web/sites/app-b`;
    await mirrored(rig, group(A, 'rg-101'), [{ id: appA }]);
    await mirrored(rig, group(B, 'rg-101'), [{ id: appB }]);
    // Reader on B is removed: Resource Graph now silently leaves B's rows out of any query that also names A.
    services.arg.revokeSubscriptions([B]);
    // Two writes share one lookup. B's event is older than the settle time: Event Grid delays retries and even new
    // events for hours after delivery failures (azure-platform.md §3.2), so this is an ordinary delivery.
    const now = services.arg.now().getTime();
    const [, outcomeB] = await Promise.all([
      rig.processor.handle(writeEvent({ resourceId: appA })),
      rig.processor.handle(writeEvent({ resourceId: appB, eventTime: new Date(now - 10 * MINUTE) })),
    ]);
    services.arg.grantSubscriptions([B]);
    // B's resource exists in Azure; nothing proved it absent, so its entity must stay.
    expect(entityFor(services.port, BP.resource, appB), `outcome for B: ${outcomeB.status}`).toBeDefined();
  });

  // failed before the convergence core (issue #10 §1.4)
  it('defect 10.4: real-time path clears a field that disappeared in Azure (a detached disk loses managedBy and sku)', async () => {
    rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000 });
    const rg = group(A, 'rg-104');
    const vm = `${rg}/providers/Microsoft.Compute/virtualMachines/vm-1`;
    const disk = `${rg}/providers/Microsoft.Compute/disks/vm-1_OsDisk`;
    await mirrored(rig, rg, [{ id: disk, managedBy: vm, sku: { name: 'Premium_LRS', tier: 'Premium' }, tags: { app: 'x' } }]);
    expect(entityFor(services.port, BP.resource, disk)?.properties).toMatchObject({ managedBy: vm, sku: { name: 'Premium_LRS' } });
    // Detached and re-tiered: Resource Graph's row no longer has managedBy or sku.
    services.arg.upsertResource({ id: disk, tags: { app: 'x' } });
    await rig.send(writeEvent({ resourceId: disk }));
    // The event, then its confirming re-read at event time + settle time.
    const drained = await rig.host.drain({ horizonMs: 10_000 });
    expect(drained.remaining).toBe(0);
    const properties = entityFor(services.port, BP.resource, disk)?.properties ?? {};
    expect(properties['managedBy'] ?? null).toBeNull();
    expect(properties['sku'] ?? null).toBeNull();
    expect(properties['tags']).toEqual({ app: 'x' });
  });

  // failed before the convergence core (issue #10 §1.5)
  it('defect 10.5: a resource group delete racing a write in that group does not delete the re-created resource', async () => {
    rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000 });
    const rg = group(A, 'rg-105');
    const app = `${rg}/providers/Microsoft.Web/sites/app`;
    await mirrored(rig, rg, [{ id: app, tags: { v: '1' } }]);
    // The group is deleted (its resource with it), re-created at once, and the resource written again. Resource Graph's
    // resourcecontainers table is in its long tail for the re-creation (2 min), its resources table is not.
    const deletedAt = services.arg.now();
    services.arg.setLag({ tables: { resourcecontainers: 0 } });
    services.arg.deleteResourceGroup(rg);
    services.arg.setLag({ tables: { resourcecontainers: 2 * MINUTE } });
    services.arg.upsertResourceGroup({ id: rg });
    services.arg.setLag({ tables: { resourcecontainers: null } });
    services.arg.upsertResource({ id: app, tags: { v: '2' } });
    // Both events land in one batch.
    const [, outcomeApp] = await Promise.all([
      rig.processor.handle(deleteEvent({ resourceId: rg, eventTime: deletedAt })),
      rig.processor.handle(writeEvent({ resourceId: app })),
    ]);
    expect(entityFor(services.port, BP.resource, app)?.properties?.['tags'], `outcome for the resource: ${outcomeApp.status}`).toEqual({ v: '2' });
  });

  const legalNames = [
    ['a SQL database named o\'brien-sales', `${group(A, 'rg-108')}/providers/Microsoft.Sql/servers/s1/databases/o'brien-sales`],
    ['a machine learning workspace named ml|team', `${group(A, 'rg-108')}/providers/Microsoft.MachineLearningServices/workspaces/ml|team`],
  ] as const;
  for (const [what, id] of legalNames) {
    // failed before the convergence core (issue #10 §1.8)
    it(`defect 10.8: an event for ${what} is applied, not poisoned`, async () => {
      rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000 });
      services.arg.upsertResourceGroup({ id: group(A, 'rg-108') });
      services.arg.upsertResource({ id: `${group(A, 'rg-108')}/providers/Microsoft.Sql/servers/s1` });
      services.arg.upsertResource({ id });
      const outcome = await rig.processor.handle(writeEvent({ resourceId: id }));
      expect(outcome.status).not.toBe('poisoned');
      expect(entityFor(services.port, BP.resource, id)).toBeDefined();
      expect(await rig.poisonBodies()).toEqual([]);
    });
  }
});

describe('issue #10 §2: resource moves on the real-time path', () => {
  it('the move event on the source group removes the moved entities from it at once; a confirming re-read follows', async () => {
    rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000, recheck: 'virtual' });
    const source = group(A, 'rg-move-from');
    const target = group(A, 'rg-move-to');
    const moved = `${source}/providers/Microsoft.Web/sites/app-moved`;
    const stays = `${source}/providers/Microsoft.Web/sites/app-stays`;
    await mirrored(rig, source, [{ id: moved }, { id: stays }]);
    services.arg.upsertResourceGroup({ id: target });
    services.arg.moveResources(source, [moved], target);
    const [event] = moveEvents({ sourceResourceGroup: source, eventTime: services.arg.now() });
    const outcome = await rig.processor.handle(event);
    expect(outcome.status).not.toBe('ignored');
    expect(entityFor(services.port, BP.resource, moved), 'the moved id is gone from the source group').toBeUndefined();
    expect(entityFor(services.port, BP.resource, stays), 'what did not move stays').toBeDefined();
    // The event names none of the moved ids, so the group is read again once the lag bound has passed.
    expect(rig.virtual!.held.some((h) => h.message.resourceId === source.toLowerCase() && h.message.children === true)).toBe(true);
  });

  it('with Resource Graph still showing the old id, the confirming re-read removes it once it is gone', async () => {
    rig = await createRig(services, { subscriptionIds: [A, B], settleTimeMs: 3_000, recheck: 'virtual' });
    const source = group(A, 'rg-move-lag-from');
    const target = group(A, 'rg-move-lag-to');
    const moved = `${source}/providers/Microsoft.Web/sites/app-moved`;
    await mirrored(rig, source, [{ id: moved }]);
    // Let the creation's own confirming re-reads pass first: a pending write re-check of an id wins over a child
    // refresh (a write never deletes), and would leave the old id to the windowed sync.
    services.arg.advance(3_000);
    await rig.virtual!.release();
    await rig.host.drain({ horizonMs: 5_000 });
    services.arg.upsertResourceGroup({ id: target });
    services.arg.setLag({ tables: { resources: 2_000 } });
    services.arg.moveResources(source, [moved], target);
    const [event] = moveEvents({ sourceResourceGroup: source, eventTime: services.arg.now() });
    await rig.processor.handle(event);
    expect(entityFor(services.port, BP.resource, moved), 'still listed under the source: kept for now').toBeDefined();
    services.arg.advance(3_000);
    await rig.virtual!.release();
    await rig.host.drain({ horizonMs: 5_000 });
    expect(entityFor(services.port, BP.resource, moved)).toBeUndefined();
    services.arg.setLag({ tables: { resources: null } });
  });
});
