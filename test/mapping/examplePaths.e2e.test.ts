/**
 * The example port-app-config (examples/port-app-config.yaml) on every path, against both emulators: a full sync
 * fills the per-type blueprints (with columns only `properties` has, so the mapping's extra column reaches Resource
 * Graph), a windowed sync applies a create and a selector flip, and the real-time path applies a tag change and a
 * selector flip, each through the one convergence core.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import type { BlueprintDefinition } from '../../shared/port/types.js';
import { entityMappingFromCatalog, extraColumnsOf } from '../../shared/sync/converge/catalogMapping.js';
import { createEventProcessor } from '../../shared/sync/events/runtime.js';
import { createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { writeEvent } from '../events/samples.js';
import { eventPathFor } from '../defects/support.js';
import { MINUTE, startHarness, type Harness } from '../reconcile/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rows = JSON.parse(readFileSync(path.join(root, 'examples/rows.json'), 'utf8')) as ArgRow[];
const exampleBlueprints = JSON.parse(readFileSync(path.join(root, 'examples/blueprints.json'), 'utf8')) as BlueprintDefinition[];
const byType = (t: string) => rows.filter((r) => String(r.type).toLowerCase() === t);
const [storage] = byType('microsoft.storage/storageaccounts');
const [vm] = byType('microsoft.compute/virtualmachines');
const [site] = byType('microsoft.web/sites');

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function exampleHarness(): Promise<Harness> {
  h = await startHarness({
    PORT_APP_CONFIG_FILE: path.join(root, 'examples/port-app-config.yaml'),
    AZURE_SUBSCRIPTION_IDS: String(rows[0]!.subscriptionId),
  });
  // The example's own blueprints exist in Port (the app creates only its three defaults).
  const { PortClient } = await import('../../shared/port/client.js');
  const client = new PortClient({ ...h.settings.port, logger: h.logger });
  await client.ensureBlueprints([...defaultBlueprints(h.settings.port.blueprints), ...exampleBlueprints]);
  client.close();
  h.arg.seed({
    subscriptions: byType('microsoft.resources/subscriptions'),
    resourceGroups: byType('microsoft.resources/subscriptions/resourcegroups'),
    resources: rows.filter((r) => !String(r.type).startsWith('microsoft.resources/')),
  });
  return h;
}

const entity = (harness: Harness, blueprint: string, id: string) => harness.port.entity(blueprint, toPortIdentifier(id));

describe('the example mapping on every path', () => {
  it('full sync: per-type blueprints with columns from properties, a team from a tag, selectors honoured', async () => {
    const harness = await exampleHarness();
    const first = await harness.run();
    expect(first, JSON.stringify({ e: first.error, i: first.incompleteReasons, r: first.rejectedReasons, f: first.failures })).toMatchObject({ mode: 'full', status: 'succeeded' });
    const account = entity(harness, 'azureStorageAccount', storage!.id);
    expect(account?.properties).toMatchObject({ httpsOnly: true, blobEncryption: true, environment: 'prod' });
    expect((account as { team?: unknown } | undefined)?.team).toEqual(expect.arrayContaining(['payments']));
    expect(entity(harness, harness.settings.port.blueprints.resource, storage!.id)).toBeUndefined();
    expect(entity(harness, harness.settings.port.blueprints.resource, site!.id)).toBeDefined();
    const sandbox = rows.find((r) => /rg-sandbox$/i.test(r.id))!;
    expect(entity(harness, harness.settings.port.blueprints.resourceGroup, sandbox.id)).toBeUndefined();
    // A second full run over an unchanged estate writes nothing.
    harness.port.clearRequests();
    const again = await harness.run({ mode: 'full' });
    expect(again.counts).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect(harness.catalogWrites()).toBe(0);
  });

  it('windowed sync: a new storage account appears in its blueprint; a selector turning false deletes the entity', async () => {
    const harness = await exampleHarness();
    await harness.run();
    harness.arg.advance(MINUTE);
    const created = `${storage!.id}2`;
    harness.arg.upsertResource({ ...storage!, id: created, name: `${storage!.name}2`, properties: { supportsHttpsTrafficOnly: false } });
    harness.arg.upsertResource({ ...site!, tags: { env: 'sandbox' } });
    harness.arg.advance(15 * MINUTE);
    expect(await harness.run()).toMatchObject({ mode: 'window', status: 'succeeded' });
    expect(entity(harness, 'azureStorageAccount', created)?.properties).toMatchObject({ httpsOnly: false });
    expect(entity(harness, harness.settings.port.blueprints.resource, site!.id)).toBeUndefined();
  });

  it('real time: a tag change reaches the per-type blueprint, and a selector turning false deletes the entity', async () => {
    const harness = await exampleHarness();
    await harness.run();
    const loaded = await harness.deps().mapping!.mapping();
    const events = eventPathFor(harness, 90_000, {
      entities: entityMappingFromCatalog(loaded.mapper, harness.settings.port.blueprints, [...defaultBlueprints(harness.settings.port.blueprints), ...exampleBlueprints]),
      extraColumns: extraColumnsOf(loaded.mapper),
    });
    try {
      harness.arg.upsertResource({ ...vm!, tags: { env: 'Staging', owner: 'Ledger@contoso.com' } });
      harness.arg.upsertResource({ ...site!, tags: { env: 'sandbox' } });
      const outcomes = await Promise.all([vm!.id, site!.id].map((id) => events.processor.handle(writeEvent({ resourceId: id }))));
      expect(outcomes.map((o) => o.status)).toEqual(['upserted', 'deleted']);
      expect(entity(harness, 'azureVirtualMachine', vm!.id)?.properties).toMatchObject({ environment: 'staging' });
      expect(entity(harness, harness.settings.port.blueprints.resource, site!.id)).toBeUndefined();
    } finally {
      await events.close();
    }
  });

  it('real time, read from ARM while Resource Graph lags: the entity holds what properties and zones say, and the full sync after the lag writes nothing', async () => {
    const harness = await exampleHarness();
    await harness.run();
    // The production wiring (runtime.ts): mapping from PORT_APP_CONFIG_FILE, ARM reads at AZURE_ARM_ENDPOINT.
    const sent: string[] = [];
    const queue = { sendMessage: async (text: string) => void sent.push(text) };
    const graph = createResourceGraphReader(harness.settings.azure, harness.logger, { credential: harness.arg.credential });
    const processor = await createEventProcessor(harness.settings, harness.logger, {
      resourceGraph: graph,
      armCredential: harness.arg.credential,
      queues: { events: queue, poison: queue },
      clock: { now: () => harness.arg.now().getTime() },
    });
    try {
      harness.arg.advance(MINUTE);
      harness.arg.setLag({ tables: { resources: 10 * MINUTE } });
      const changed = {
        ...storage!,
        properties: { ...(storage!.properties as Record<string, unknown>), minimumTlsVersion: 'TLS1_3', publicNetworkAccess: 'Enabled' },
      };
      harness.arg.upsertResource(changed);
      harness.arg.upsertResource({ ...vm!, zones: ['2', '3'] });
      const now = harness.arg.now();
      const outcomes = await Promise.all([storage!.id, vm!.id].map((id) => processor.handle(writeEvent({ resourceId: id, eventTime: now }))));
      expect(outcomes.map((o) => o.status)).toEqual(['upserted', 'upserted']);
      expect(processor.counters.get('armReads')).toBe(2);
      expect(entity(harness, 'azureStorageAccount', storage!.id)?.properties).toMatchObject({
        httpsOnly: true,
        minimumTlsVersion: 'TLS1_3',
        publicNetworkAccess: 'Enabled',
        customerManagedKey: true,
      });
      expect(entity(harness, 'azureVirtualMachine', vm!.id)?.properties).toMatchObject({ size: 'Standard_D4s_v5', osType: 'Linux', zones: ['2', '3'] });
      // Resource Graph catches up: the full sync finds Port already holding what it maps, so it writes nothing.
      harness.arg.advance(11 * MINUTE);
      const full = await harness.run({ mode: 'full' });
      expect(full).toMatchObject({ mode: 'full', status: 'succeeded', counts: { created: 0, updated: 0, deleted: 0 } });
    } finally {
      await processor.drain();
    }
  });
});
