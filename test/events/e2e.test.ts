/**
 * The real-time path end to end: spec-sample events as Event Grid writes them (base64, both schemas) into Azurite,
 * the queue host invoking the exported function handler, the real Port client and Resource Graph reader against
 * the emulators. Assertions are on the final Port catalog against the emulated Azure estate.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { mapRow } from '../../shared/mapping/index.js';
import { BP, createRig, startServices, type Rig, type Services } from './harness.js';
import { deleteEvent, sampleEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const SUB_ID = `/subscriptions/${SUB}`;

let services: Services;
beforeAll(async () => {
  services = await startServices();
  services.arg.upsertSubscription({ id: SUB_ID, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', tags: { env: 'test' } });
}, 30_000);
afterAll(async () => {
  await services?.close();
});
beforeEach(() => {
  services.port.reset();
});

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

/** The Port entity for an ARG row, as the mapping would write it (the expected catalog state). */
function expectedEntity(row: ArgRow) {
  const mapped = mapRow(row, BP)!;
  return { blueprint: mapped.blueprint, identifier: mapped.entity.identifier, properties: mapped.entity.properties };
}

function catalogMatches(rows: ArgRow[]): void {
  for (const row of rows) {
    const { blueprint, identifier, properties } = expectedEntity(row);
    const stored = services.port.entity(blueprint, identifier);
    expect(stored, identifier).toBeDefined();
    expect(stored!.properties).toMatchObject(properties);
  }
}

function currentRow(id: string): ArgRow {
  const key = id.toLowerCase();
  const row = services.arg.rows().find((r) => r.id.toLowerCase() === key);
  if (!row) throw new Error(`no emulator row for ${id}`);
  return row;
}

describe('spec samples through the queue', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('applies writes and deletes in both schemas, including casing drift and sample quirks', async () => {
    rig = await createRig(services, { subscriptionIds: [SUB] });
    const rg = `${SUB_ID}/resourceGroups/RG-Samples`;
    const acct = `${rg}/providers/Microsoft.Storage/storageAccounts/acctsamples`;
    const site = `${rg}/providers/Microsoft.Web/sites/Site-One`;
    const gone = `${rg}/providers/Microsoft.Web/sites/site-gone`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope', tags: { owner: 'x' } });
    services.arg.upsertResource({ id: acct, location: 'westeurope', kind: 'StorageV2', sku: { name: 'Standard_LRS' }, tags: { a: '1' } });
    services.arg.upsertResource({ id: site, location: 'northeurope', tags: { b: '2' } });
    services.port.seed(BP.resource, [{ identifier: toPortIdentifier(gone), properties: {}, relations: {} }]);

    // The write sample says /resourcegroups/; the delete sample /resourceGroups/: both must land on one identifier.
    await rig.send(writeEvent({ resourceId: acct.replace('/resourceGroups/', '/resourcegroups/'), eventTime: minutesAgo(5) }));
    await rig.send(sampleEvent('resource_write_success', { resourceId: site, schema: 'cloud-events-schema', eventTime: minutesAgo(5) }));
    await rig.send(writeEvent({ resourceId: rg, eventTime: minutesAgo(5) }));
    await rig.send(writeEvent({ resourceId: `${SUB_ID}/providers/Microsoft.Resources/tags/default`, eventTime: minutesAgo(5) }));
    await rig.send(sampleEvent('resource_delete_success', { resourceId: gone, schema: 'cloud-events-schema', eventTime: minutesAgo(5) }));
    const result = await rig.host.drain({ horizonMs: 15_000 });
    expect(result.remaining).toBe(0);

    catalogMatches([currentRow(acct), currentRow(site), currentRow(rg), currentRow(SUB_ID)]);
    expect(services.port.entity(BP.resource, toPortIdentifier(gone))).toBeUndefined();
    expect(services.port.entities(BP.resource)).toHaveLength(2);
    expect(rig.host.invocations.every((i) => i.outcome === 'succeeded')).toBe(true);
    expect(await rig.poisonBodies()).toEqual([]);
    expect(rig.host.errors).toEqual([]);
  });
});

