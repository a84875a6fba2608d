/**
 * The apply use case against in-memory fakes of its dependencies, with a manual clock: every decision of the
 * "event is a hint, Resource Graph is the truth" design, deterministically.
 */
import { describe, expect, it } from 'vitest';
import { EventProcessor } from '../../shared/sync/events/apply.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { CapturingPoison, CapturingScheduler, FakePort, FakeResourceGraph, ManualClock, ManualTimers } from './fakes.js';
import { deleteEvent, sampleEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const RG = `/subscriptions/${SUB}/resourceGroups/Rg-One`;
const ACCT = `${RG}/providers/Microsoft.Storage/storageAccounts/Acct1`;
const SETTLE = 90_000;

function setup(options: { subscriptionIds?: string[] } = {}) {
  const arg = new FakeResourceGraph();
  const port = new FakePort();
  const recheck = new CapturingScheduler();
  const poison = new CapturingPoison();
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const sink = memorySink();
  const processor = new EventProcessor(
    { port, resourceGraph: arg, blueprints: BP, recheck, poison, logger: createLogger(sink, 'debug'), clock, timers },
    {
      flushWindowMs: 5,
      settleTimeMs: SETTLE,
      subscriptionIds: options.subscriptionIds ?? [],
      includeResourceTypes: [],
      excludeResourceTypes: [],
    },
  );
  const row = (id: string, tags: Record<string, string> = {}) => ({ id, name: id.split('/').pop()!, tags });
  return { arg, port, recheck, poison, clock, timers, sink, processor, row, now: () => new Date(clock.now()) };
}

describe('EventProcessor: writes', () => {
  it('upserts what Resource Graph shows and schedules one confirming re-read at event time + settle', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT, { v: '1' }));
    const eventTime = new Date(t.clock.now() - 10_000);
    const outcome = await t.processor.handle(writeEvent({ resourceId: ACCT.replace('resourceGroups', 'resourcegroups'), eventTime }));
    expect(outcome).toMatchObject({ status: 'upserted', blueprint: BP.resource, identifier: toPortIdentifier(ACCT), created: true });
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags']).toEqual({ v: '1' });
    expect(t.recheck.scheduled).toEqual([
      {
        message: { azurePortSyncRecheck: 1, resourceId: ACCT.toLowerCase(), hint: 'write', firstSeenAt: eventTime.toISOString(), attempt: 1 },
        delayMs: SETTLE - 10_000,
      },
    ]);
  });

  it('corrects a stale read with the confirming re-read', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT, { v: 'old' })); // Resource Graph still serves the state before the write
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() }));
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags']).toEqual({ v: 'old' });
    t.arg.put(t.row(ACCT, { v: 'new' }));
    const [confirm] = t.recheck.take();
    t.clock.advance(confirm!.delayMs);
    expect(await t.processor.handle(confirm!.message)).toMatchObject({ status: 'upserted' });
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags']).toEqual({ v: 'new' });
    expect(t.recheck.scheduled).toEqual([]); // the confirm is final: no endless loop
  });

  it('coalesces confirms per id: a second write inside the same due time schedules nothing new', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT));
    const eventTime = t.now();
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime }));
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime }));
    expect(t.recheck.scheduled).toHaveLength(1);
    expect(t.processor.counters.get('confirmCoalesced')).toBe(1);
    t.clock.advance(1_000);
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() })); // later write: later due time
    expect(t.recheck.scheduled).toHaveLength(2);
  });

  it('re-checks a write Resource Graph does not show yet in the worker a second later, with one durable message at the settle deadline', async () => {
    const t = setup();
    const eventTime = t.now();
    expect(await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime }))).toMatchObject({ status: 'recheckScheduled', delayMs: 1_000 });
    const [durable] = t.recheck.take();
    expect(durable).toMatchObject({ delayMs: SETTLE, message: { hint: 'write', attempt: 1, firstSeenAt: eventTime.toISOString() } });
    // Not visible at the first look either: the next look is a little later, still in the worker, no new message.
    t.clock.advance(1_000);
    expect(t.timers.fireDue()).toBe(1);
    await t.processor.drain();
    await new Promise((r) => setTimeout(r, 20));
    expect(t.recheck.scheduled).toEqual([]);
    expect(t.timers.nextAt()).toBe(t.clock.now() + 1_500);
    t.arg.put(t.row(ACCT));
    t.clock.advance(1_500);
    t.timers.fireDue();
    await t.processor.drain();
    await new Promise((r) => setTimeout(r, 20));
    expect(t.port.entities(BP.resource).has(toPortIdentifier(ACCT))).toBe(true);
    // The look found it: nothing more is scheduled in the worker; the durable message still gives the final verdict.
    expect(t.timers.nextAt()).toBeUndefined();
    t.clock.advance(SETTLE);
    expect(await t.processor.handle(durable!.message)).toMatchObject({ status: 'unchanged' });
  });

  it('gives up on a write still invisible after the settle time, with a counter and a warning, and deletes nothing', async () => {
    const t = setup();
    const stale = { identifier: toPortIdentifier(ACCT), properties: { tags: { from: 'earlier' } }, relations: {} };
    t.port.entities(BP.resource).set(toPortIdentifier(ACCT), stale);
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() }));
    const [durable] = t.recheck.take();
    expect(durable!.delayMs).toBe(SETTLE);
    t.clock.advance(durable!.delayMs);
    // A write hint never deletes: what Resource Graph does not show is left to reconciliation.
    expect(await t.processor.handle(durable!.message)).toEqual({ status: 'notVisibleAfterSettle' });
    expect(t.recheck.scheduled).toEqual([]);
    expect(t.processor.counters.get('notVisibleAfterSettle')).toBe(1);
    expect(t.sink.records.some((r) => r.level === 'warn' && /not visible in Resource Graph after the settle time/.test(r.message))).toBe(true);
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))).toEqual(stale);
    expect(t.port.calls.filter((c) => c.op === 'delete')).toEqual([]);
  });

  it('a create-then-delete window converges through the delete event, never through the write', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT)); // a stale read still shows the short-lived resource
    const eventTime = t.now();
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime }));
    expect(t.port.entities(BP.resource).size).toBe(1);
    t.arg.remove(ACCT);
    await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime: new Date(eventTime.getTime() + 1) }));
    expect(t.port.entities(BP.resource).size).toBe(0);
    for (let i = 0; i < 6; i++) {
      const next = t.recheck.take().sort((a, b) => a.delayMs - b.delayMs)[0];
      if (!next) break;
      t.clock.advance(next.delayMs);
      await t.processor.handle(next.message);
    }
    expect(t.port.entities(BP.resource).size).toBe(0);
  });

  it('a child Resource Graph does not list refreshes its parent, with no re-checks', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT));
    const outcome = await t.processor.handle(writeEvent({ resourceId: `${ACCT}/blobServices/default/containers/c1`, eventTime: t.now() }));
    expect(outcome).toMatchObject({ status: 'upserted', identifier: toPortIdentifier(ACCT) });
    expect(t.processor.counters.get('childRefreshedParent')).toBe(1);
    expect(t.recheck.scheduled.map((s) => s.message.resourceId)).toEqual([ACCT.toLowerCase()]); // the parent's confirm only
    expect(t.port.entities(BP.resource).size).toBe(1);
  });

  it('a child Resource Graph lists (SQL database) is synced itself, and deleted on its delete event', async () => {
    const t = setup();
    const server = `${RG}/providers/Microsoft.Sql/servers/sql1`;
    const db = `${server}/databases/db1`;
    t.arg.put(t.row(server));
    t.arg.put(t.row(db));
    expect(await t.processor.handle(writeEvent({ resourceId: db, eventTime: t.now() }))).toMatchObject({ status: 'upserted', identifier: toPortIdentifier(db) });
    expect([...t.port.entities(BP.resource).keys()].sort()).toEqual([toPortIdentifier(server), toPortIdentifier(db)].sort());
    t.arg.remove(db);
    expect(await t.processor.handle(deleteEvent({ resourceId: db, eventTime: t.now() }))).toMatchObject({ status: 'deleted', identifier: toPortIdentifier(db) });
    expect([...t.port.entities(BP.resource).keys()]).toEqual([toPortIdentifier(server)]);
  });
});

