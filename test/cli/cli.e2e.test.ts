/**
 * The azure-port-sync CLI, run in-process through runCli against the Port and Resource Graph emulators (and
 * Azurite for the queue check). Only the Azure credential is injected: the emulator's static one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import type { RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { MINUTE, SUB_A, SUB_B, resourceId, seedSmallEstate, startHarness, type Harness } from '../reconcile/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  seedSmallEstate(h.arg);
});
afterAll(async () => {
  await h?.close();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { ...h.env, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    deps: { credential: h.arg.credential, now: () => h.arg.now() },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('azure-port-sync reconcile', () => {
  it('runs a full reconciliation and prints a machine-readable summary with --json', async () => {
    const r = await cli(['reconcile', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as RunSummary;
    expect(summary).toMatchObject({ mode: 'full', status: 'succeeded', trigger: 'cli', counts: { created: 13 } });
    expect(h.catalog()).toEqual(h.expected());
    // Not a terminal: progress as plain lines on stderr, never on stdout.
    expect(r.stderr).toMatch(/^progress: resources: \d+ pages, \d+ items$/m);
  });

  it('--dry-run prints the drift report, writes nothing, and matches what the real run then does', async () => {
    h.arg.advance(MINUTE);
    const created = resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'cache-cli');
    const tagged = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1');
    const removed = resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared');
    h.arg.upsertResource({ id: created });
    h.arg.upsertResource({ id: tagged, location: 'westeurope', tags: { team: 'cli' } });
    h.arg.deleteResource(removed);
    h.arg.advance(MINUTE);

    const catalogBefore = h.catalog();
    const stateBefore = h.stateEntity();
    h.port.clearRequests();
    const text = await cli(['reconcile', '--dry-run', '--mode', 'full']);
    expect(text.code).toBe(0);
    const bp = h.settings.port.blueprints.resource;
    expect(text.stdout).toContain('nothing was written');
    expect(text.stdout).toContain(`${bp}: create 1, update 1, delete 1`);
    expect(text.stdout).toContain(`  create ${toPortIdentifier(created)}`);
    expect(text.stdout).toContain(`  update ${toPortIdentifier(tagged)} (properties.tags)`);
    expect(text.stdout).toContain(`  delete ${toPortIdentifier(removed)}`);

    const json = await cli(['reconcile', '--dry-run', '--mode', 'full', '--json']);
    const plan = (JSON.parse(json.stdout) as RunSummary).plan!;
    expect(plan[bp]).toEqual({
      create: [toPortIdentifier(created)],
      update: [{ identifier: toPortIdentifier(tagged), fields: ['properties.tags'] }],
      delete: [toPortIdentifier(removed)],
    });
    expect(h.port.requests.filter((r) => r.kind === 'bulkUpsert' || r.kind === 'delete')).toEqual([]);
    expect(h.catalog()).toEqual(catalogBefore);
    expect(h.stateEntity()).toEqual(stateBefore);

    const real = await cli(['reconcile', '--mode', 'full', '--json']);
    expect(real.code).toBe(0);
    const summary = JSON.parse(real.stdout) as RunSummary;
    expect(summary.counts).toMatchObject({ created: 1, updated: 1, deleted: 1 });
    expect(summary.counts.byBlueprint[bp]).toMatchObject({ created: 1, updated: 1, deleted: 1 });
    expect(h.catalog()).toEqual(h.expected());
  });

  it('--dry-run works before anything exists in Port (no blueprints yet) and creates nothing', async () => {
    const fresh = {
      PORT_BLUEPRINT_SUBSCRIPTION: 'freshSubscription',
      PORT_BLUEPRINT_RESOURCE_GROUP: 'freshResourceGroup',
      PORT_BLUEPRINT_RESOURCE: 'freshResource',
      PORT_BLUEPRINT_STATE: 'freshState',
    };
    const r = await cli(['reconcile', '--dry-run', '--json'], fresh);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as RunSummary;
    expect(summary.mode).toBe('full');
    expect(summary.plan!.freshResource!.create.length).toBe(h.expected().resource.length);
    expect(summary.plan!.freshResource!.delete).toEqual([]);
    expect(h.port.blueprint('freshResource')).toBeUndefined();
    expect(h.port.blueprint('freshState')).toBeUndefined();
  });

  it('rejects a bad --mode and bad settings with exit code 2, naming what is wrong', async () => {
    const mode = await cli(['reconcile', '--mode', 'sometimes']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/--mode.*sometimes|sometimes.*--mode/s);
    expect(mode.stderr).toMatch(/full, window|"full", "window"/);

    const settings = await cli(['reconcile'], { PORT_CLIENT_ID: '' });
    expect(settings.code).toBe(2);
    expect(settings.stderr).toContain('PORT_CLIENT_ID');
    expect(settings.stderr).not.toContain(h.env.PORT_CLIENT_SECRET);
  });
});

describe('azure-port-sync status', () => {
  it('prints the state entity', async () => {
    const r = await cli(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`cursor:           ${h.arg.now().toISOString()}`);
    expect(r.stdout).toMatch(/last run: .* full succeeded/);
    const json = JSON.parse((await cli(['status', '--json'])).stdout) as { state: { cursor: string } };
    expect(json.state.cursor).toBe(h.arg.now().toISOString());
  });

  it('says so (exit 1) when there is no state for the scope', async () => {
    const r = await cli(['status'], { AZURE_SUBSCRIPTION_IDS: SUB_A });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no sync state "azure-port-sync-subs-[0-9a-f]{12}"/);
  });
});

describe('azure-port-sync check', () => {
  let azurite: AzuriteHandle | undefined;
  afterAll(async () => {
    await azurite?.stop();
  });

  it('passes every check against working services, the queue included', async () => {
    azurite = await startAzurite();
    const { QueueClient } = await import('@azure/storage-queue');
    await new QueueClient(azurite.connectionString, 'resource-events').createIfNotExists();
    const r = await cli(['check'], { AzureWebJobsStorage: azurite.connectionString });
    expect(r.stdout).toMatch(/^PASS  azure authentication: /m);
    expect(r.stdout).toMatch(/^PASS  resource graph: 2 subscription\(s\) in scope/m);
    expect(r.stdout).toMatch(/^PASS  port authentication: /m);
    expect(r.stdout).toMatch(new RegExp(`^PASS  port blueprint ${h.settings.port.blueprints.state}: `, 'm'));
    expect(r.stdout).toMatch(/^PASS  queue resource-events: reachable/m);
    expect(r.stdout).toContain('all checks passed');
    expect(r.code).toBe(0);
  });

  it('fails with a reason and a non-zero exit when Port rejects the credentials or a blueprint is missing', async () => {
    const badSecret = await cli(['check', '--json'], { PORT_CLIENT_SECRET: 'wrong-secret' });
    expect(badSecret.code).toBe(1);
    const report = JSON.parse(badSecret.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(report.ok).toBe(false);
    const auth = report.checks.find((c) => c.name === 'port authentication')!;
    expect(auth.status).toBe('fail');
    expect(auth.detail).toMatch(/401|credential|token|auth/i);
    expect(badSecret.stdout).not.toContain('wrong-secret');
    expect(report.checks.find((c) => c.name === 'resource graph')?.status).toBe('pass');

    const missing = await cli(['check'], { PORT_BLUEPRINT_RESOURCE: 'azureNotThere' });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^FAIL  port blueprint azureNotThere: /m);
    expect(missing.stdout).toMatch(/^SKIP  queue resource-events: AzureWebJobsStorage is not set/m);
  });
});
