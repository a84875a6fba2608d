/**
 * `azure-port-sync mapping …` run in-process (runCli): validate, preview (from a rows file with no settings at all,
 * and from the Resource Graph emulator), default, and push into the Port emulator.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgRow } from '../../shared/azure/types.js';
import { runCli } from '../../shared/cli/main.js';
import { loadMapping } from '../../shared/mapping/config/load.js';
import { loadDefaultMapping } from '../../shared/mapping/default.js';
import { DEFAULT_BLUEPRINT_IDS } from '../../shared/port/blueprints.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';

let port: PortEmulator;
let arg: ResourceGraphEmulator;
const rows = JSON.parse(readFileSync('examples/rows.json', 'utf8')) as ArgRow[];
const dir = mkdtempSync(join(tmpdir(), 'mapping-cli-'));

beforeAll(async () => {
  port = await startPortEmulator();
  arg = await startResourceGraphEmulator({ quota: { limit: 10_000, windowMs: 1_000 } });
  arg.upsertSubscription(rows[0]!);
  arg.upsertResourceGroup(rows[1]!);
  arg.upsertResourceGroup(rows[2]!);
  for (const row of rows.slice(3)) arg.upsertResource(row);
});
afterAll(async () => {
  await Promise.all([port?.close(), arg?.close()]);
});

async function cli(argv: string[], env: Record<string, string> = {}, withServices = false) {
  let stdout = '';
  let stderr = '';
  const serviceEnv = withServices ? { PORT_CLIENT_ID: port.clientId, PORT_CLIENT_SECRET: port.clientSecret, PORT_API_URL: port.url, AZURE_ARM_ENDPOINT: arg.url, PORT_RETRY_MAX_ATTEMPTS: '1' } : {};
  const code = await runCli(argv, {
    env: { ...serviceEnv, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    deps: { credential: arg.credential },
  });
  return { code, stdout, stderr };
}

describe('mapping validate', () => {
  it('a valid file, with no settings at all', async () => {
    const r = await cli(['mapping', 'validate', '--file', 'examples/port-app-config.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid: examples/port-app-config.yaml\n  resources[0] subscription → azureSubscription\n');
    expect(r.stdout).toContain('  Resource Graph columns beyond the default projections: properties, zones\n');
  });

  it('an invalid file: exit 1, every problem with its place; --json gives them as data', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync('examples/port-app-config.yaml', 'utf8').replace('sku: .sku.name', 'sku: .sku.name | (').replace('kind: Microsoft.Compute/virtualMachines', 'kind: virtualMachines'));
    const r = await cli(['mapping', 'validate', '--file', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Invalid mapping in ${file} (2 problems):`);
    expect(r.stdout).toContain('  - resources[2].port.entity.mappings.properties.sku: jq: syntax error');
    expect(r.stdout).toContain('  - resources[3].kind: unknown kind "virtualMachines"');
    const json = await cli(['mapping', 'validate', '--file', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, origin: file, problems: [{ path: 'resources[2].port.entity.mappings.properties.sku' }, { path: 'resources[3].kind' }] });
  });

  it('without --file, validates what the settings select (here the default mapping)', async () => {
    const r = await cli(['mapping', 'validate', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, origin: 'the default mapping (shared/mapping/default-port-app-config.json)', extraColumns: [], expressions: { total: 31, compiled: 31 } });
  });
});

describe('mapping preview', () => {
  it('--row and --file: entities and why entries skip rows, with no Azure or Port settings', async () => {
    const r = await cli(['mapping', 'preview', '--file', 'examples/port-app-config.yaml', '--row', 'examples/rows.json', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { entities: { blueprint: string; entity: { identifier: string } }[]; rejected: { kind: string; id: string; reason: string }[] };
    expect(Object.keys(out)).toEqual(['entities', 'rejected']);
    expect(out.entities.map((e) => e.blueprint)).toEqual(['azureSubscription', 'azureResourceGroup', 'azureStorageAccount', 'azureVirtualMachine', 'azureKubernetesCluster', 'azureCloudResources']);
    expect(out.rejected).toContainEqual({ kind: 'resourceGroup', id: rows[2]!.id, reason: expect.stringMatching(/^resources\[1\]\.selector\.query is false: the entity .*rg-sandbox in azureResourceGroup would be deleted if it exists$/) });
    expect(out.rejected.filter((x) => x.kind === 'resource')).toHaveLength(3);
  });

  it('--resource-id reads the current rows from Resource Graph, with the columns the mapping needs', async () => {
    const storage = rows[3]!.id;
    const r = await cli(['mapping', 'preview', '--file', 'examples/port-app-config.yaml', '--resource-id', storage.toUpperCase(), '--resource-id', '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/nope', '--json'], {}, true);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { entities: { blueprint: string; entity: { properties: Record<string, unknown> } }[] };
    expect(out.entities).toHaveLength(1);
    expect(out.entities[0]!.entity.properties).toMatchObject({ blobEncryption: true, customerManagedKey: true, httpsOnly: true });
    expect(r.stderr).toContain('note: Resource Graph has no row for /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/nope');
  });

  it('needs exactly one of --row and --resource-id', async () => {
    const r = await cli(['mapping', 'preview']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mapping preview needs either --resource-id <id> (repeatable) or --row <file>');
  });
});

describe('mapping default and push', () => {
  it('default prints the default mapping as YAML that loads to the same mapping', async () => {
    const r = await cli(['mapping', 'default']);
    expect(r.code).toBe(0);
    const fromYaml = await loadMapping({ text: r.stdout, origin: 'printed' }, { blueprints: DEFAULT_BLUEPRINT_IDS });
    const builtIn = await loadDefaultMapping({ blueprints: DEFAULT_BLUEPRINT_IDS });
    expect(fromYaml.mapper.mapRows(rows)).toEqual(builtIn.mapper.mapRows(rows));
  });

  it('push validates, creates the integration, updates it the next time, and the app can then read it from Port', async () => {
    const first = await cli(['mapping', 'push', '--integration', 'azure-port-sync', '--file', 'examples/port-app-config.yaml'], {}, true);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('created Port integration "azure-port-sync" with examples/port-app-config.yaml');
    expect(port.integrations.get('azure-port-sync')).toMatchObject({ installationAppType: 'azure-port-sync', config: { entityDeletionThreshold: 0.5 } });
    const second = await cli(['mapping', 'push', '--integration', 'azure-port-sync', '--file', 'examples/port-app-config.yaml', '--json'], {}, true);
    expect(JSON.parse(second.stdout)).toEqual({ ok: true, integration: 'azure-port-sync', created: false, origin: 'examples/port-app-config.yaml' });
    const fromPort = await cli(['mapping', 'validate', '--json'], { PORT_APP_CONFIG_SOURCE: 'port', PORT_INTEGRATION_IDENTIFIER: 'azure-port-sync' }, true);
    expect(JSON.parse(fromPort.stdout)).toMatchObject({ ok: true, origin: 'Port integration "azure-port-sync" (its config)' });

    const bad = join(dir, 'bad-push.yaml');
    writeFileSync(bad, 'resources: [{kind: nope}]');
    const refused = await cli(['mapping', 'push', '--integration', 'azure-port-sync', '--file', bad], {}, true);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('nothing was pushed');
    expect(port.integrations.get('azure-port-sync')!.config).toMatchObject({ entityDeletionThreshold: 0.5 });
  });
});
