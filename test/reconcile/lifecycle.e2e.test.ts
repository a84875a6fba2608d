/**
 * Reconciliation end to end over HTTP against the Port and Resource Graph emulators: first full run, an idle
 * window, a window full of changes, and convergence with (simulated) event-path writes. The tests in this file
 * run in order on one estate, like successive timer ticks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapRow } from '../../shared/mapping/index.js';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { PortClient } from '../../shared/port/client.js';
import { silentLogger } from '../../shared/log.js';
import { MINUTE, SUB_A, SUB_B, T0, resourceId, seedSmallEstate, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  seedSmallEstate(h.arg);
});
afterAll(async () => {
  await h?.close();
});

const stateProps = () => h.stateEntity()?.properties ?? {};
const resourceBp = () => h.settings.port.blueprints.resource;

describe('reconciliation lifecycle (both emulators)', () => {
  it('1. the first run is full and creates everything', async () => {
    const summary = await h.run({ trigger: 'test' });
    expect(summary.mode).toBe('full');
    expect(summary.modeReason).toMatch(/first run/);
    expect(summary.status).toBe('succeeded');
    expect(h.catalog()).toEqual(h.expected());
    expect(h.catalog().resource).toHaveLength(8);
    expect(summary.counts).toMatchObject({ created: 2 + 3 + 8, updated: 0, deleted: 0, failed: 0 });

    const state = stateProps();
    expect(state.cursor).toBe(T0.toISOString());
    expect(state.lastFullSyncAt).toBe(T0.toISOString());
    expect(state.lastRunStatus).toBe('succeeded');
    expect(state.lastRunMode).toBe('full');
    expect(state.lastRunArgQueries).toBeGreaterThan(0);
    expect(state.lastRunPortRequests).toBeGreaterThan(0);

    const finished = h.logs.records.filter((r) => r.message === 'reconcile run finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]!.fields).toMatchObject({ mode: 'full', status: 'succeeded', counts: { created: 13 } });
    expect(finished[0]!.fields.argQueries).toBeGreaterThan(0);
    expect(finished[0]!.fields.portRequests).toBeGreaterThan(0);
    expect(finished[0]!.fields.durationMs).toBeTypeOf('number');
  });

  it('2. a second run with no changes is windowed and makes zero catalog writes', async () => {
    h.arg.advance(15 * MINUTE);
    h.port.clearRequests();
    const summary = await h.run();
    expect(summary.modeReason).toBe('cursor within MAX_CHANGE_WINDOW');
    expect(summary.mode).toBe('window');
    expect(summary.window.start).toBe(new Date(T0.getTime() - 30 * MINUTE).toISOString());
    expect(summary.window.end).toBe(h.arg.now().toISOString());
    expect(summary.status).toBe('succeeded');
    expect(h.catalogWrites()).toBe(0);
    expect(summary.counts).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(stateProps().cursor).toBe(h.arg.now().toISOString());
    // An unchanged estate in a full run writes nothing either.
    h.port.clearRequests();
    const full = await h.run({ mode: 'full' });
    expect(full.mode).toBe('full');
    expect(full.counts).toMatchObject({ created: 0, updated: 0, deleted: 0, unchanged: 13 });
    expect(h.catalogWrites()).toBe(0);
  });

  it('3. changes in the window are applied: create, update, delete, group delete, tags, id casing', async () => {
    h.arg.advance(MINUTE);
    const created = resourceId(SUB_A, 'RG-App', 'Microsoft.Cache', 'redis', 'cache-new');
    h.arg.upsertResource({ id: created, location: 'northeurope', tags: { fresh: 'yes' } });
    // Update: a new location on the shared vault.
    h.arg.upsertResource({ id: resourceId(SUB_B, 'rg-shared', 'Microsoft.KeyVault', 'vaults', 'kv-shared'), location: 'swedencentral' });
    // Tag change only.
    const tagged = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1');
    h.arg.upsertResource({ id: tagged, location: 'westeurope', tags: { cost: '1', team: 'b' } });
    // A plain delete and a whole resource group (with its two resources).
    h.arg.deleteResource(resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared'));
    h.arg.deleteResourceGroup(`/subscriptions/${SUB_A}/resourcegroups/rg-data`);
    // The same VM, its id now in different casing everywhere, with a new tag.
    const recased = `/subscriptions/${SUB_A}/RESOURCEGROUPS/rg-app/providers/microsoft.compute/VIRTUALMACHINES/vm-app-1`;
    h.arg.upsertResource({ id: recased, location: 'westeurope', tags: { patched: 'true' } });
    // Port also holds an entity under that group that Resource Graph never reported (no change row of its own):
    // the group's delete must take it too.
    const orphan = `/subscriptions/${SUB_A}/resourcegroups/rg-data/providers/microsoft.storage/storageaccounts/orphan`;
    h.port.seed(resourceBp(), [{ identifier: orphan, title: 'orphan', properties: {}, relations: {} }]);
    h.arg.advance(2 * MINUTE);

    const before = h.catalog();
    const summary = await h.run();
    expect(summary.mode).toBe('window');
    expect(summary.status).toBe('succeeded');
    expect(h.catalog()).toEqual(h.expected());

    const bp = resourceBp();
    expect(h.port.entity(bp, toPortIdentifier(created))?.properties?.tags).toEqual({ fresh: 'yes' });
    expect(h.port.entity(bp, toPortIdentifier(tagged))?.properties?.tags).toEqual({ cost: '1', team: 'b' });
    expect(
      h.port.entity(bp, toPortIdentifier(resourceId(SUB_B, 'rg-shared', 'Microsoft.KeyVault', 'vaults', 'kv-shared')))?.properties?.location,
    ).toBe('swedencentral');
    // Casing: still one VM entity, same identifier, updated.
    const vm = toPortIdentifier(resourceId(SUB_A, 'RG-App', 'Microsoft.Compute', 'virtualMachines', 'VM-App-1'));
    expect(toPortIdentifier(recased)).toBe(vm);
    expect(h.port.entity(bp, vm)?.properties?.tags).toEqual({ patched: 'true' });
    expect(h.catalog().resource.filter((id) => id.endsWith('/vm-app-1'))).toHaveLength(1);
    // The group and everything in it are gone.
    expect(h.catalog().resourceGroup).not.toContain(`/subscriptions/${SUB_A}/resourcegroups/rg-data`);
    expect(h.catalog().resource.some((id) => id.includes('/resourcegroups/rg-data/'))).toBe(false);

    expect(summary.counts.created).toBe(1);
    expect(summary.counts.updated).toBe(3);
    expect(h.port.entity(resourceBp(), orphan)).toBeUndefined();
    expect(summary.counts.deleted).toBe(1 + 2 + 1 + 1);
    expect(before.resource.length - 4 + 1).toBe(h.catalog().resource.length);
  });

  it('interleaved event-path writes of an older state converge by the end of the next window', async () => {
    const bp = resourceBp();
    const storage = resourceId(SUB_B, 'rg-shared', 'Microsoft.Storage', 'storageAccounts', 'stshared');
    const vnet = resourceId(SUB_A, 'RG-App', 'Microsoft.Network', 'virtualNetworks', 'vnet-app');
    const staleStorage = h.arg.estate().resources.find((r) => r.id.toLowerCase() === storage.toLowerCase())!;
    const staleVnet = h.arg.estate().resources.find((r) => r.id.toLowerCase() === vnet.toLowerCase())!;

    h.arg.advance(MINUTE);
    h.arg.upsertResource({ id: storage, location: 'westeurope', tags: { version: '2' } });
    h.arg.deleteResource(vnet);
    h.arg.advance(MINUTE);
    await h.run();
    expect(h.port.entity(bp, toPortIdentifier(storage))?.properties?.tags).toEqual({ version: '2' });
    expect(h.port.entity(bp, toPortIdentifier(vnet))).toBeUndefined();

    // The real-time path, late and out of order, writes what it read before those changes.
    const eventPath = new PortClient({ ...h.settings.port, logger: silentLogger });
    try {
      const ids = h.settings.port.blueprints;
      const outcomes = await eventPath.upsertEntities(bp, [mapRow(staleStorage, ids)!.entity, mapRow(staleVnet, ids)!.entity]);
      expect(outcomes.every((o) => o.ok)).toBe(true);
    } finally {
      eventPath.close();
    }
    expect(h.port.entity(bp, toPortIdentifier(storage))?.properties?.tags).not.toEqual({ version: '2' });
    expect(h.port.entity(bp, toPortIdentifier(vnet))).toBeDefined();

    // Next tick: both changes are still inside [cursor − overlap, now), so the window repairs the catalog.
    h.arg.advance(5 * MINUTE);
    const summary = await h.run();
    expect(summary.mode).toBe('window');
    expect(h.port.entity(bp, toPortIdentifier(storage))?.properties?.tags).toEqual({ version: '2' });
    expect(h.port.entity(bp, toPortIdentifier(vnet))).toBeUndefined();
    expect(h.catalog()).toEqual(h.expected());
  });

  it('ignores noise ids in the change tables (deployments, role assignments)', async () => {
    h.arg.advance(MINUTE);
    // Not resources for the catalog: Resource Graph keeps no such rows in `resources`, the mapping has nothing.
    h.arg.upsertResource({ id: `/subscriptions/${SUB_A}/resourceGroups/RG-App/providers/Microsoft.Resources/deployments/deploy-1` });
    h.arg.advance(MINUTE);
    h.port.clearRequests();
    const summary = await h.run();
    expect(summary.status).toBe('succeeded');
    expect(summary.ignoredChanges).toBeGreaterThanOrEqual(1);
    expect(h.catalog().resource.some((id) => id.includes('deployments'))).toBe(false);
    expect(h.catalogWrites()).toBe(0);
  });
});
