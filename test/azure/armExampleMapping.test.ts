/**
 * ARM reads and Resource Notifications give the entity the Resource Graph row gives, under the example mapping
 * (examples/port-app-config.yaml), which reads more than the default one: `properties.*` of storage accounts,
 * virtual machines and AKS clusters, `zones`, teams from tags, selectors. The mapping's extra columns reach both
 * readers (Resource Graph projects them; ARM has them in its payload), so a full sync never rewrites what the
 * real-time path wrote from ARM (test/azure/armReader.test.ts proves the same for the default mapping).
 *
 * Over real HTTP against the Resource Graph emulator and its ARM routes: the estate fixture, with ARM-shaped
 * `properties` and `zones` for the types the example maps (taken from the shapes in examples/rows.json), plus the
 * example rows themselves; and on Microsoft's examples (Resource Graph's basic query rows, the Resource
 * Notifications CreatedOrUpdated payload).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArmReadBudget } from '../../shared/azure/armBudget.js';
import { armPayloadToRow, notificationFields, overlayNotification } from '../../shared/azure/armNormalize.js';
import { ArmReader } from '../../shared/azure/armReader.js';
import type { ExtraColumns } from '../../shared/azure/queries.js';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { normalizeResourceId } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { loadMapping } from '../../shared/mapping/config/load.js';
import { DEFAULT_BLUEPRINT_IDS as ids, defaultBlueprints } from '../../shared/port/blueprints.js';
import type { BlueprintDefinition } from '../../shared/port/types.js';
import { entityMappingFromCatalog, extraColumnsOf } from '../../shared/sync/converge/catalogMapping.js';
import type { EntityMapping } from '../../shared/sync/converge/mapping.js';
import { armPayload } from '../emulators/resourceGraph/arm.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate, type GeneratedEstate } from '../fixtures/estate.js';
import { EVENTGRID_SPECS, RESOURCEGRAPH_STABLE } from '../support/reference.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const exampleRows = JSON.parse(readFileSync(path.join(root, 'examples/rows.json'), 'utf8')) as ArgRow[];
const exampleBlueprints = JSON.parse(readFileSync(path.join(root, 'examples/blueprints.json'), 'utf8')) as BlueprintDefinition[];
const logger = createLogger(memorySink(), 'error');

let mapping: EntityMapping;
let extra: ExtraColumns;
/** The entities (and unselected / error) the example mapping makes of a row, comparable as text. */
const entity = (row: ArgRow) => JSON.stringify(mapping.mapRow(row));

beforeAll(async () => {
  const loaded = await loadMapping(
    { text: readFileSync(path.join(root, 'examples/port-app-config.yaml'), 'utf8'), origin: 'examples/port-app-config.yaml' },
    { blueprints: ids },
  );
  mapping = entityMappingFromCatalog(loaded.mapper, ids, [...defaultBlueprints(ids), ...exampleBlueprints]);
  extra = extraColumnsOf(loaded.mapper);
});

/**
 * The estate fixture with what the example mapping reads, in ARM's form: storage account security settings, VM
 * size / OS / priority / zones, AKS version and pools (shapes of examples/rows.json), varied per resource so both
 * sides of every `//` default and selector are met.
 */
function withProperties(estate: GeneratedEstate): GeneratedEstate {
  const resources = estate.resources.map((row, i): ArgRow => {
    switch (row.type) {
      case 'microsoft.storage/storageaccounts':
        return {
          ...row,
          properties: {
            supportsHttpsTrafficOnly: i % 2 === 0,
            minimumTlsVersion: i % 3 === 0 ? 'TLS1_0' : 'TLS1_2',
            ...(i % 4 === 0 ? {} : { publicNetworkAccess: i % 4 === 1 ? 'Disabled' : 'Enabled' }),
            encryption: {
              keySource: i % 5 === 0 ? 'Microsoft.Keyvault' : 'Microsoft.Storage',
              services: { blob: { enabled: i % 7 !== 0, keyType: 'Account' }, file: { enabled: true, keyType: 'Account' } },
            },
            accessTier: 'Hot',
          },
        };
      case 'microsoft.compute/virtualmachines':
        return {
          ...row,
          ...(i % 3 === 0 ? {} : { zones: [String(1 + (i % 3))] }),
          properties: {
            hardwareProfile: { vmSize: i % 2 === 0 ? 'Standard_D4s_v5' : 'Standard_B2ms' },
            storageProfile: { osDisk: { osType: i % 2 === 0 ? 'Linux' : 'Windows', createOption: 'FromImage' } },
            priority: i % 4 === 0 ? 'Spot' : 'Regular',
          },
        };
      case 'microsoft.containerservice/managedclusters':
        return {
          ...row,
          properties: {
            kubernetesVersion: i % 2 === 0 ? '1.30.4' : '1.29.9',
            nodeResourceGroup: `MC_${String(row.resourceGroup)}_${String(row.name)}_${String(row.location)}`,
            ...(i % 3 === 0 ? {} : { apiServerAccessProfile: { enablePrivateCluster: i % 3 === 1 } }),
            agentPoolProfiles: [{ name: 'system', count: 1 + (i % 3) }, ...(i % 2 === 0 ? [{ name: 'user', count: 4 }] : [])],
          },
        };
      default:
        return { ...row, properties: { note: `resource ${i}` } };
    }
  });
  return { ...estate, resources };
}