describe('EventProcessor: per-worker memory', () => {
  it('acknowledges a duplicate delivery of an applied event without I/O, but retries one that failed', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT));
    const event = writeEvent({ resourceId: ACCT, eventTime: t.now() });
    expect(await t.processor.handle(event)).toMatchObject({ status: 'upserted' });
    expect(await t.processor.handle(structuredClone(event))).toEqual({ status: 'duplicate', eventId: event['id'] });
    expect(t.arg.lookups).toHaveLength(1);

    t.arg.put(t.row(ACCT, { v: '2' }));
    const failing = writeEvent({ resourceId: ACCT, eventTime: t.now() });
    t.arg.failNext = new RetryableError('throttled', { source: 'resource-graph', status: 429 });
    await expect(t.processor.handle(failing)).rejects.toThrow('throttled');
    expect(await t.processor.handle(failing)).toMatchObject({ status: 'upserted' });
  });

  it('a re-read that finds what Port holds writes nothing; a difference (even one made outside the sync) is written', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT, { v: '1' }));
    await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() }));
    const upsertsBefore = t.port.calls.filter((c) => c.op === 'upsert').length;
    const [confirm] = t.recheck.take();
    t.clock.advance(confirm!.delayMs);
    expect(await t.processor.handle(confirm!.message)).toMatchObject({ status: 'unchanged', identifier: toPortIdentifier(ACCT) });
    expect(t.port.calls.filter((c) => c.op === 'upsert')).toHaveLength(upsertsBefore);

    // Port is read before every write, so an edit made outside the sync is corrected by the next event.
    t.port.entities(BP.resource).get(toPortIdentifier(ACCT))!.properties['tags'] = { v: 'edited in Port' };
    expect(await t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() }))).toMatchObject({ status: 'upserted' });
    expect(t.port.calls.filter((c) => c.op === 'upsert')).toHaveLength(upsertsBefore + 1);
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags']).toEqual({ v: '1' });
  });
});