describe('unusual but legal names', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('ids with parentheses, spaces, dots, semicolons and non-ASCII letters survive the query and the identifier rules', async () => {
    rig = await createRig(services, { subscriptionIds: [SUB] });
    const rg = `${SUB_ID}/resourceGroups/RG (Prod) ü.v2`;
    const odd = `${rg}/providers/Microsoft.Web/sites/my app;v=1 (blue)`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    services.arg.upsertResource({ id: odd, location: 'westeurope', tags: { odd: 'yes' } });
    await rig.send(writeEvent({ resourceId: rg.toLowerCase(), eventTime: minutesAgo(5) }));
    await rig.send(writeEvent({ resourceId: odd, eventTime: minutesAgo(5) }));
    await rig.host.drain({ horizonMs: 10_000 });
    catalogMatches([currentRow(rg), currentRow(odd)]);
    expect(await rig.poisonBodies()).toEqual([]);

    services.arg.deleteResource(odd);
    await rig.send(deleteEvent({ resourceId: odd.toUpperCase().replace('/SUBSCRIPTIONS/', '/subscriptions/'), eventTime: minutesAgo(1) }));
    await rig.host.drain({ horizonMs: 10_000 });
    expect(services.port.entity(BP.resource, toPortIdentifier(odd))).toBeUndefined();
  });
});

describe('resource group delete', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('removes the group and every resource entity under it, even without per-child events', async () => {
    rig = await createRig(services, { subscriptionIds: [SUB] });
    const rg = `${SUB_ID}/resourceGroups/rg-doomed`;
    const sibling = `${SUB_ID}/resourceGroups/rg-doomed-not`;
    const children = Array.from({ length: 130 }, (_, i) => `${rg}/providers/Microsoft.Web/sites/app${i}`);
    const survivor = `${sibling}/providers/Microsoft.Web/sites/keep`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    services.arg.upsertResourceGroup({ id: sibling, location: 'westeurope' });
    for (const id of [...children, survivor]) services.arg.upsertResource({ id, location: 'westeurope' });
    await rig.send(writeEvent({ resourceId: rg, eventTime: minutesAgo(10) }));
    await rig.send(writeEvent({ resourceId: sibling, eventTime: minutesAgo(10) }));
    for (const id of [...children, survivor]) await rig.send(writeEvent({ resourceId: id, eventTime: minutesAgo(10) }));
    await rig.host.drain({ horizonMs: 15_000 });
    expect(services.port.entities(BP.resource)).toHaveLength(131);

    services.arg.deleteResourceGroup(rg);
    await rig.send(deleteEvent({ resourceId: rg, eventTime: minutesAgo(1) }));
    await rig.host.drain({ horizonMs: 15_000 });
    expect(services.port.entities(BP.resource).map((e) => e.identifier)).toEqual([toPortIdentifier(survivor)]);
    expect(services.port.entities(BP.resourceGroup).map((e) => e.identifier)).toEqual([toPortIdentifier(sibling)]);
  });
});

describe('coalescing', () => {
  let rig: Rig;
  afterAll(async () => rig?.close());

  it('200 concurrent events for 150 resources cost at most 2 Resource Graph queries and 10 Port bulk calls', async () => {
    rig = await createRig(services, {
      subscriptionIds: [SUB],
      flushWindowMs: 2_500,
      // Enough concurrency for all 200 to be in flight together, as on a busy instance.
      host: { batchSize: 32, newBatchThreshold: 200 },
    });
    const rg = `${SUB_ID}/resourceGroups/rg-burst`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    const ids = Array.from({ length: 150 }, (_, i) => `${rg}/providers/Microsoft.Compute/disks/disk${i}`);
    for (const id of ids) services.arg.upsertResource({ id, location: 'westeurope', sku: { name: 'Premium_LRS' } });
    const events = [...ids, ...ids.slice(0, 50)].map((id) => writeEvent({ resourceId: id, eventTime: minutesAgo(10) }));
    await Promise.all(events.map((e) => rig.send(e)));

    const argBefore = services.arg.queryCount();
    services.port.resetCounts();
    const result = await rig.host.drain({ horizonMs: 20_000 });
    expect(result.invocations).toBe(200);
    expect(services.arg.queryCount() - argBefore).toBeLessThanOrEqual(2);
    expect(services.port.counts().bulkUpsert).toBeLessThanOrEqual(10);
    expect(services.port.entities(BP.resource)).toHaveLength(150);
    expect(rig.processor.counters.get('coalesced')).toBeGreaterThanOrEqual(50);
  });
});

