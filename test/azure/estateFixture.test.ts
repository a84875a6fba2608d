import { describe, expect, it } from 'vitest';
import { armScopeFor } from '../../shared/azure/credential.js';
import { ResourceGraphReader, createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { normalizeResourceId, parseResourceId } from '../../shared/azure/resourceId.js';
import { silentLogger } from '../../shared/log.js';
import { loadSettings } from '../../shared/settings.js';
import { generateEstate } from '../fixtures/estate.js';

describe('generateEstate (shared fixture)', () => {
  it('is deterministic per seed', () => {
    const a = generateEstate({ subscriptions: 3, resourceGroups: 20, resources: 300, seed: 5 });
    expect(generateEstate({ subscriptions: 3, resourceGroups: 20, resources: 300, seed: 5 })).toEqual(a);
    expect(generateEstate({ subscriptions: 3, resourceGroups: 20, resources: 300, seed: 6 })).not.toEqual(a);
  });

  it('produces the requested counts, unique ids, parseable ids of the right kind and real-world casing quirks', () => {
    const estate = generateEstate({ subscriptions: 4, resourceGroups: 45, resources: 2_000, seed: 2 });
    expect([estate.subscriptions.length, estate.resourceGroups.length, estate.resources.length]).toEqual([4, 45, 2_000]);
    const all = [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources];
    expect(new Set(all.map((row) => normalizeResourceId(row.id))).size).toBe(all.length);
    expect(estate.subscriptions.every((row) => parseResourceId(row.id).kind === 'subscription')).toBe(true);
    expect(estate.resourceGroups.every((row) => parseResourceId(row.id).kind === 'resourceGroup')).toBe(true);
    expect(estate.resources.every((row) => ['resource', 'childResource'].includes(parseResourceId(row.id).kind))).toBe(true);
    expect(estate.resources.every((row) => parseResourceId(row.id).type === row.type)).toBe(true);
    expect(estate.resourceGroups.some((row) => row.id.includes('/resourcegroups/'))).toBe(true);
    expect(estate.resourceGroups.some((row) => row.id.includes('/resourceGroups/'))).toBe(true);
    expect(estate.resourceGroups.some((row) => /[()]/.test(row.id) && row.id.includes(' '))).toBe(true);
    expect(estate.resources.some((row) => row.id.includes('/providers/microsoft.'))).toBe(true);
    expect(estate.resources.some((row) => parseResourceId(row.id).kind === 'childResource')).toBe(true);
  });

  it('generates 100k resources fast', () => {
    const started = Date.now();
    const estate = generateEstate({ subscriptions: 10, resourceGroups: 500, resources: 100_000, seed: 1 });
    expect(estate.resources).toHaveLength(100_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects impossible shapes with a clear error', () => {
    expect(() => generateEstate({ subscriptions: 0, resourceGroups: 1, resources: 0 })).toThrow(/at least one subscription/);
    expect(() => generateEstate({ subscriptions: 1, resourceGroups: -1, resources: 0 })).toThrow(/resourceGroups must be a whole number/);
  });
});

describe('production wiring', () => {
  it('createResourceGraphReader builds a reader from settings without touching the network', () => {
    const settings = loadSettings({ PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret', AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(createResourceGraphReader(settings.azure, silentLogger)).toBeInstanceOf(ResourceGraphReader);
  });

  it('token scopes follow the ARM endpoint (sovereign clouds)', () => {
    expect(armScopeFor('https://management.azure.com')).toBe('https://management.azure.com/.default');
    expect(armScopeFor('https://management.usgovcloudapi.net/')).toBe('https://management.usgovcloudapi.net/.default');
  });

  it('rejects out-of-range batch sizes', () => {
    expect(
      () => new ResourceGraphReader({ endpoint: 'https://management.azure.com', credential: { getToken: async () => null }, subscriptionBatchSize: 1001 }),
    ).toThrow(/subscriptionBatchSize must be 1..1000/);
  });
});
