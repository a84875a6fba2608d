/**
 * Freshness on the real-time path (issue #14), against the Resource Graph emulator with lag and its ARM routes:
 * direct ARM reads for write events, stale Resource Graph reads never written over fresher state, an ARM 404 never
 * taken as proof of absence, and Resource Notifications (overlay, ordering by resourceEventTime, never a create on
 * their own). Port is the in-memory fake; the clock is the emulator's manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArmReadBudget } from '../../shared/azure/armBudget.js';
import { ArmReader } from '../../shared/azure/armReader.js';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { EventProcessor } from '../../shared/sync/events/apply.js';
import { parseQueueMessage } from '../../shared/sync/events/message.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { CapturingPoison, CapturingScheduler, FakePort, ManualTimers } from './fakes.js';
import { deleteEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const RG = `/subscriptions/${SUB}/resourceGroups/Rg-One`;
const ACCT = `${RG}/providers/Microsoft.Storage/storageAccounts/acct1`;
const SETTLE = 90_000;
const TENANT = '11111111-2222-3333-4444-555555555555';
const account = (tags: Record<string, string>) => ({
  id: ACCT,
  name: 'acct1',
  type: 'microsoft.storage/storageaccounts',
  kind: 'StorageV2',
  location: 'westeurope',
  resourceGroup: 'rg-one',
  subscriptionId: SUB,
  tenantId: TENANT,
  sku: { name: 'Standard_LRS' },
  tags,
});

let arg: ResourceGraphEmulator;

async function setup(readsPerSecond: number) {
  const clock = { now: () => arg.now().getTime(), advance: (ms: number) => arg.advance(ms) };
  const port = new FakePort();
  const recheck = new CapturingScheduler();
  const timers = new ManualTimers({ now: clock.now, advance: clock.advance } as never);
  const logger = createLogger(memorySink(), 'error');
  const budget = new ArmReadBudget({ readsPerSecond, now: clock.now });
  const processor = new EventProcessor(
    {
      port,
      resourceGraph: new ResourceGraphReader({ endpoint: arg.url, credential: arg.credential, subscriptionIds: [SUB] }),
      arm: new ArmReader({ endpoint: arg.url, credential: arg.credential, budget, logger, now: clock.now }),
      blueprints: BP,
      recheck,
      poison: new CapturingPoison(),
      logger,
      clock,
      timers,
    },
    { flushWindowMs: 1, settleTimeMs: SETTLE, subscriptionIds: [SUB], includeResourceTypes: [], excludeResourceTypes: [] },
  );
  const tags = () => port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags'];
  return { clock, port, recheck, timers, processor, tags };
}

beforeEach(async () => {
  arg = await startResourceGraphEmulator({
    manualClock: true,
    estate: {
      subscriptions: [{ id: `/subscriptions/${SUB}`, name: 'sub', subscriptionId: SUB, tenantId: TENANT }],
      resourceGroups: [{ id: RG, name: 'Rg-One', location: 'westeurope', resourceGroup: 'rg-one', subscriptionId: SUB, tenantId: TENANT }],
      resources: [account({ v: '1' })],
    },
  });
});
afterEach(() => arg.close());

describe('direct ARM reads', () => {
  it('a write event gets the new state from ARM at once while Resource Graph lags, with no confirming re-read', async () => {
    const t = await setup(10);
    arg.setLag({ tables: { resources: 60_000 } });
    arg.upsertResource(account({ v: '2' }));
    expect(await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: arg.now() }))).toMatchObject({ status: 'upserted' });
    expect(t.tags()).toEqual({ v: '2' });
    // The entity equals what Resource Graph will show once it catches up (same mapping, normalised payload).
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['url']).toContain(TENANT);
    expect(t.recheck.scheduled).toEqual([]);
    expect(t.processor.counters.get('armReads')).toBe(1);
  });

  it('a lagging Resource Graph read never writes an older state over the one ARM returned', async () => {
    const t = await setup(10);
    arg.setLag({ tables: { resources: 60_000 } });
    arg.upsertResource(account({ v: '2' }));
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: arg.now() }));
    arg.arm.setThrottle({ forceStatus: 429, retryAfterSeconds: 600 }); // ARM unavailable: only Resource Graph answers
    arg.advance(1_000);
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: new Date(arg.now().getTime() - 5_000), id: 'late-duplicate' }));
    expect(t.tags()).toEqual({ v: '2' });
    expect(t.processor.counters.get('staleReadReplaced')).toBe(1);
  });

  it('in a burst beyond the ARM budget the rest is read from Resource Graph in one query', async () => {
    const t = await setup(1);
    const ids = Array.from({ length: 30 }, (_, i) => `${RG}/providers/Microsoft.Storage/storageAccounts/burst${i}`);
    for (const id of ids) arg.upsertResource({ ...account({ v: 'b' }), id, name: id.split('/').pop()! });
    const before = arg.queryCount();
    await Promise.all(ids.map((id) => t.processor.handle(writeEvent({ resourceId: id, eventTime: arg.now() }))));
    expect(t.processor.counters.get('armReads')).toBeLessThanOrEqual(2);
    expect(arg.queryCount() - before).toBe(1);
    expect(t.port.entities(BP.resource).size).toBe(30);
  });

  it('an ARM 404 is never proof of absence: a delete Resource Graph still lists is kept, not deleted nor written back', async () => {
    const t = await setup(10);
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: arg.now() }));
    arg.setLag({ tables: { resources: 10 * 60_000 } });
    arg.deleteResource(ACCT);
    const eventTime = arg.now();
    expect(await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime }))).toMatchObject({ status: 'recheckScheduled' });
    const [durable] = t.recheck.take();
    arg.advance(durable!.delayMs);
    const upsertsBefore = t.port.calls.filter((c) => c.op === 'upsert').length;
    expect(await t.processor.handle(durable!.message)).toMatchObject({ status: 'unproven' });
    expect(t.port.calls.filter((c) => c.op === 'upsert').length).toBe(upsertsBefore);
    expect(t.port.calls.filter((c) => c.op === 'delete')).toEqual([]);
    expect(t.processor.counters.get('armNotFoundWhileListed')).toBe(1);
  });
});

describe('Resource Notifications', () => {
  const notification = (type: 'CreatedOrUpdated' | 'Deleted', at: Date, tags: Record<string, string>, id = `arn-${at.getTime()}`) => ({
    id,
    topic: `/subscriptions/${SUB}`,
    subject: ACCT,
    eventType: `Microsoft.ResourceNotifications.Resources.${type}`,
    eventTime: at.toISOString(),
    dataVersion: '1',
    metadataVersion: '1',
    data: {
      resourceInfo: { id: ACCT, name: 'acct1', type: 'Microsoft.Storage/storageAccounts', location: 'westeurope', tags, properties: { allowBlobPublicAccess: 1, provisioningState: 'Succeeded' } },
      operationalInfo: { resourceEventTime: at.toISOString() },
      apiVersion: '2019-06-01',
    },
  });

  it("a CreatedOrUpdated payload's fields win over a lagging row; kind and sku still come from the read", async () => {
    const t = await setup(0);
    arg.setLag({ tables: { resources: 60_000 } });
    arg.upsertResource(account({ v: '2' }));
    expect(await t.processor.handle(notification('CreatedOrUpdated', arg.now(), { v: '2' }))).toMatchObject({ status: 'upserted' });
    expect(t.tags()).toEqual({ v: '2' });
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['sku']).toEqual({ name: 'Standard_LRS' });
    expect(t.processor.counters.get('notificationOverlaid')).toBe(1);
  });

  it('a late notification (older resourceEventTime than an event already seen) is not laid over the row', async () => {
    const t = await setup(0);
    const old = new Date(arg.now().getTime() - 30_000);
    arg.upsertResource(account({ v: '3' }));
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: arg.now() }));
    await t.processor.handle(notification('CreatedOrUpdated', old, { v: 'old' }));
    expect(t.tags()).toEqual({ v: '3' });
    expect(t.processor.counters.get('lateEvent')).toBe(1);
  });

  it('a payload never creates an entity Resource Graph proves absent', async () => {
    const t = await setup(0);
    arg.deleteResource(ACCT);
    expect(await t.processor.handle(notification('CreatedOrUpdated', arg.now(), { v: 'ghost' }))).toMatchObject({ status: 'recheckScheduled' });
    expect(t.port.entities(BP.resource).has(toPortIdentifier(ACCT))).toBe(false);
  });

  it('parses both schemas of the Resource Notifications examples; a payload without resourceInfo is malformed with a reason', async () => {
    const parsed = await parseQueueMessage(notification('Deleted', new Date('2026-01-01T00:00:00Z'), {}));
    expect(parsed).toMatchObject({ kind: 'event', event: { eventType: 'Microsoft.ResourceNotifications.Resources.Deleted', resourceUri: ACCT } });
    const bad = await parseQueueMessage({ ...notification('CreatedOrUpdated', new Date(), {}), data: { apiVersion: '1' } });
    expect(bad).toEqual({ kind: 'malformed', reason: 'data.resourceInfo is missing or not an object' });
  });
});
