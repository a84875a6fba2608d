/**
 * The windowed sync's decisions on their own (runWindowedSync with a plan writer, against the emulators): which
 * change rows count, which hint each becomes, and what a deleted resource group takes with it. Issue #13, survivor
 * (d): a resource group's Delete record takes only the children that are proven absent, never one still present in
 * Azure (test/converge/plan.test.ts pins the same rule in the pure planner; this pins it through the window).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow } from '../../shared/azure/types.js';
import type { BlueprintPlan } from '../../shared/sync/converge/writer.js';
import { runWindowedSync } from '../../shared/sync/reconcile/windowedSync.js';
import { MINUTE, SUB_A, SUB_B, T0, resourceId, type Harness } from './harness.js';
import { startMirrored, syncContext } from './syncContext.js';

const HOUR = 60 * MINUTE;
const GROUP = `/subscriptions/${SUB_A}/resourcegroups/rg-data`;
const KEPT = `${GROUP}/providers/Microsoft.Storage/storageAccounts/stdata1`;
const GONE = `${GROUP}/providers/Microsoft.Sql/servers/sql-data`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function mirrored(env: Record<string, string> = {}): Promise<Harness> {
  h = await startMirrored(env);
  return h;
}

const rowOf = (harness: Harness, id: string): ArgRow => {
  const estate = harness.arg.estate();
  const row = [...estate.subscriptions, ...estate.resourceGroups, ...estate.resources].find((r) => String(r.id).toLowerCase() === id.toLowerCase());
  if (!row) throw new Error(`no row ${id}`);
  return structuredClone(row);
};

/** The window since the last run (T0) until now, as runReconciliation would give it. */
async function window(harness: Harness) {
  const ctx = await syncContext(harness);
  const outcome = await runWindowedSync(ctx, { since: T0, until: harness.arg.now() });
  const plan = ctx.writer.plan();
  const of = (bp: string): BlueprintPlan => plan[bp] ?? { create: [], update: [], delete: [] };
  const bps = harness.settings.port.blueprints;
  return { outcome, plan, resource: of(bps.resource), resourceGroup: of(bps.resourceGroup), subscription: of(bps.subscription), ctx };
}

