/**
 * The azure-port-sync CLI, run in-process through runCli against the Port and Resource Graph emulators (and
 * Azurite for the queue check). Only the Azure credential is injected: the emulator's static one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../shared/cli/checkCommand.js';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import type { RunSummary } from '../../shared/sync/reconcile/runReconciliation.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { AzuriteHandle } from '../support/azurite.js';
import { startCliHarness, stopCliHarness } from './support.js';
import { MINUTE, SUB_A, SUB_B, resourceId, type Harness } from '../reconcile/harness.js';

let h: Harness;
let azurite: AzuriteHandle;
beforeAll(async () => {
  ({ h, azurite } = await startCliHarness());
}, 60_000);
afterAll(() => stopCliHarness(h, azurite));

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
    expect(r.stderr).toMatch(/^progress: resources: \d+ pages, \d+ of \d+ items \(\d+%\)(, ETA \S+)?; Port: \d+ written, \d+ deleted$/m);
    expect(r.stderr).not.toMatch(/^(warning|error):/m);
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
    // Not a terminal: the delete phase shows its candidates as a total, and the Port side its writes.
    expect(real.stderr).toMatch(/^progress: delete: 0 of 1 items \(0%\); Port: \d+ written, 0 deleted$/m);
    expect(real.stderr).not.toMatch(/^progress: .*\b0 pages\b/m);
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

describe('azure-port-sync --help', () => {
  it('says where settings come from and what the exit codes mean', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Settings come from environment variables only \(.*local\.settings\.json is not read\)\.$/m);
    expect(r.stdout).toMatch(/^Exit codes: .*3 another run of the same scope holds the run lock/m);
  });
});

describe('azure-port-sync check', () => {
  it('passes every check against working services, the run lock and the queue included, and names the settings source', async () => {
    const { QueueClient } = await import('@azure/storage-queue');
    await new QueueClient(azurite.connectionString, 'resource-events').createIfNotExists();
    const r = await cli(['check']);
    expect(r.stdout).toMatch(/^PASS  settings: all app settings are valid; they come from environment variables only .*local\.settings\.json is not read/m);
    expect(r.stdout).toMatch(/^PASS  azure authentication: /m);
    expect(r.stdout).toMatch(/^PASS  resource graph: 2 subscription\(s\) in scope/m);
    expect(r.stdout).toMatch(/^PASS  port authentication: /m);
    expect(r.stdout).toMatch(new RegExp(`^PASS  port blueprint ${h.settings.port.blueprints.state}: exists`, 'm'));
    expect(r.stdout).toMatch(/^PASS  run lock \(container azure-port-sync-locks\): reachable/m);
    expect(r.stdout).toMatch(/^PASS  queue resource-events: reachable/m);
    expect(r.stdout).toContain('all checks passed');
    expect(r.code).toBe(0);
  });

  it('fails with a reason and a non-zero exit when Port rejects the credentials', async () => {
    const badSecret = await cli(['check', '--json'], { PORT_CLIENT_SECRET: 'wrong-secret' });
    expect(badSecret.code).toBe(1);
    const report = JSON.parse(badSecret.stdout) as { ok: boolean; checks: { name: string; status: string; detail: string }[] };
    expect(report.ok).toBe(false);
    const auth = report.checks.find((c) => c.name === 'port authentication')!;
    expect(auth.status).toBe('fail');
    expect(auth.detail).toMatch(/refused the API credentials \(401.*PORT_CLIENT_SECRET/);
    expect(badSecret.stdout).not.toContain('wrong-secret');
    expect(report.checks.find((c) => c.name === 'resource graph')?.status).toBe('pass');
  });

  it('on a fresh Port says the first run creates the blueprints, and passes', async () => {
    const fresh = await cli(['check'], {
      PORT_BLUEPRINT_SUBSCRIPTION: 'checkSubscription',
      PORT_BLUEPRINT_RESOURCE_GROUP: 'checkResourceGroup',
      PORT_BLUEPRINT_RESOURCE: 'checkResource',
      PORT_BLUEPRINT_STATE: 'checkState',
    });
    for (const bp of ['checkSubscription', 'checkResourceGroup', 'checkResource', 'checkState']) {
      expect(fresh.stdout).toMatch(new RegExp(`^PASS  port blueprint ${bp}: not created yet: the first run creates it$`, 'm'));
    }
    expect(fresh.code).toBe(0);
    expect(h.port.blueprint('checkResource')).toBeUndefined();
  });

  it('names every blueprint the mapping writes that Port does not have, with the entries writing it, and fails', async () => {
    const path = await import('node:path');
    const example = path.resolve(import.meta.dirname, '../../examples/port-app-config.yaml');
    const missing = await cli(['check', '--json'], { PORT_APP_CONFIG_FILE: example });
    const report = JSON.parse(missing.stdout) as { ok: boolean; checks: CheckResult[] };
    expect(report.checks.find((c) => c.name === 'mapping')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/entries from .*port-app-config\.yaml/) });
    const storage = report.checks.find((c) => c.name.startsWith('port blueprint azureStorageAccount '))!;
    expect(storage).toMatchObject({ name: 'port blueprint azureStorageAccount (written by resources[2])', status: 'fail' });
    expect(storage.detail).toMatch(/^blueprint "azureStorageAccount" does not exist in Port: create it first/);
    expect(report.checks.filter((c) => c.name.startsWith('port blueprint azure') && c.status === 'fail').map((c) => c.name.split(' ')[2])).toEqual(
      expect.arrayContaining(['azureStorageAccount', 'azureVirtualMachine']),
    );
    expect(missing.code).toBe(1);
    // With the example's blueprints in Port, they pass.
    const blueprints = JSON.parse((await import('node:fs')).readFileSync(path.resolve(import.meta.dirname, '../../examples/blueprints.json'), 'utf8')) as Record<string, unknown>[];
    for (const b of blueprints) h.port.seedBlueprint(b);
    const present = await cli(['check', '--json'], { PORT_APP_CONFIG_FILE: example });
    const after = JSON.parse(present.stdout) as { checks: CheckResult[] };
    expect(after.checks.find((c) => c.name.startsWith('port blueprint azureStorageAccount '))?.status).toBe('pass');
  });

  it('tells a refused connection from a timeout, within seconds and naming the host', async () => {
    const { createServer } = await import('node:net');
    // Accepts connections and never answers: a host that is up but silent.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const refused = await cli(['check', '--json'], { PORT_API_URL: 'http://127.0.0.1:1', PORT_REQUEST_TIMEOUT: '1s' });
      const timeout = await cli(['check', '--json'], { PORT_API_URL: `http://127.0.0.1:${silentPort}`, PORT_REQUEST_TIMEOUT: '1s' });
      const detail = (r: Result) => (JSON.parse(r.stdout) as { checks: CheckResult[] }).checks.find((c) => c.name === 'port authentication')!;
      expect(detail(refused)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/127\.0\.0\.1:1 refused the connection \(ECONNREFUSED\)/) });
      expect(detail(timeout)).toMatchObject({ status: 'fail', detail: expect.stringMatching(new RegExp(`no answer from 127\\.0\\.0\\.1:${silentPort} in time \\(timeout\\)`)) });
    } finally {
      silent.close();
    }
  });
});