describe('EventProcessor: deletes', () => {
  it('deletes the entity once Resource Graph no longer has the resource', async () => {
    const t = setup();
    t.port.entities(BP.resource).set(toPortIdentifier(ACCT), { identifier: toPortIdentifier(ACCT), properties: {}, relations: {} });
    expect(await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime: t.now() }))).toMatchObject({ status: 'deleted' });
    expect(t.port.entities(BP.resource).size).toBe(0);
  });

  it('re-checks while Resource Graph lags, then converges to what it says after the settle time', async () => {
    const t = setup();
    t.arg.put(t.row(ACCT, { state: 'still-there' }));
    expect(await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime: t.now() }))).toMatchObject({ status: 'recheckScheduled' });
    // Lag resolves: the next re-check deletes.
    let next = t.recheck.take()[0]!;
    t.clock.advance(next.delayMs);
    t.arg.remove(ACCT);
    expect(await t.processor.handle(next.message)).toMatchObject({ status: 'deleted' });

    // Re-created meanwhile: after the settle time Azure's state wins and the resource is upserted.
    t.arg.put(t.row(ACCT, { state: 'recreated' }));
    await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime: t.now() }));
    for (let i = 0; i < 5; i++) {
      next = t.recheck.take()[0]!;
      if (!next) break;
      t.clock.advance(next.delayMs);
      await t.processor.handle(next.message);
    }
    expect(t.port.entities(BP.resource).get(toPortIdentifier(ACCT))?.properties?.['tags']).toEqual({ state: 'recreated' });
  });

  it('deleting a resource group deletes its entity and every resource entity under it, and nothing else', async () => {
    const t = setup();
    const other = `/subscriptions/${SUB}/resourceGroups/Rg-One-Two/providers/Microsoft.Storage/storageAccounts/keep`;
    for (const id of [ACCT, `${RG}/providers/Microsoft.Web/sites/app`, other]) {
      t.port.entities(BP.resource).set(toPortIdentifier(id), { identifier: toPortIdentifier(id), properties: {}, relations: {} });
    }
    t.port.entities(BP.resourceGroup).set(toPortIdentifier(RG), { identifier: toPortIdentifier(RG), properties: {}, relations: {} });
    const outcome = await t.processor.handle(deleteEvent({ resourceId: RG, eventTime: t.now() }));
    expect(outcome).toMatchObject({ status: 'deleted', blueprint: BP.resourceGroup, cascaded: 2 });
    expect([...t.port.entities(BP.resource).keys()]).toEqual([toPortIdentifier(other)]);
    expect(t.port.entities(BP.resourceGroup).size).toBe(0);
    // children strictly before the group
    const ops = t.port.calls.filter((c) => c.op === 'delete').map((c) => c.blueprint);
    expect(ops).toEqual([BP.resource, BP.resourceGroup]);
  });
});