describe('under the example mapping, an ARM read maps to the entity of the Resource Graph row', () => {
  let arg: ResourceGraphEmulator;
  let snapshot: GeneratedEstate;
  beforeAll(async () => {
    const estate = withProperties(generateEstate({ subscriptions: 3, resourceGroups: 12, resources: 400, seed: 14 }));
    const byType = (t: string) => exampleRows.filter((r) => String(r.type).toLowerCase() === t);
    arg = await startResourceGraphEmulator({
      quota: { limit: 10_000, windowMs: 5_000 },
      estate: {
        subscriptions: [...estate.subscriptions, ...byType('microsoft.resources/subscriptions')],
        resourceGroups: [...estate.resourceGroups, ...byType('microsoft.resources/subscriptions/resourcegroups')],
        resources: [...estate.resources, ...exampleRows.filter((r) => !String(r.type).startsWith('microsoft.resources/'))],
      },
    });
    snapshot = arg.estate();
  });
  afterAll(() => arg.close());

  it('for every resource and resource group of the estate and of examples/rows.json, both read over HTTP', async () => {
    expect(extra.resource).toEqual(expect.arrayContaining(['properties', 'zones']));
    const graph = new ResourceGraphReader({ endpoint: arg.url, credential: arg.credential });
    graph.useExtraColumns(extra);
    const arm = new ArmReader({ endpoint: arg.url, credential: arg.credential, budget: new ArmReadBudget({ readsPerSecond: 10_000 }), logger });
    arm.useExtraColumns(extra);
    const rows = [...snapshot.resourceGroups, ...snapshot.resources];
    const observed = await graph.observe(
      rows.map((r) => r.id),
      { subscriptionIds: snapshot.subscriptions.map((s) => String(s.subscriptionId)) },
    );
    const typed = new Map<string, number>();
    let compared = 0;
    for (const row of rows) {
      const fromGraph = observed.get(normalizeResourceId(row.id));
      expect(fromGraph?.state, row.id).toBe('present');
      if (fromGraph?.state !== 'present') continue;
      const read = await arm.read(row.id);
      expect(read.status, `${row.id} ${JSON.stringify(read)}`).toBe('found');
      if (read.status !== 'found') continue;
      expect(entity(read.row), row.id).toBe(entity(fromGraph.row));
      for (const e of mapping.mapRow(fromGraph.row).entities) typed.set(e.blueprint, (typed.get(e.blueprint) ?? 0) + 1);
      compared++;
    }
    expect(compared).toBe(rows.length);
    // The comparison met the typed blueprints, whose properties come from `properties` and `zones`.
    for (const blueprint of ['azureStorageAccount', 'azureVirtualMachine', 'azureKubernetesCluster']) expect(typed.get(blueprint), blueprint).toBeGreaterThan(3);
  });

  it('the values read from properties and zones reach the entity from ARM (not the mapping defaults)', async () => {
    const arm = new ArmReader({ endpoint: arg.url, credential: arg.credential, budget: new ArmReadBudget({ readsPerSecond: 10_000 }), logger });
    arm.useExtraColumns(extra);
    const [storage, vm, aks] = ['storageaccounts/stpaymentsprod', 'virtualmachines/vm-ledger-01', 'managedclusters/aks-payments'].map(
      (tail) => exampleRows.find((r) => r.id.toLowerCase().endsWith(tail))!,
    );
    const propertiesOf = async (row: ArgRow) => {
      const read = await arm.read(row.id);
      if (read.status !== 'found') throw new Error(`${row.id}: ${JSON.stringify(read)}`);
      return mapping.mapRow(read.row).entities[0]?.entity.properties;
    };
    expect(await propertiesOf(storage!)).toMatchObject({ httpsOnly: true, publicNetworkAccess: 'Disabled', customerManagedKey: true, blobEncryption: true });
    expect(await propertiesOf(vm!)).toMatchObject({ size: 'Standard_D4s_v5', osType: 'Linux', zones: ['1'], spot: false });
    expect(await propertiesOf(aks!)).toMatchObject({ kubernetesVersion: '1.30.4', nodePools: ['system', 'user'], nodeCount: 8, privateCluster: true });
  });
});

