/**
 * The default port-app-config (shared/mapping/default-port-app-config.json) produces exactly the entities of the
 * former hard-coded mapping (`mapRow` in shared/mapping/index.ts): over the Resource Graph spec examples, the
 * estate fixtures as the app's own queries read them back from the Resource Graph emulator, the odd rows of
 * test/mapping/mapping.test.ts, and generated realistic rows.
 *
 * Known, accepted differences (none reachable from Resource Graph): a non-string tag value is stringified by jq's
 * tojson rather than JSON.stringify (Azure tag values are strings); a string made only of U+FEFF or U+0085 counts as
 * blank differently (jq's trim vs JavaScript's); non-ASCII letters in a type are not lower-cased by ascii_downcase
 * (Azure types are ASCII); a `__proto__` tag was lost by mapRow and is kept here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { loadDefaultMapping } from '../../shared/mapping/default.js';
import { mapRow } from '../../shared/mapping/index.js';
import type { JqCatalogMapper } from '../../shared/mapping/mapper.js';
import { DEFAULT_BLUEPRINT_IDS, type BlueprintIds } from '../../shared/port/blueprints.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { RESOURCEGRAPH_STABLE } from '../support/reference.js';

/** JSON with sorted keys, so "absent" and "present" are told apart and key order is not. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function expectSameAsMapRow(mapper: JqCatalogMapper, ids: BlueprintIds, rows: ArgRow[]): number {
  const mapped = mapper.mapRows(rows);
  rows.forEach((row, i) => {
    const before = mapRow(row, ids);
    const after = mapped[i]!;
    const context = `row ${JSON.stringify(row)}\nrejected: ${JSON.stringify(after.rejected)}`;
    expect(after.rejected, context).toEqual([]);
    expect(after.unselected, context).toEqual([]);
    expect(canonical(after.entities.map((e) => ({ blueprint: e.blueprint, entity: e.entity }))), context).toBe(canonical(before ? [before] : []));
  });
  return rows.length;
}

function specExampleRows(): ArgRow[] {
  const dir = join(RESOURCEGRAPH_STABLE, 'examples');
  const rows: ArgRow[] = [];
  for (const file of readdirSync(dir)) {
    const body = (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { responses?: Record<string, { body?: { data?: unknown } }> }).responses?.['200']?.body?.data;
    if (Array.isArray(body)) rows.push(...(body as ArgRow[]).filter((r) => typeof r?.id === 'string'));
  }
  return rows;
}

const SUB = 'cfbbd179-59d2-4052-aa06-9270a38aa9d6';
const ODD_ROWS: ArgRow[] = [
  { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/a`, name: null, type: null, tags: 'x' as unknown as null, sku: [] as unknown as null, provisioningState: '' },
  { id: `/subscriptions/${SUB}/providers/Microsoft.Security/pricings/VirtualMachines` },
  { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d` },
  { id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments/x` },
  { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d` },
  { id: 'garbage' },
  {} as ArgRow,
  { id: `/subscriptions/${SUB}`, name: 'Contoso Prod', subscriptionId: SUB, tenantId: 't', state: 'Enabled', tags: null },
  { id: `/subscriptions/${SUB.toUpperCase()}`, name: '  ', displayName: 'Shown', subscriptionId: '' },
  { id: `/subscriptions/${SUB}/resourceGroups/RG (1)/providers/Microsoft.Storage/storageAccounts/Store1`, name: 'Store1', type: 'Microsoft.Storage/storageAccounts', kind: 'StorageV2', location: 'westeurope', tenantId: 't', managedBy: '', sku: { name: 'Standard_LRS' }, tags: { env: 'prod', 'cost center': '42', n: 5 as unknown as string, o: { a: [1, 'x'] } as unknown as string }, provisioningState: 'Succeeded' },
  { id: `subscriptions//${SUB}/resourcegroups/My-RG/`, name: 42 as unknown as string, location: ' ', managedBy: '/subscriptions/x' },
  { id: `/subscriptions/${SUB}/resourceGroups/rg café #1/providers/A.B/c/d?x`, tenantId: 'tenant id' },
];

const realisticRow: fc.Arbitrary<ArgRow> = fc
  .record({
    sub: fc.constantFrom(SUB, SUB.toUpperCase()),
    group: fc.stringMatching(/^[A-Za-z0-9._() -]{1,12}$/),
    segment: fc.constantFrom('resourceGroups', 'resourcegroups'),
    provider: fc.constantFrom('Microsoft.Storage/storageAccounts/', 'microsoft.web/sites/', 'Microsoft.Sql/servers/s1/databases/', 'Microsoft.Network/virtualNetworks/'),
    name: fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
    level: fc.constantFrom('subscription', 'group', 'resource', 'resource'),
    text: fc.record({ name: fc.constantFrom(undefined, null, '', ' ', 'Shown'), kind: fc.constantFrom(undefined, '', 'app'), location: fc.constantFrom(null, '', 'eastus'), managedBy: fc.constantFrom('', null, '/x'), provisioningState: fc.constantFrom('', 'Succeeded'), state: fc.constantFrom(undefined, 'Enabled', ''), tenantId: fc.constantFrom(undefined, '', 'tid'), subscriptionId: fc.constantFrom(undefined, '', SUB) }, { requiredKeys: [] }),
    type: fc.constantFrom(undefined, null, '', 'Microsoft.Storage/storageAccounts', 'microsoft.web/sites'),
    sku: fc.constantFrom(undefined, null, { name: 'S1' }, ['x']),
    tags: fc.oneof(fc.constant(null), fc.dictionary(fc.stringMatching(/^[a-z -]{0,6}$/), fc.stringMatching(/^[a-z0-9@. ]{0,8}$/), { maxKeys: 3 })),
  })
  .map(({ sub, group, segment, provider, name, level, text, type, sku, tags }) => {
    const id = level === 'subscription' ? `/subscriptions/${sub}` : level === 'group' ? `/subscriptions/${sub}/${segment}/${group}` : `/subscriptions/${sub}/${segment}/${group}/providers/${provider}${name}`;
    const row: ArgRow = { id, ...text, tags };
    if (type !== undefined) row.type = type;
    if (sku !== undefined) row.sku = sku as ArgRow['sku'];
    return row;
  });

const custom: BlueprintIds = { subscription: 'sub', resourceGroup: 'rg', resource: 'res', state: 'st' };
let mapper: JqCatalogMapper;
let customMapper: JqCatalogMapper;
let emulator: ResourceGraphEmulator;

beforeAll(async () => {
  mapper = (await loadDefaultMapping({ blueprints: DEFAULT_BLUEPRINT_IDS })).mapper;
  customMapper = (await loadDefaultMapping({ blueprints: custom })).mapper;
});
afterAll(async () => {
  await emulator?.close();
});

describe('the default mapping file equals the former hard-coded mapping', () => {
  it('over the Resource Graph spec examples', () => {
    expect(expectSameAsMapRow(mapper, DEFAULT_BLUEPRINT_IDS, specExampleRows())).toBeGreaterThan(5);
  });

  it('over the estate fixtures, read back through the app’s own queries from the Resource Graph emulator', async () => {
    const estate = generateEstate({ subscriptions: 3, resourceGroups: 40, resources: 1_500, seed: 12 });
    emulator = await startResourceGraphEmulator({ estate, quota: { limit: 100_000, windowMs: 1_000 } });
    const reader = new ResourceGraphReader({ endpoint: emulator.url, credential: emulator.credential, retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
    const scope = { subscriptionIds: estate.subscriptions.map((s) => String(s.subscriptionId).toLowerCase()) };
    let count = 0;
    for (const pages of [reader.listSubscriptions(scope), reader.listResourceGroups(scope), reader.listResources(scope)]) {
      for await (const page of pages) count += expectSameAsMapRow(mapper, DEFAULT_BLUEPRINT_IDS, page);
    }
    expect(count).toBe(3 + 40 + 1_500);
  });

  it('over the generated estate rows directly, with the blueprint ids from settings', () => {
    for (const seed of [1, 2]) {
      const estate = generateEstate({ subscriptions: 4, resourceGroups: 30, resources: 800, seed });
      const rows = [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources];
      expectSameAsMapRow(mapper, DEFAULT_BLUEPRINT_IDS, rows);
      expectSameAsMapRow(customMapper, custom, rows);
    }
  });

  it('over odd rows (missing fields, blank strings, non-resources, bad ids)', () => {
    const comparable = ODD_ROWS.filter((row) => !(row.tags && typeof row.tags === 'object' && Object.values(row.tags).some((v) => typeof v === 'number')));
    expectSameAsMapRow(mapper, DEFAULT_BLUEPRINT_IDS, comparable);
  });

  it('over generated realistic rows', () => {
    fc.assert(fc.property(fc.array(realisticRow, { minLength: 1, maxLength: 20 }), (rows) => void expectSameAsMapRow(mapper, DEFAULT_BLUEPRINT_IDS, rows)), { numRuns: 200 });
  });

  it('reads no Resource Graph column beyond the app’s projections, so it moves no more bytes than before', () => {
    expect(mapper.extraColumns()).toEqual([]);
    expect(mapper.graphQueries()).toEqual([]);
  });

  it('keeps today’s Port options: no dependent deletes, merge upserts, thresholds from the settings', () => {
    expect(mapper.settings).toEqual({ deleteDependentEntities: false, createMissingRelatedEntities: true, enableMergeEntity: true });
    expect(mapper.blueprints()).toEqual([
      { blueprint: 'azureSubscription', level: 'subscription', properties: ['subscriptionId', 'tenantId', 'state', 'tags', 'url'], relations: [] },
      { blueprint: 'azureResourceGroup', level: 'resourceGroup', properties: ['location', 'provisioningState', 'managedBy', 'tags', 'url'], relations: ['subscription'] },
      { blueprint: 'azureCloudResources', level: 'resource', properties: ['resourceId', 'type', 'kind', 'location', 'sku', 'provisioningState', 'managedBy', 'tags', 'url'], relations: ['resourceGroup', 'subscription'] },
    ]);
  });
});
