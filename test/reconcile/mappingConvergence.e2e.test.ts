/**
 * A mapping beyond the defaults, on the full sync, against both emulators:
 * - a run stops before writing anything when the mapping writes a blueprint Port does not have, naming the entry;
 * - stale entities of a custom (non-default) blueprint are deleted, each after its own by-id proof read;
 * - a mapping change converges on the next full sync: an entry whose kind changes, and an entry removed while its
 *   blueprint stays, leave no entity behind in that blueprint for resources it no longer maps there;
 * - a Port-stored mapping that becomes invalid keeps the last good one in use, and the state entity says why.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { MappingProvider } from '../../shared/mapping/source.js';
import { PortClient } from '../../shared/port/client.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import type { BlueprintDefinition } from '../../shared/port/types.js';
import { MINUTE, SUB_A, resourceId, seedSmallEstate, startHarness, typeOf, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CUSTOM = 'azureTracked';
const custom: BlueprintDefinition = {
  identifier: CUSTOM,
  title: 'Tracked resource',
  icon: 'Azure',
  schema: { properties: { location: { type: 'string', title: 'Location' } }, required: [] },
  relations: {},
};

const entry = (kind: string) => ({
  kind,
  selector: { query: 'true' },
  port: { entity: { mappings: { identifier: '.portIdentifier', title: '.name', blueprint: `"${CUSTOM}"`, properties: { location: '.location' } } } },
});

function config(...kinds: string[]): Record<string, unknown> {
  const base = JSON.parse(readFileSync(path.join(root, 'shared/mapping/default-port-app-config.json'), 'utf8')) as { resources: unknown[] };
  return { ...base, resources: [...base.resources, ...kinds.map(entry)] };
}

function file(value: Record<string, unknown>): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'mapping-')), 'port-app-config.json');
  writeFileSync(f, JSON.stringify(value));
  return f;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(env: Record<string, string>, createCustom = true): Promise<Harness> {
  h = await startHarness(env);
  if (createCustom) {
    const client = new PortClient({ ...h.settings.port, logger: h.logger });
    await client.ensureBlueprints([...defaultBlueprints(h.settings.port.blueprints), custom]);
    client.close();
  }
  seedSmallEstate(h.arg);
  return h;
}

/** The harness's deps with another mapping file (a changed mapping, as a redeploy would bring). */
const withFile = (harness: Harness, f: string) => ({
  mapping: new MappingProvider({ settings: { ...harness.settings, mapping: { source: 'file' as const, file: f } }, logger: harness.logger }),
});

const ofType = (harness: Harness, type: string) =>
  harness.arg.estate().resources.filter((r) => typeOf(String(r.id)) === type).map((r) => toPortIdentifier(String(r.id))).sort();
const tracked = (harness: Harness) => harness.port.entities(CUSTOM).map((e) => e.identifier).sort();
const STORAGE = 'microsoft.storage/storageaccounts';
const VAULT = 'microsoft.keyvault/vaults';