describe('failures', () => {
  const rigs: Rig[] = [];
  let rig: Rig;
  const open = async (options: Parameters<typeof createRig>[1]) => {
    rig = await createRig(services, options);
    rigs.push(rig);
    return rig;
  };
  afterAll(async () => {
    for (const r of rigs) await r.close();
  });

  it('a permanent Port rejection (422) completes the message and logs the trace id', async () => {
    await open({ subscriptionIds: [SUB] });
    const rg = `${SUB_ID}/resourceGroups/rg-fail`;
    const id = `${rg}/providers/Microsoft.Web/sites/rejected`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    services.arg.upsertResource({ id, location: 'westeurope' });
    services.port.setFaults({ next: [{ route: '/entities/bulk', status: 422, error: 'invalid_entity', message: 'bad property', count: 1 }] });
    const messageId = await rig.send(writeEvent({ resourceId: id, eventTime: minutesAgo(10) }));
    await rig.host.drain({ horizonMs: 10_000 });

    expect(rig.host.invocations.filter((i) => i.messageId === messageId).map((i) => i.outcome)).toEqual(['succeeded']);
    const rejected = services.port.requests.find((r) => r.status === 422);
    expect(rejected).toBeDefined();
    const traceId = rejected!.responseHeaders['x-trace-id'];
    expect(traceId).toBeTruthy();
    const line = rig.sink.records.find((r) => r.level === 'error' && /Port rejected the upsert/.test(r.message));
    expect(line?.fields).toMatchObject({ traceId, status: 422, resourceId: id.toLowerCase() });
    expect(rig.processor.counters.get('permanentFailure')).toBe(1);
    expect(await rig.poisonBodies()).toEqual([]);
  });

  it('a transient Port 503 fails the invocation; the host retry succeeds', async () => {
    const rg = `${SUB_ID}/resourceGroups/rg-flaky`;
    const id = `${rg}/providers/Microsoft.Web/sites/flaky`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    services.arg.upsertResource({ id, location: 'westeurope', tags: { ok: 'yes' } });
    await open({ subscriptionIds: [SUB], portRetryMaxAttempts: 2 });
    services.port.setFaults({ next: [{ route: '/entities/bulk', status: 503, count: 2 }] });
    const messageId = await rig.send(writeEvent({ resourceId: id, eventTime: minutesAgo(10) }));
    await rig.host.drain({ horizonMs: 10_000 });

    const attempts = rig.host.invocations.filter((i) => i.messageId === messageId);
    expect(attempts.map((a) => [a.outcome, a.dequeueCount])).toEqual([
      ['failed', 1],
      ['succeeded', 2],
    ]);
    expect(services.port.entity(BP.resource, toPortIdentifier(id))?.properties?.['tags']).toEqual({ ok: 'yes' });
  });

  it('a Resource Graph outage fails the invocation; the retry succeeds', async () => {
    const rg = `${SUB_ID}/resourceGroups/rg-arg-down`;
    services.arg.upsertResourceGroup({ id: rg, location: 'westeurope' });
    await open({ subscriptionIds: [SUB] });
    services.arg.failNext(2, 503, { retryAfterSeconds: 0 });
    const messageId = await rig.send(writeEvent({ resourceId: rg, eventTime: minutesAgo(10) }));
    await rig.host.drain({ horizonMs: 10_000 });
    expect(rig.host.invocations.filter((i) => i.messageId === messageId).map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
    expect(services.port.entity(BP.resourceGroup, toPortIdentifier(rg))).toBeDefined();
  });
});