describe('a resource group Delete record (survivor d)', () => {
  it('deletes the children proven absent, keeps a child still present in Azure, and keeps the re-created group', async () => {
    const harness = await mirrored();
    const groupRow = rowOf(harness, GROUP);
    const keptRow = rowOf(harness, KEPT);
    harness.arg.advance(MINUTE);
    // The group is deleted (children first); its children's Delete records and the re-creation's records are
    // ingested two hours late, so the window sees the group's Delete only. The group and one child are back at once.
    harness.arg.setLag({ tables: { resourcechanges: 2 * HOUR } });
    harness.arg.deleteResourceGroup(GROUP);
    harness.arg.setLag({ tables: { resourcechanges: 2 * HOUR, resourcecontainerchanges: 2 * HOUR } });
    harness.arg.upsertResourceGroup(groupRow);
    harness.arg.upsertResource(keptRow);
    harness.arg.setLag({ tables: { resourcechanges: null, resourcecontainerchanges: null } });
    harness.arg.advance(14 * MINUTE);

    const { outcome, resource, resourceGroup } = await window(harness);
    expect(outcome).toMatchObject({ changes: 1, ignoredChanges: 0, notVisible: 0, incompleteReasons: [], rejectedReasons: [] });
    expect(resource.delete).toEqual([toPortIdentifier(GONE)]);
    expect(resource.create).toEqual([]);
    expect(resourceGroup.delete).toEqual([]);
  });

  it('through runReconciliation: the catalog ends equal to Azure, the present child untouched', async () => {
    const harness = await mirrored();
    const groupRow = rowOf(harness, GROUP);
    const keptRow = rowOf(harness, KEPT);
    harness.arg.advance(MINUTE);
    harness.arg.setLag({ tables: { resourcechanges: 2 * HOUR } });
    harness.arg.deleteResourceGroup(GROUP);
    harness.arg.setLag({ tables: { resourcechanges: 2 * HOUR, resourcecontainerchanges: 2 * HOUR } });
    harness.arg.upsertResourceGroup(groupRow);
    harness.arg.upsertResource(keptRow);
    harness.arg.setLag({ tables: { resourcechanges: null, resourcecontainerchanges: null } });
    harness.arg.advance(14 * MINUTE);
    const summary = await harness.run();
    expect(summary).toMatchObject({ mode: 'window', status: 'succeeded', changes: 1 });
    expect(summary.counts.deleted).toBe(1);
    expect(harness.port.entity(harness.settings.port.blueprints.resource, toPortIdentifier(KEPT))).toBeDefined();
    expect(harness.port.entity(harness.settings.port.blueprints.resource, toPortIdentifier(GONE))).toBeUndefined();
    expect(harness.catalog()).toEqual(harness.expected());
  });

  it('a group deleted for good takes every child and itself, children being resources of that group only', async () => {
    const harness = await mirrored();
    harness.arg.advance(MINUTE);
    harness.arg.deleteResourceGroup(GROUP);
    harness.arg.advance(14 * MINUTE);
    const { outcome, resource, resourceGroup } = await window(harness);
    // The group and its two resources each have a Delete record.
    expect(outcome.changes).toBe(3);
    expect(resource.delete.sort()).toEqual([toPortIdentifier(GONE), toPortIdentifier(KEPT)].sort());
    expect(resourceGroup.delete).toEqual([toPortIdentifier(GROUP)]);
    // Nothing outside the group.
    const other = `/subscriptions/${SUB_A}/resourceGroups/RG-App`;
    expect(resource.delete.some((i) => i.startsWith(toPortIdentifier(other)))).toBe(false);
  });
});