describe("under the example mapping, on Microsoft's examples", () => {
  it('the Resource Graph basic query rows: the ARM shape of each (provider-cased type, display-name location) gives the row\'s entity', () => {
    const example = JSON.parse(readFileSync(path.join(RESOURCEGRAPH_STABLE, 'examples/ResourcesBasicQuery.json'), 'utf8')) as {
      responses: { 200: { body: { data: ArgRow[] } } };
    };
    const rows = example.responses[200].body.data;
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const payload = { ...armPayload({ ...row, properties: {} }), location: row.location === 'centralus' ? 'Central US' : row.location };
      const fromArm = armPayloadToRow(payload, null, extra.resource);
      expect(fromArm).not.toBeInstanceOf(Error);
      expect(entity(fromArm as ArgRow)).toBe(entity({ ...row, properties: {} }));
    }
  });

  it("the Resource Notifications CreatedOrUpdated payload (1/0 booleans) laid over the storage account's Resource Graph row gives that row's entity", () => {
    const text = readFileSync(path.join(EVENTGRID_SPECS, 'Microsoft.ResourceNotifications/stable/2018-01-01/examples/event-grid-schema/Resources_CreatedOrUpdated.json'), 'utf8')
      .replace(/\{subscription-id\}|\{subcription-id\}/g, '00000000-0000-0000-0000-0000000000aa')
      .replace(/\{rg-name\}/g, 'rg-notify')
      .replace(/\{storageAccount-name\}/g, 'stnotify');
    const info = (JSON.parse(text) as { data: { resourceInfo: Record<string, unknown> & { properties: Record<string, unknown> } } }).data.resourceInfo;
    // Resource Graph's row of the same account: ARM's properties (true/false where the payload says 1/0), the
    // type lower-cased, provisioningState flattened, and the columns a notification does not carry.
    const booleans = (value: unknown, key = ''): unknown =>
      Array.isArray(value)
        ? value.map((v) => booleans(v))
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, booleans(v, k)]))
          : (value === 1 || value === 0) && /^(allow|supports|require|enabled)/i.test(key)
            ? value === 1
            : value;
    const row: ArgRow = {
      id: String(info.id),
      name: 'StorageAccount-name',
      type: 'microsoft.storage/storageaccounts',
      kind: 'StorageV2',
      location: 'eastus',
      resourceGroup: 'rg-notify',
      subscriptionId: '00000000-0000-0000-0000-0000000000aa',
      tenantId: '00000000-0000-0000-0000-0000000000bb',
      managedBy: '',
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      tags: {},
      provisioningState: 'Succeeded',
      properties: booleans(info.properties) as Record<string, unknown>,
    };
    const fields = notificationFields(info);
    expect(fields).not.toBeInstanceOf(Error);
    const expected = mapping.mapRow(row);
    expect(expected.entities[0]?.entity.properties).toMatchObject({ httpsOnly: true, blobEncryption: true, minimumTlsVersion: 'TLS1_2' });
    expect(entity(overlayNotification(row, fields as ArgRow))).toBe(entity(row));
    // A stale row (old tags and location, still Updating) is corrected by the payload's fields; properties stay the row's.
    const stale = { ...row, tags: { env: 'sandbox' }, location: 'westus', provisioningState: 'Updating' };
    expect(entity(stale)).not.toBe(entity(row));
    expect(entity(overlayNotification(stale, fields as ArgRow))).toBe(entity(row));
  });
});