describe('EventProcessor: batching and failures', () => {
  it('one lookup and one bulk write for a burst, duplicates collapsed, every caller answered', async () => {
    const t = setup();
    const ids = Array.from({ length: 30 }, (_, i) => `${RG}/providers/Microsoft.Web/sites/app${i}`);
    for (const id of ids) t.arg.put(t.row(id));
    const events = [...ids, ...ids.slice(0, 10)].map((id) => writeEvent({ resourceId: id, eventTime: t.now() }));
    const outcomes = await Promise.all(events.map((e) => t.processor.handle(e)));
    expect(outcomes.every((o) => o.status === 'upserted')).toBe(true);
    expect(t.arg.lookups).toHaveLength(1);
    expect(t.arg.lookups[0]!.ids).toHaveLength(30);
    expect(t.arg.lookups[0]!.scope).toEqual({ subscriptionIds: [SUB] });
    expect(t.port.calls.filter((c) => c.op === 'upsert').map((c) => c.count)).toEqual([20, 10]);
    expect(t.processor.counters.get('coalesced')).toBe(10);
  });

  it('a permanent per-entity failure completes its message with the trace id logged; neighbours succeed', async () => {
    const t = setup();
    const bad = `${RG}/providers/Microsoft.Web/sites/bad`;
    t.arg.put(t.row(ACCT));
    t.arg.put(t.row(bad));
    t.port.entityErrors.set(toPortIdentifier(bad), new PermanentError('invalid entity', { source: 'port', status: 422, traceId: 'trace-422' }));
    const [good, rejected] = await Promise.all([
      t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() })),
      t.processor.handle(writeEvent({ resourceId: bad, eventTime: t.now() })),
    ]);
    expect(good).toMatchObject({ status: 'upserted' });
    expect(rejected).toMatchObject({ status: 'permanentFailure', traceId: 'trace-422' });
    const line = t.sink.records.find((r) => r.level === 'error');
    expect(line?.fields).toMatchObject({ traceId: 'trace-422', status: 422 });
  });

  it('a retryable per-entity failure makes only that invocation throw', async () => {
    const t = setup();
    const flaky = `${RG}/providers/Microsoft.Web/sites/flaky`;
    t.arg.put(t.row(ACCT));
    t.arg.put(t.row(flaky));
    t.port.entityErrors.set(toPortIdentifier(flaky), new RetryableError('503', { source: 'port', status: 503 }));
    const [good, failed] = await Promise.allSettled([
      t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() })),
      t.processor.handle(writeEvent({ resourceId: flaky, eventTime: t.now() })),
    ]);
    expect(good).toMatchObject({ status: 'fulfilled' });
    expect(failed).toMatchObject({ status: 'rejected', reason: { status: 503 } });
  });

  it('a failed Resource Graph lookup fails every invocation of the batch (the host retries them)', async () => {
    const t = setup();
    t.arg.failNext = new RetryableError('throttled', { source: 'resource-graph', status: 429 });
    const results = await Promise.allSettled([
      t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() })),
      t.processor.handle(deleteEvent({ resourceId: RG, eventTime: t.now() })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('an unreadable subscription sharing a read with a readable one: its events wait, then give up without deleting', async () => {
    const t = setup();
    const other = '22222222-3333-4444-5555-666666666666';
    const theirs = `/subscriptions/${other}/resourceGroups/x/providers/Microsoft.Web/sites/y`;
    t.port.entities(BP.resource).set(toPortIdentifier(theirs), { identifier: toPortIdentifier(theirs), properties: {}, relations: {} });
    t.arg.put(t.row(ACCT));
    t.arg.unreadable.add(other); // Resource Graph silently leaves its rows out
    const [mine, foreign] = await Promise.all([
      t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() })),
      t.processor.handle(deleteEvent({ resourceId: theirs, eventTime: t.now() })),
    ]);
    expect(mine).toMatchObject({ status: 'upserted' });
    expect(foreign).toMatchObject({ status: 'recheckScheduled' });
    expect(t.arg.lookups.map((l) => l.scope.subscriptionIds)).toEqual([[SUB, other].sort()]);
    let last: unknown = foreign;
    for (let i = 0; i < 6; i++) {
      const next = t.recheck.take().find((r) => r.message.resourceId === theirs.toLowerCase());
      if (!next) break;
      t.clock.advance(next.delayMs);
      last = await t.processor.handle(next.message);
    }
    expect(last).toMatchObject({ status: 'unproven' });
    expect(t.port.entities(BP.resource).has(toPortIdentifier(theirs))).toBe(true);
  });

  it('a failure to schedule a re-check fails the invocation (nothing is lost)', async () => {
    const t = setup();
    t.recheck.failWith = new RetryableError('queue down', { source: 'queue' });
    await expect(t.processor.handle(writeEvent({ resourceId: ACCT, eventTime: t.now() }))).rejects.toThrow('queue down');
  });
});

