/**
 * ARM direct reads: the payload ARM returns must map to exactly the entity the Resource Graph row gives (or a later
 * full sync would rewrite it), proven on the whole estate fixture over real HTTP against the emulator's ARM routes
 * and on Microsoft's examples; and the read budget: ARM's headers, 429s and the worker-wide rate.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmReadBudget } from '../../shared/azure/armBudget.js';
import { armPayloadToRow, notificationFields, overlayNotification } from '../../shared/azure/armNormalize.js';
import { ArmReader, pickApiVersion } from '../../shared/azure/armReader.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { mapRow } from '../../shared/mapping/index.js';
import { DEFAULT_BLUEPRINT_IDS as ids } from '../../shared/port/blueprints.js';
import { armPayload } from '../emulators/resourceGraph/arm.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { EVENTGRID_SPECS, RESOURCEGRAPH_STABLE } from '../support/reference.js';

const logger = createLogger(memorySink(), "error");
const entity = (row: ArgRow) => JSON.stringify(mapRow(row, ids));
const reader = (arg: ResourceGraphEmulator, readsPerSecond = 10_000) =>
  new ArmReader({ endpoint: arg.url, credential: arg.credential, budget: new ArmReadBudget({ readsPerSecond }), logger });

describe('ARM payloads map to the entity of the Resource Graph row', () => {
  let arg: ResourceGraphEmulator;
  beforeAll(async () => {
    arg = await startResourceGraphEmulator({ estate: generateEstate({ subscriptions: 3, resourceGroups: 12, resources: 400, seed: 14 }) });
  });
  afterAll(() => arg.close());

  it('for every resource and resource group of the estate fixture, read over HTTP from the ARM routes', async () => {
    const arm = reader(arg);
    const snapshot = arg.estate();
    let compared = 0;
    for (const row of [...snapshot.resourceGroups, ...snapshot.resources]) {
      const read = await arm.read(row.id);
      expect(read.status, `${row.id} ${JSON.stringify(read)}`).toBe('found');
      if (read.status !== 'found') continue;
      expect(entity(read.row), row.id).toBe(entity(row));
      compared++;
    }
    expect(compared).toBe(412);
    // App Service answers a display-name location, which must not leak into the entity.
    const site = snapshot.resources.find((r) => r.type === 'microsoft.web/sites')!;
    expect(armPayload({ ...site, type: 'microsoft.web/sites', properties: {} }).location).toMatch(/ /);
  });

  it('a deleted resource is notFound (a fact for the caller, never a proof of absence), a subscription is left to Resource Graph', async () => {
    const arm = reader(arg);
    const victim = arg.estate().resources[0]!;
    arg.deleteResource(victim.id);
    expect((await arm.read(victim.id)).status).toBe('notFound');
    expect((await arm.read(`/subscriptions/${victim.subscriptionId}`)).status).toBe('skipped');
  });

  it('on the Resource Graph examples: ARM shapes (provider-cased type, display-name location) normalise to the example rows', () => {
    const example = JSON.parse(readFileSync(path.join(RESOURCEGRAPH_STABLE, 'examples/ResourcesBasicQuery.json'), 'utf8')) as {
      responses: { 200: { body: { data: ArgRow[] } } };
    };
    for (const row of example.responses[200].body.data) {
      const type = row.id.split('/providers/')[1]!.split('/').slice(0, 2).join('/');
      const location = row.location === 'centralus' ? 'Central US' : row.location;
      const fromArm = armPayloadToRow({ id: row.id, name: row.name, type, location, tags: row.tags, properties: {} }, null);
      expect(fromArm).not.toBeInstanceOf(Error);
      expect(entity(fromArm as ArgRow)).toBe(entity(row));
    }
  });
});

describe('Resource Notifications payloads', () => {
  const example = (file: string) =>
    JSON.parse(
      readFileSync(path.join(EVENTGRID_SPECS, 'Microsoft.ResourceNotifications/stable/2018-01-01/examples/event-grid-schema', file), 'utf8')
        .replace(/\{subscription-id\}|\{subcription-id\}/g, '00000000-0000-0000-0000-0000000000aa')
        .replace(/\{rg-name\}/g, 'rg-notify')
        .replace(/\{storageAccount-name\}/g, 'stnotify'),
    ) as { data: { resourceInfo: Record<string, unknown> } };

  it("overlaid on Resource Graph's row of the same storage account, the CreatedOrUpdated example gives Resource Graph's entity (1/0 booleans, tags object)", () => {
    const info = example('Resources_CreatedOrUpdated.json').data.resourceInfo;
    const id = String(info.id);
    // The row Resource Graph would hold for it: type lower-cased, provisioningState flattened, and the columns the
    // notification does not carry (kind, sku, tenantId).
    const argRow: ArgRow = {
      id,
      name: 'StorageAccount-name',
      type: 'microsoft.storage/storageaccounts',
      kind: 'StorageV2',
      location: 'eastus',
      resourceGroup: 'rg-notify',
      subscriptionId: '00000000-0000-0000-0000-0000000000aa',
      tenantId: '00000000-0000-0000-0000-0000000000bb',
      managedBy: null,
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      tags: {},
      provisioningState: 'Succeeded',
    };
    const fields = notificationFields(info);
    expect(fields).not.toBeInstanceOf(Error);
    expect(entity(overlayNotification(argRow, fields as ArgRow))).toBe(entity(argRow));
    // A stale row (old tags, still Updating) is corrected by the payload's fields.
    const stale = { ...argRow, tags: { old: 'x' }, provisioningState: 'Updating', location: 'westus' };
    expect(entity(overlayNotification(stale, fields as ArgRow))).toBe(entity(argRow));
  });

  it('an untagged resource is one entity whatever spells it: ARM (no tags key), Resource Graph (tags {}), a notification (tags {} or none)', () => {
    // Found by the soak once it mixed notifications in: ARM leaves tags out, Resource Graph shows {} (the
    // ResourcesBasicQuery example), and each spelling made a different entity, so a later sync rewrote it.
    const id = '/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers/Microsoft.Web/sites/untagged';
    const argRow: ArgRow = { id, name: 'untagged', type: 'microsoft.web/sites', location: 'westeurope', resourceGroup: 'rg', subscriptionId: '00000000-0000-0000-0000-0000000000aa', tags: {} };
    const fromArm = armPayloadToRow({ id, name: 'untagged', type: 'Microsoft.Web/sites', location: 'West Europe', properties: {} }, null) as ArgRow;
    expect(entity(fromArm)).toBe(entity(argRow));
    for (const info of [{ id, tags: {} }, { id }]) {
      const fields = notificationFields(info) as ArgRow;
      expect(entity(overlayNotification(argRow, fields))).toBe(entity(argRow));
    }
    // A payload that says nothing of tags leaves the row's tags alone.
    const tagged = { ...argRow, tags: { env: 'prod' } };
    expect(entity(overlayNotification(tagged, notificationFields({ id }) as ArgRow))).toBe(entity(tagged));
  });

  it('tags sent as a JSON string (early payloads) are the same object', () => {
    const fields = notificationFields({ id: '/subscriptions/s/resourceGroups/g/providers/A.B/c/d', tags: '{"env":"prod"}', properties: { enabled: 1 } });
    expect((fields as ArgRow).tags).toEqual({ env: 'prod' });
  });

  it('the upstream examples with a trailing comma are not JSON (they are refused, never half-read)', () => {
    const file = path.join(EVENTGRID_SPECS, 'Microsoft.ResourceNotifications/examples/event-grid-schema/Resources_StorageAccount_CreatedOrUpdated.json');
    expect(() => JSON.parse(readFileSync(file, 'utf8'))).toThrow();
  });
});

describe('ARM read budget', () => {
  let arg: ResourceGraphEmulator;
  beforeAll(async () => {
    arg = await startResourceGraphEmulator({ estate: generateEstate({ subscriptions: 1, resourceGroups: 2, resources: 40, seed: 5 }) });
  });
  afterAll(() => arg.close());

  it('picks the newest stable api-version', () => {
    expect(pickApiVersion(['2023-05-01', '2025-01-01-preview', '2024-01-01'])).toBe('2024-01-01');
    expect(pickApiVersion(['2025-01-01-preview'])).toBe('2025-01-01-preview');
  });

  it('a 429 closes the subscription for its Retry-After: the reads that follow are skipped, not sent', async () => {
    const arm = reader(arg);
    const [a, b] = arg.estate().resources;
    expect((await arm.read(a!.id)).status).toBe('found');
    arg.arm.setThrottle({ forceStatus: 429, retryAfterSeconds: 30 });
    const sent = arg.arm.describe().reads;
    expect((await arm.read(b!.id)).status).toBe('failed');
    expect((await arm.read(b!.id)).status).toBe('skipped');
    expect(arg.arm.describe().reads).toBe(sent + 1);
    arg.arm.setThrottle({ forceStatus: undefined });
  });

  it("honours ARM's remaining-reads header and the worker-wide rate", async () => {
    arg.arm.setThrottle({ bucket: 30, refillPerSecond: 0.001 });
    const arm = reader(arg);
    const rows = arg.estate().resources;
    const outcomes = [];
    for (const r of rows.slice(0, 20)) outcomes.push((await arm.read(r.id)).status);
    // 30 reads in ARM's bucket, a reserve of 25 kept for others: only a few direct reads, then Resource Graph.
    expect(outcomes.filter((s) => s === 'found').length).toBeLessThan(8);
    expect(outcomes.at(-1)).toBe('skipped');
    arg.arm.setThrottle({ bucket: 250, refillPerSecond: 25 });
    const slow = reader(arg, 1);
    const statuses = [];
    for (const r of rows.slice(0, 6)) statuses.push((await slow.read(r.id)).status);
    expect(statuses.filter((s) => s === 'found').length).toBeLessThanOrEqual(2);
  });
});

describe('api-version per type from the providers API, cached', () => {
  const DAY = 24 * 3600_000;
  let arg: ResourceGraphEmulator;
  beforeAll(async () => {
    arg = await startResourceGraphEmulator({ estate: generateEstate({ subscriptions: 3, resourceGroups: 9, resources: 160, seed: 21 }) });
  });
  afterAll(() => arg.close());

  /** A reader on a virtual clock, and the providers calls it caused (namespace, lower-case). */
  const clockedReader = () => {
    const clock = { t: Date.parse('2026-06-01T12:00:00Z') };
    const arm = new ArmReader({ endpoint: arg.url, credential: arg.credential, budget: new ArmReadBudget({ readsPerSecond: 10_000 }), logger, now: () => clock.t });
    const from = arg.arm.requests().length;
    const sent = () => arg.arm.requests().slice(from);
    const providerCalls = () => sent().filter((r) => r.route === 'provider').map((r) => r.path.split('/').pop()!.toLowerCase());
    return { clock, arm, sent, providerCalls };
  };
  const compute = () => arg.estate().resources.filter((r) => String(r.type).startsWith('microsoft.compute/'));

  it('one providers call serves every read of its namespace: all its types, every subscription, either casing, concurrent first reads', async () => {
    const rows = compute();
    // What the fixture must hold for this to prove anything.
    expect(new Set(rows.map((r) => r.type)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((r) => r.subscriptionId)).size).toBeGreaterThanOrEqual(2);
    expect(rows.some((r) => r.id.includes('/providers/microsoft.compute/'))).toBe(true);
    expect(rows.some((r) => r.id.includes('/providers/Microsoft.Compute/'))).toBe(true);
    const t = clockedReader();
    const reads = await Promise.all(rows.map((r) => t.arm.read(r.id)));
    expect(reads.map((r) => r.status)).toEqual(rows.map(() => 'found'));
    expect(t.providerCalls()).toEqual(['microsoft.compute']);
    // Every resource GET used the newest stable version the providers API listed (not its preview).
    const resourceGets = t.sent().filter((r) => r.route === 'read' && /\/providers\//i.test(r.path));
    expect(resourceGets).toHaveLength(rows.length);
    expect(new Set(resourceGets.map((r) => r.apiVersion))).toEqual(new Set(['2024-01-01']));
    // Another read a while later: still no providers call.
    t.clock.t += 3600_000;
    expect((await t.arm.read(rows[0]!.id)).status).toBe('found');
    expect(t.providerCalls()).toEqual(['microsoft.compute']);
    // Another namespace has its own call; a resource group needs none (its api-version is fixed).
    const storage = arg.estate().resources.find((r) => r.type === 'microsoft.storage/storageaccounts')!;
    expect((await t.arm.read(storage.id)).status).toBe('found');
    expect((await t.arm.read(arg.estate().resourceGroups[0]!.id)).status).toBe('found');
    expect(t.providerCalls()).toEqual(['microsoft.compute', 'microsoft.storage']);
  });

  it('after the cache lifetime (a day) the next read asks the providers API again, once', async () => {
    const [vm, other] = compute();
    const t = clockedReader();
    expect((await t.arm.read(vm!.id)).status).toBe('found');
    t.clock.t += DAY - 1;
    expect((await t.arm.read(other!.id)).status).toBe('found');
    expect(t.providerCalls()).toHaveLength(1);
    t.clock.t += 1;
    await Promise.all([t.arm.read(vm!.id), t.arm.read(other!.id)]);
    expect(t.providerCalls()).toEqual(['microsoft.compute', 'microsoft.compute']);
    t.clock.t += DAY - 1;
    expect((await t.arm.read(vm!.id)).status).toBe('found');
    expect(t.providerCalls()).toHaveLength(2);
  });

  it('a type its namespace does not list is skipped with no GET of it (Resource Graph reads it), for as long as the namespace answer is kept', async () => {
    const [vm] = compute();
    const gallery = `${String(vm!.id).split('/providers/')[0]}/providers/Microsoft.Compute/galleries/gallery1`;
    const t = clockedReader();
    expect(await t.arm.read(gallery)).toEqual({ status: 'skipped', reason: 'no api-version known for microsoft.compute/galleries' });
    expect(t.sent().some((r) => r.path.toLowerCase().endsWith('/galleries/gallery1'))).toBe(false);
    // The same answer serves the namespace's listed types, and the unlisted one stays skipped without asking again.
    expect((await t.arm.read(vm!.id)).status).toBe('found');
    t.clock.t += DAY - 1;
    expect((await t.arm.read(gallery)).status).toBe('skipped');
    expect(t.providerCalls()).toEqual(['microsoft.compute']);
    t.clock.t += 1;
    expect((await t.arm.read(gallery)).status).toBe('skipped');
    expect(t.providerCalls()).toEqual(['microsoft.compute', 'microsoft.compute']);
  });

  it('a namespace the providers API knows no type of, or a failed providers call, is a miss kept ten minutes, then asked again', async () => {
    const [vm] = compute();
    const group = String(vm!.id).split('/providers/')[0]!;
    const widget = `${group}/providers/Contoso.Widgets/widgets/w1`;
    const t = clockedReader();
    expect(await t.arm.read(widget)).toEqual({ status: 'skipped', reason: 'no api-version known for contoso.widgets/widgets' });
    t.clock.t += 10 * 60_000 - 1;
    expect((await t.arm.read(widget)).status).toBe('skipped');
    expect(t.providerCalls()).toEqual(['contoso.widgets']);
    t.clock.t += 1;
    expect((await t.arm.read(widget)).status).toBe('skipped');
    expect(t.providerCalls()).toEqual(['contoso.widgets', 'contoso.widgets']);

    // A providers call that fails (ARM 500) is a miss too: skipped (Resource Graph reads it) for ten minutes, not a day.
    const f = clockedReader();
    arg.arm.failNext(1, 500);
    expect((await f.arm.read(vm!.id)).status).toBe('skipped');
    expect(f.sent().filter((r) => r.route === 'provider').map((r) => r.status)).toEqual([500]);
    f.clock.t += 5 * 60_000;
    expect((await f.arm.read(vm!.id)).status).toBe('skipped');
    f.clock.t += 5 * 60_000;
    expect((await f.arm.read(vm!.id)).status).toBe('found');
    expect(f.sent().filter((r) => r.route === 'provider').map((r) => r.status)).toEqual([500, 200]);
  });
});