describe('change rows and hints', () => {
  it('a Create or Update record is a write (create or update), never a delete', async () => {
    const harness = await mirrored();
    const fresh = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'fresh-app');
    const changed = resourceId(SUB_A, 'RG-App', 'Microsoft.Storage', 'storageAccounts', 'stapp1');
    harness.arg.advance(MINUTE);
    harness.arg.upsertResource({ id: fresh, location: 'westeurope' });
    harness.arg.upsertResource({ ...rowOf(harness, changed), tags: { team: 'z' } });
    harness.arg.advance(14 * MINUTE);
    const { outcome, resource } = await window(harness);
    expect(outcome.changes).toBe(2);
    expect(resource.create).toEqual([toPortIdentifier(fresh)]);
    expect(resource.update.map((u) => u.identifier)).toEqual([toPortIdentifier(changed)]);
    expect(resource.delete).toEqual([]);
  });

  it('a Delete record of a resource that is back (its Create record not ingested yet) does not delete it', async () => {
    const harness = await mirrored();
    const id = resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'app-shared');
    const row = rowOf(harness, id);
    harness.arg.advance(MINUTE);
    harness.arg.deleteResource(id);
    harness.arg.setLag({ tables: { resourcechanges: 2 * HOUR } });
    harness.arg.upsertResource(row);
    harness.arg.setLag({ tables: { resourcechanges: null } });
    harness.arg.advance(14 * MINUTE);
    const { outcome, resource } = await window(harness);
    expect(outcome.changes).toBe(1);
    expect(resource.delete).toEqual([]);
    expect(resource.create).toEqual([]);
    expect(harness.arg.estate().resources.some((r) => r.id === id)).toBe(true);
  });

  it('the latest record per id wins: created then deleted in the window is a delete; deleted then re-created is a write', async () => {
    const harness = await mirrored();
    const shortLived = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'short-lived');
    const back = resourceId(SUB_A, 'RG-App', 'Microsoft.Compute', 'virtualMachines', 'VM-App-1');
    const backRow = rowOf(harness, back);
    harness.arg.advance(MINUTE);
    harness.arg.upsertResource({ id: shortLived, location: 'westeurope' });
    harness.arg.deleteResource(back);
    harness.arg.advance(MINUTE);
    harness.arg.deleteResource(shortLived);
    harness.arg.upsertResource({ ...backRow, tags: { again: 'yes' } });
    harness.arg.advance(13 * MINUTE);
    const { outcome, resource } = await window(harness);
    expect(outcome.changes).toBe(2);
    // Never in Port, absent in Azure: nothing to delete, nothing to create.
    expect(resource.create).toEqual([]);
    expect(resource.delete).toEqual([]);
    expect(resource.update.map((u) => u.identifier)).toEqual([toPortIdentifier(back)]);
  });

  it('records of foreign subscriptions, filtered types and non-resources are not applied; the ignored ones are counted', async () => {
    const harness = await mirrored({ AZURE_SUBSCRIPTION_IDS: SUB_A, EXCLUDE_RESOURCE_TYPES: 'microsoft.network/networkwatchers' });
    harness.arg.advance(MINUTE);
    harness.arg.upsertResource({ id: resourceId(SUB_B, 'rg-shared', 'Microsoft.Web', 'sites', 'theirs'), location: 'westeurope' });
    harness.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Network', 'networkWatchers', 'nw'), location: 'westeurope' });
    harness.arg.upsertResource({ id: `/subscriptions/${SUB_A}/resourceGroups/RG-App/providers/Microsoft.Resources/deployments/d1` });
    const mine = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'mine');
    harness.arg.upsertResource({ id: mine, location: 'westeurope' });
    harness.arg.advance(14 * MINUTE);
    const { outcome, resource } = await window(harness);
    expect(outcome.changes).toBe(1);
    // The change query names the scope's subscriptions and the type filter, so only the deployment reaches the
    // sync, which ignores it (not a resource).
    expect(outcome.ignoredChanges).toBe(1);
    expect(resource.create).toEqual([toPortIdentifier(mine)]);
  });

  it('a Create record whose resource Resource Graph does not show yet is left to the next window (notVisible)', async () => {
    const harness = await mirrored();
    const late = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'not-yet');
    harness.arg.advance(MINUTE);
    harness.arg.setLag({ tables: { resources: HOUR } });
    harness.arg.upsertResource({ id: late, location: 'westeurope' });
    harness.arg.setLag({ tables: { resources: null } });
    harness.arg.advance(14 * MINUTE);
    const { outcome, resource } = await window(harness);
    expect(outcome).toMatchObject({ changes: 1, notVisible: 1, incompleteReasons: [] });
    expect(resource.create).toEqual([]);
    expect(resource.delete).toEqual([]);
  });

  it('only the window [since, until) is read: a change before it is not applied again', async () => {
    const harness = await mirrored();
    const before = resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'before-window');
    harness.arg.advance(MINUTE);
    harness.arg.upsertResource({ id: before, location: 'westeurope' });
    harness.arg.advance(14 * MINUTE);
    const ctx = await syncContext(harness);
    const outcome = await runWindowedSync(ctx, { since: new Date(T0.getTime() + 2 * MINUTE), until: harness.arg.now() });
    expect(outcome.changes).toBe(0);
    expect(ctx.writer.plan()).toEqual({});
  });

  it('reports its progress: change pages, then lookups and writes', async () => {
    const harness = await mirrored();
    harness.arg.advance(MINUTE);
    harness.arg.upsertResource({ id: resourceId(SUB_A, 'RG-App', 'Microsoft.Web', 'sites', 'p1'), location: 'westeurope' });
    harness.arg.advance(14 * MINUTE);
    const phases: string[] = [];
    const ctx = await syncContext(harness, { progress: (phase, pages, items) => phases.push(`${phase}:${pages}:${items}`) });
    await runWindowedSync(ctx, { since: T0, until: harness.arg.now() });
    expect(phases).toContain('lookup:1:1');
    expect(phases).toContain('write:0:1');
    expect(phases.some((p) => p.startsWith('changes:'))).toBe(true);
  });
});
