/**
 * selector.graphQuery on every path, against both emulators: an entry whose rows come from the user's own KQL
 * writes its entities into its own blueprint on a full sync (which pages the query), a windowed sync and the
 * real-time path (which run it restricted to the ids at hand); a full sync never stale-deletes them; an entity is
 * deleted only when its resource is proven absent or the user query, restricted to its id, proves it no longer
 * selects it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { userProbeQuery } from '../../shared/azure/userQueries.js';
import { loadMappingFile } from '../../shared/mapping/source.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import type { BlueprintDefinition } from '../../shared/port/types.js';
import { entityMappingFromCatalog, extraColumnsOf } from '../../shared/sync/converge/catalogMapping.js';
import { eventPathFor } from '../defects/support.js';
import { writeEvent } from '../events/samples.js';
import { MINUTE, SUB_B, resourceId, seedSmallEstate, startHarness, typeOf, type Harness } from '../reconcile/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BLUEPRINT = 'azureStorageFromQuery';
const QUERY = [
  'resources',
  "| where type =~ 'microsoft.storage/storageaccounts'",
  '| extend env = tostring(tags.env), skuName = tostring(sku.name)',
  "| where env !in~ ('sandbox')",
  '| project id, name, type, location, env, skuName',
].join('\n');

const blueprint: BlueprintDefinition = {
  identifier: BLUEPRINT,
  title: 'Storage account (graphQuery)',
  icon: 'Azure',
  schema: { properties: { location: { type: 'string', title: 'Location' }, env: { type: 'string', title: 'Environment' } }, required: [] },
  relations: {},
};

function mappingFile(query = QUERY): string {
  const config = JSON.parse(readFileSync(path.join(root, 'shared/mapping/default-port-app-config.json'), 'utf8')) as { resources: unknown[] };
  config.resources.push({
    kind: 'Microsoft.Storage/storageAccounts',
    selector: { query: 'true', graphQuery: query },
    port: {
      entity: {
        mappings: {
          identifier: '.portIdentifier',
          title: '.name',
          blueprint: `"${BLUEPRINT}"`,
          properties: { location: '.location', env: '.env | select(. != "")' },
        },
      },
    },
  });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gq-')), 'port-app-config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(query?: string): Promise<Harness> {
  h = await startHarness({ PORT_APP_CONFIG_FILE: mappingFile(query) });
  const { PortClient } = await import('../../shared/port/client.js');
  const client = new PortClient({ ...h.settings.port, logger: h.logger });
  await client.ensureBlueprints([...defaultBlueprints(h.settings.port.blueprints), blueprint]);
  client.close();
  seedSmallEstate(h.arg);
  return h;
}

const storageIds = (harness: Harness) =>
  harness.arg.estate().resources.filter((r) => typeOf(String(r.id)) === 'microsoft.storage/storageaccounts').map((r) => String(r.id));
const inBlueprint = (harness: Harness) => harness.port.entities(BLUEPRINT).map((e) => e.identifier).sort();

describe('selector.graphQuery on every path', () => {
  it('full sync pages the user query: its entities are created, and a second full sync deletes none of them', async () => {
    const harness = await harness_();
    const first = await harness.run({ mode: 'full' });
    expect(first, JSON.stringify({ e: first.error, i: first.incompleteReasons, r: first.rejectedReasons })).toMatchObject({ status: 'succeeded' });
    const expected = storageIds(harness).map(toPortIdentifier).sort();
    expect(expected.length).toBe(3);
    expect(inBlueprint(harness)).toEqual(expected);
    expect(harness.port.entity(BLUEPRINT, expected[0]!)?.properties).toMatchObject({ location: 'westeurope' });
    // The query Resource Graph received is the user's, ordered by id for paging, after its zero-row probe.
    const queries = harness.arg.requests().map((r) => r.query);
    expect(queries).toContain(`${QUERY}\n| order by id asc`);
    expect(queries.indexOf(userProbeQuery(QUERY))).toBeGreaterThanOrEqual(0);
    expect(queries.indexOf(userProbeQuery(QUERY))).toBeLessThan(queries.indexOf(`${QUERY}\n| order by id asc`));
    const again = await harness.run({ mode: 'full' });
    expect(again).toMatchObject({ status: 'succeeded', counts: { deleted: 0, created: 0, updated: 0 } });
    expect(inBlueprint(harness)).toEqual(expected);
  });

  it('a graphQuery Resource Graph refuses (zero-row probe at run start) stops the run before any write, naming the entry', async () => {
    const harness = await harness_('resources | summarize count() by type');
    const run = await harness.run({ mode: 'full' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/resources\[3\]\.selector\.graphQuery: Resource Graph rejected it \(zero-row probe\)/);
    expect(harness.port.entities(harness.settings.port.blueprints.resource)).toEqual([]);
  });

  it('full sync: an entity the user query no longer selects, or whose resource is gone, is deleted with proof', async () => {
    const harness = await harness_();
    await harness.run({ mode: 'full' });
    const [first, second] = storageIds(harness);
    const row = harness.arg.estate().resources.find((r) => r.id === first)!;
    harness.arg.upsertResource({ ...row, tags: { ...(row.tags ?? {}), env: 'sandbox' } });
    harness.arg.deleteResource(second!);
    harness.arg.advance(MINUTE);
    const run = await harness.run({ mode: 'full' });
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons, d: run.deletionSkippedReason })).toMatchObject({ status: 'succeeded' });
    expect(inBlueprint(harness)).toEqual(storageIds(harness).filter((id) => id !== first).map(toPortIdentifier).sort());
    // The default resource blueprint still holds the sandbox account: only the graphQuery entry stopped selecting it.
    expect(harness.port.entity(harness.settings.port.blueprints.resource, toPortIdentifier(first!))).toBeDefined();
  });

  it('windowed sync: a new account appears, one the query stops selecting and one deleted go', async () => {
    const harness = await harness_();
    await harness.run({ mode: 'full' });
    harness.arg.advance(MINUTE);
    const [first, second] = storageIds(harness);
    const created = resourceId(SUB_B, 'rg-shared', 'Microsoft.Storage', 'storageAccounts', 'stnew1');
    harness.arg.upsertResource({ id: created, name: 'stnew1', type: 'microsoft.storage/storageaccounts', subscriptionId: SUB_B, resourceGroup: 'rg-shared', location: 'northeurope', tags: { env: 'prod' } });
    const row = harness.arg.estate().resources.find((r) => r.id === first)!;
    harness.arg.upsertResource({ ...row, tags: { env: 'sandbox' } });
    harness.arg.deleteResource(second!);
    harness.arg.advance(15 * MINUTE);
    const run = await harness.run();
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons })).toMatchObject({ mode: 'window', status: 'succeeded' });
    expect(harness.port.entity(BLUEPRINT, toPortIdentifier(created))?.properties).toMatchObject({ location: 'northeurope', env: 'prod' });
    expect(harness.port.entity(BLUEPRINT, toPortIdentifier(first!))).toBeUndefined();
    expect(harness.port.entity(BLUEPRINT, toPortIdentifier(second!))).toBeUndefined();
    // User ids reach the query only as escaped literals, through the lookup builder.
    const lookups = harness.arg.requests().filter((r) => r.query.startsWith(`${QUERY}\n| where id in~ (`));
    expect(lookups.length).toBeGreaterThan(0);
  });

  it('real time: a write event maps through the user query; a selector flip in it deletes the entity', async () => {
    const harness = await harness_();
    await harness.run({ mode: 'full' });
    const loaded = await loadMappingFile(harness.settings.mapping.source === 'file' ? harness.settings.mapping.file : '', { blueprints: harness.settings.port.blueprints });
    const events = eventPathFor(harness, 90_000, {
      entities: entityMappingFromCatalog(loaded.mapper, harness.settings.port.blueprints, [...defaultBlueprints(harness.settings.port.blueprints), blueprint]),
      extraColumns: extraColumnsOf(loaded.mapper),
    });
    try {
      const [first, second] = storageIds(harness);
      const one = harness.arg.estate().resources.find((r) => r.id === first)!;
      const two = harness.arg.estate().resources.find((r) => r.id === second)!;
      harness.arg.upsertResource({ ...one, location: 'eastus' });
      harness.arg.upsertResource({ ...two, tags: { env: 'sandbox' } });
      const outcomes = await Promise.all([first!, second!].map((id) => events.processor.handle(writeEvent({ resourceId: id }))));
      expect(outcomes.map((o) => o.status)).toEqual(['upserted', expect.stringMatching(/upserted|deleted/)]);
      expect(harness.port.entity(BLUEPRINT, toPortIdentifier(first!))?.properties).toMatchObject({ location: 'eastus' });
      expect(harness.port.entity(BLUEPRINT, toPortIdentifier(second!))).toBeUndefined();
      expect(harness.port.entity(harness.settings.port.blueprints.resource, toPortIdentifier(second!))).toBeDefined();
    } finally {
      await events.close();
    }
  });
});

const harness_ = harness;