describe('EventProcessor: acknowledged without I/O', () => {
  it('failure, cancel and action events, noise and foreign subscriptions never touch Resource Graph or Port', async () => {
    const t = setup({ subscriptionIds: [SUB] });
    const foreign = `/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/x`;
    const outcomes = await Promise.all([
      t.processor.handle(sampleEvent('resource_write_failure', { resourceId: ACCT })),
      t.processor.handle(sampleEvent('resource_delete_cancel', { resourceId: ACCT, schema: 'cloud-events-schema' })),
      t.processor.handle(sampleEvent('resource_action_success', { resourceId: ACCT })),
      t.processor.handle(writeEvent({ resourceId: `${RG}/providers/Microsoft.Resources/deployments/d1` })),
      t.processor.handle(writeEvent({ resourceId: foreign })),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['ignored', 'ignored', 'ignored', 'ignored', 'dropped']);
    expect(t.arg.lookups).toHaveLength(0);
    expect(t.port.calls).toHaveLength(0);
    expect(t.sink.records.filter((r) => r.level === 'warn').map((r) => r.message)).toEqual(['event dropped: foreign subscription']);
    expect(t.processor.counters.snapshot()).toMatchObject({ ignoredFailureOrCancel: 2, ignoredAction: 1, ignoredNoise: 1, droppedForeignSubscription: 1 });
  });

  it('never logs claims, authorization or httpRequest content', async () => {
    const t = setup();
    await t.processor.handle(deleteEvent({ resourceId: ACCT, eventTime: t.now() }));
    const text = JSON.stringify(t.sink.records);
    expect(text).not.toMatch(/ipaddr|upn|IP-address|clientIpAddress|Subscription Admin/);
    expect(text).toContain(ACCT.toLowerCase());
  });
});
