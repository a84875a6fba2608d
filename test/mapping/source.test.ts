/**
 * Where the mapping lives: the settings that select it, a file, and a Port integration's config read through the
 * Port emulator's integration routes (real HTTP, checked against Port's OpenAPI spec): a fresh read per run, a
 * short cache otherwise, and the last good mapping kept when the stored one is invalid or Port is down.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, memorySink } from '../../shared/log.js';
import { MappingConfigError } from '../../shared/mapping/config/load.js';
import { MappingProvider } from '../../shared/mapping/source.js';
import { PortClient } from '../../shared/port/client.js';
import { loadSettings, SettingsError } from '../../shared/settings.js';
import { validateExchange } from '../contract/portContract.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';

const BASE = { PORT_CLIENT_ID: 'id', PORT_CLIENT_SECRET: 'secret', AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

describe('settings: PORT_APP_CONFIG_SOURCE, PORT_APP_CONFIG_FILE, PORT_INTEGRATION_IDENTIFIER', () => {
  it('default unless a file is named; port needs an integration; a file source needs a file', () => {
    expect(loadSettings(BASE).mapping).toEqual({ source: 'default' });
    expect(loadSettings({ ...BASE, PORT_APP_CONFIG_FILE: 'mapping.yaml' }).mapping).toEqual({ source: 'file', file: 'mapping.yaml' });
    expect(loadSettings({ ...BASE, PORT_APP_CONFIG_SOURCE: 'port', PORT_INTEGRATION_IDENTIFIER: 'azure-port-sync' }).mapping).toEqual({ source: 'port', integrationIdentifier: 'azure-port-sync' });
    expect(loadSettings({ ...BASE, PORT_APP_CONFIG_SOURCE: 'default', PORT_APP_CONFIG_FILE: 'ignored.yaml' }).mapping).toEqual({ source: 'default' });
    const problems = (env: Record<string, string>) => {
      try {
        loadSettings({ ...BASE, ...env });
      } catch (error) {
        return (error as SettingsError).problems;
      }
      return [];
    };
    expect(problems({ PORT_APP_CONFIG_SOURCE: 'port' })).toEqual([{ key: 'PORT_INTEGRATION_IDENTIFIER', message: 'is required when PORT_APP_CONFIG_SOURCE is port (the integration whose config holds the mapping)' }]);
    expect(problems({ PORT_APP_CONFIG_SOURCE: 'file' })).toEqual([{ key: 'PORT_APP_CONFIG_FILE', message: 'is required when PORT_APP_CONFIG_SOURCE is file (the path of a port-app-config, YAML or JSON)' }]);
    expect(problems({ PORT_APP_CONFIG_SOURCE: 's3' })).toEqual([{ key: 'PORT_APP_CONFIG_SOURCE', message: 'must be default, file or port' }]);
    expect(problems({ PORT_APP_CONFIG_SOURCE: 'port', PORT_INTEGRATION_IDENTIFIER: 'a b' })).toEqual([{ key: 'PORT_INTEGRATION_IDENTIFIER', message: 'must be a Port integration identifier (letters, digits and @_.+:\\/=-)' }]);
  });
});

const logs = memorySink();
const logger = createLogger(logs, 'debug');
const portSettings = { blueprints: { subscription: 'azureSubscription', resourceGroup: 'azureResourceGroup', resource: 'azureCloudResources', state: 'azureWorkflowState' }, createMissingRelatedEntities: true };

describe('MappingProvider: file and default', () => {
  it('loads and validates a file once; a missing or invalid file fails with the reason', async () => {
    const provider = new MappingProvider({ settings: { mapping: { source: 'file', file: 'examples/port-app-config.yaml' }, port: portSettings }, logger });
    const loaded = await provider.mapping();
    expect(loaded.origin).toBe('examples/port-app-config.yaml');
    expect(await provider.mapping()).toBe(loaded);
    expect(provider.status()).toMatchObject({ source: 'file', origin: 'examples/port-app-config.yaml' });

    const missing = new MappingProvider({ settings: { mapping: { source: 'file', file: 'nope/mapping.yaml' }, port: portSettings }, logger });
    await expect(missing.mapping()).rejects.toThrow(/^Invalid mapping in nope\/mapping\.yaml \(1 problem\):\n {2}- \(file\): not found \(looked for .*nope\/mapping\.yaml\)$/);
  });

  it('the default mapping follows the blueprint settings', async () => {
    const provider = new MappingProvider({ settings: { mapping: { source: 'default' }, port: { ...portSettings, blueprints: { ...portSettings.blueprints, resource: 'myResources' } } }, logger });
    expect((await provider.mapping()).mapper.blueprints().map((b) => b.blueprint)).toEqual(['azureSubscription', 'azureResourceGroup', 'myResources']);
  });
});

describe('MappingProvider: a mapping kept in a Port integration', () => {
  let port: PortEmulator;
  let client: PortClient;
  const example = readFileSync('examples/port-app-config.yaml', 'utf8');
  let clock = 0;

  beforeAll(async () => {
    port = await startPortEmulator();
    client = new PortClient({ apiUrl: port.url, clientId: port.clientId, clientSecret: port.clientSecret, createMissingRelatedEntities: true, maxConcurrency: 2, requestTimeoutMs: 5_000, retryMaxAttempts: 1, logger });
  });
  afterAll(async () => {
    await port?.close();
  });
  beforeEach(() => {
    port.reset();
    clock = 0;
  });

  const provider = () =>
    new MappingProvider({ settings: { mapping: { source: 'port', integrationIdentifier: 'azure-port-sync' }, port: portSettings }, logger, port: client, cacheMs: 60_000, now: () => clock });
  const integrationGets = () => port.requests.filter((r) => r.method === 'GET' && r.path === '/v1/integration/azure-port-sync' && r.status === 200).length;

  it('creates the integration, reads its config, and every exchange matches Port’s spec', async () => {
    const { parse } = await import('yaml');
    await client.createIntegration({ identifier: 'azure-port-sync', installationAppType: 'azure-port-sync', version: '1', config: parse(example) as Record<string, unknown> });
    const p = provider();
    const loaded = await p.mapping();
    expect(loaded.origin).toBe('Port integration "azure-port-sync" (its config)');
    expect(loaded.mapper.blueprints().map((b) => b.blueprint)).toContain('azureStorageAccount');
    await client.updateIntegrationConfig('azure-port-sync', parse(example) as Record<string, unknown>);
    const specRoutes = port.requests.filter((r) => r.path.startsWith('/v1/integration/'));
    expect(specRoutes.length).toBe(2);
    for (const r of specRoutes) expect(validateExchange(r), `${r.method} ${r.path}`).toEqual([]);
  });

  it('caches between runs, re-reads at the start of a run, and picks up a change', async () => {
    port.integrations.seed('azure-port-sync', { resources: [] });
    const p = provider();
    expect((await p.mapping()).mapper.entries).toHaveLength(0);
    clock = 30_000;
    await p.mapping();
    expect(integrationGets()).toBe(1);
    const { parse } = await import('yaml');
    await client.updateIntegrationConfig('azure-port-sync', parse(example) as Record<string, unknown>);
    expect((await p.mapping()).mapper.entries).toHaveLength(0);
    expect((await p.mapping({ fresh: true })).mapper.entries).toHaveLength(6);
    clock = 61_000 + 30_000;
    await p.mapping();
    expect(integrationGets()).toBe(3);
    expect(p.status()).toMatchObject({ source: 'port', loadedAt: new Date(91_000) });
    expect(p.status().problem).toBeUndefined();
  });

  it('keeps the last good mapping when the stored one is invalid or Port is down, and says why', async () => {
    const { parse } = await import('yaml');
    port.integrations.seed('azure-port-sync', parse(example) as Record<string, unknown>);
    const p = provider();
    const good = await p.mapping();
    const bad = parse(example) as { resources: { port: { entity: { mappings: { properties: Record<string, string> } } } }[] };
    bad.resources[2]!.port.entity.mappings.properties.kind = '.kind | nope';
    await client.updateIntegrationConfig('azure-port-sync', bad as unknown as Record<string, unknown>);
    logs.records.length = 0;
    expect(await p.mapping({ fresh: true })).toBe(good);
    expect(p.status().problem).toMatch(/^the mapping in Port integration "azure-port-sync" \(its config\) was not used, the last good one \(loaded 1970-01-01T00:00:00\.000Z\) still is: Invalid mapping in Port integration "azure-port-sync" \(its config\) \(1 problem\):\n {2}- resources\[2\]\.port\.entity\.mappings\.properties\.kind: jq: nope\/0 is not defined/);
    expect(logs.records.some((r) => r.level === 'warn' && r.message === 'mapping: keeping the last good mapping')).toBe(true);

    port.setFaults({ next: [{ route: '/v1/integration/', status: 503, count: 5 }] });
    expect(await p.mapping({ fresh: true })).toBe(good);
    expect(p.status().problem).toMatch(/still is: .*503/);
    port.clearFaults();

    // Fixed in Port: the next read uses it and the problem clears.
    await client.updateIntegrationConfig('azure-port-sync', parse(example) as Record<string, unknown>);
    const again = await p.mapping();
    expect(again.mapper.entries).toHaveLength(6);
    expect(p.status().problem).toBeUndefined();
  });

  it('without a good mapping yet, an invalid or missing one fails loading (no run starts)', async () => {
    await expect(provider().mapping()).rejects.toThrow(/\(integration\): not found in Port: create it with `azure-port-sync mapping push --integration azure-port-sync --file <config>`/);
    port.integrations.seed('azure-port-sync', {});
    await expect(provider().mapping()).rejects.toBeInstanceOf(MappingConfigError);
    await expect(provider().mapping()).rejects.toThrow('resources: is required: a list of mapping entries');
  });

  it('the emulator checks config bodies as the spec does', async () => {
    port.integrations.seed('azure-port-sync', null);
    await expect(client.updateIntegrationConfig('azure-port-sync', { resources: [{ kind: 'resource' }] })).rejects.toThrow(/body\/config\/resources\/0 must have required property 'selector'/);
    await expect(client.updateIntegrationConfig('missing', { resources: [] })).rejects.toThrow(/Integration with identifier "missing" was not found/);
    await expect(client.createIntegration({ identifier: 'azure-port-sync', installationAppType: 'x', version: '1', config: {} })).rejects.toThrow(/already exists/);
    expect(await client.getIntegration('missing')).toBeUndefined();
  });
});