describe('a mapping beyond the default blueprints, on the full sync', () => {
  it('a run stops before any catalog write when the mapping writes a blueprint Port lacks, naming the entry', async () => {
    const harness = await start({ PORT_APP_CONFIG_FILE: file(config('Microsoft.Storage/storageAccounts')) }, false);
    const run = await harness.run({ mode: 'full' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/resources\[3\]\.port\.entity\.mappings\.blueprint: blueprint "azureTracked" does not exist in Port: create it first/);
    expect(harness.catalogWrites()).toBe(0);
    expect(harness.port.entities(harness.settings.port.blueprints.resource)).toEqual([]);
  });

  it('stale entities of a custom blueprint are deleted, each after a by-id proof read', async () => {
    const harness = await start({ PORT_APP_CONFIG_FILE: file(config('Microsoft.Storage/storageAccounts')) });
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    expect(tracked(harness)).toEqual(ofType(harness, STORAGE));
    const gone = harness.arg.estate().resources.find((r) => typeOf(String(r.id)) === STORAGE)!;
    harness.arg.deleteResource(String(gone.id));
    const never = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stnever');
    harness.port.seed(CUSTOM, [{ identifier: toPortIdentifier(never), title: 'stnever', properties: {}, relations: {} }]);
    harness.arg.advance(MINUTE);
    const before = harness.arg.requests().length;
    const run = await harness.run({ mode: 'full' });
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons, d: run.deletionSkippedReason })).toMatchObject({ status: 'succeeded' });
    expect(tracked(harness)).toEqual(ofType(harness, STORAGE));
    expect(tracked(harness)).not.toContain(toPortIdentifier(String(gone.id)));
    // Each was looked up by id (the proof) after the listing, not deleted for missing from it alone.
    const lookups = harness.arg.requests().slice(before).filter((r) => /\| where id in~ \(/.test(r.query)).map((r) => r.query.toLowerCase());
    for (const id of [String(gone.id), never]) expect(lookups.some((q) => q.includes(`'${id.toLowerCase()}'`))).toBe(true);
  });

  it('an entry whose kind changes converges on the next full sync: its blueprint keeps only what it now maps', async () => {
    const harness = await start({ PORT_APP_CONFIG_FILE: file(config('Microsoft.Storage/storageAccounts')) });
    await harness.run({ mode: 'full' });
    expect(tracked(harness)).toEqual(ofType(harness, STORAGE));
    harness.arg.advance(MINUTE);
    // Every entity of the blueprint changes: the deletion guard would hold that back under the default threshold.
    const run = await harness.run({ mode: 'full' }, withFile(harness, file({ ...config('Microsoft.KeyVault/vaults'), entityDeletionThreshold: 1 })));
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons, d: run.deletionSkippedReason })).toMatchObject({ status: 'succeeded' });
    expect(tracked(harness)).toEqual(ofType(harness, VAULT));
    // The storage accounts still exist: the default resource blueprint keeps them.
    for (const id of ofType(harness, STORAGE)) expect(harness.port.entity(harness.settings.port.blueprints.resource, id)).toBeDefined();
  });

  it('a removed entry converges on the next full sync while its blueprint stays in the mapping', async () => {
    const harness = await start({ PORT_APP_CONFIG_FILE: file(config('Microsoft.Storage/storageAccounts', 'Microsoft.KeyVault/vaults')) });
    await harness.run({ mode: 'full' });
    expect(tracked(harness)).toEqual([...ofType(harness, STORAGE), ...ofType(harness, VAULT)].sort());
    harness.arg.advance(MINUTE);
    const run = await harness.run({ mode: 'full' }, withFile(harness, file(config('Microsoft.Storage/storageAccounts'))));
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(tracked(harness)).toEqual(ofType(harness, STORAGE));
  });

  it('a Port-stored mapping that turns invalid: the last good one stays in use and the state entity names the problem', async () => {
    const harness = await start({ PORT_APP_CONFIG_SOURCE: 'port', PORT_INTEGRATION_IDENTIFIER: 'azure-port-sync' });
    const client = new PortClient({ ...harness.settings.port, logger: harness.logger });
    try {
      harness.port.integrations.seed('azure-port-sync', config('Microsoft.Storage/storageAccounts'));
      expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
      expect(harness.stateEntity()?.properties?.mappingProblem ?? null).toBeNull();
      const broken = config('Microsoft.KeyVault/vaults');
      (broken.resources as { port: { entity: { mappings: { properties: Record<string, string> } } } }[])[3]!.port.entity.mappings.properties.location = '.location | ';
      await client.updateIntegrationConfig('azure-port-sync', broken);
      harness.arg.advance(MINUTE);
      const run = await harness.run({ mode: 'full' });
      expect(run.status).toBe('succeeded');
      // The last good mapping wrote the storage accounts, and nothing of the broken one (key vaults) was applied.
      expect(tracked(harness)).toEqual(ofType(harness, STORAGE));
      const problem = String(harness.stateEntity()?.properties?.mappingProblem ?? '');
      expect(problem).toMatch(/the last good one .* still is/);
      expect(problem).toMatch(/resources\[3\]\.port\.entity\.mappings\.properties\.location: jq: /);
      expect(harness.logs.records.some((r) => r.message === 'mapping: keeping the last good mapping')).toBe(true);
      // Fixed in Port: the next run uses it and clears the problem.
      await client.updateIntegrationConfig('azure-port-sync', config('Microsoft.KeyVault/vaults'));
      harness.arg.advance(MINUTE);
      expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
      expect(harness.stateEntity()?.properties?.mappingProblem ?? null).toBeNull();
    } finally {
      client.close();
    }
  });
});
