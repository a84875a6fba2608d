/**
 * The port-app-config's top-level Port options take effect with Port's meaning, end to end (mapping file →
 * reconciliation → the real Port client → the Port emulator):
 * - enableMergeEntity: false sends `upsert=true&merge=false` (a full replace: a field nobody maps goes), while the
 *   app's own partial writes (a lost subscription's notVisibleSince) are still merged, and a second run writes
 *   nothing (the plan's fingerprints agree with what a replace leaves);
 * - createMissingRelatedEntities in the mapping wins over PORT_CREATE_MISSING_RELATED_ENTITIES;
 * - deleteDependentEntities: true sends `delete_dependents=true`: Port deletes what relates to a deleted entity.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { MINUTE, SUB_A, SUB_B, seedSmallEstate, startHarness, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function mappingFile(options: Record<string, unknown>): string {
  const config = { ...JSON.parse(readFileSync(path.join(root, 'shared/mapping/default-port-app-config.json'), 'utf8')), ...options };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'port-options-')), 'port-app-config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(options: Record<string, unknown>, env: Record<string, string> = {}): Promise<Harness> {
  h = await startHarness({ PORT_APP_CONFIG_FILE: mappingFile(options), ...env });
  seedSmallEstate(h.arg);
  return h;
}

/** Catalog upserts (the app's own state entity is not mapped, so it is always merged). */
const upserts = (harness: Harness) =>
  harness.port.requests.filter((r) => r.kind === 'bulkUpsert' && !r.decodedPath.startsWith(`/v1/blueprints/${harness.settings.port.blueprints.state}/`));
const deletes = (harness: Harness) => harness.port.requests.filter((r) => r.kind === 'delete' || r.decodedPath.includes('/bulk/entities/delete'));

describe('port-app-config Port options', () => {
  it('enableMergeEntity: false replaces entities (merge=false), keeps partial writes merged, and converges', async () => {
    const harness = await start({ enableMergeEntity: false });
    const { resource, subscription } = harness.settings.port.blueprints;
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    expect(upserts(harness).length).toBeGreaterThan(0);
    expect(upserts(harness).every((r) => r.query.merge === 'false')).toBe(true);
    const vm = harness.arg.estate().resources.find((r) => /virtualMachines\/VM-App-1$/i.test(String(r.id)))!;
    const id = toPortIdentifier(String(vm.id));
    // A team someone set in Port (the default mapping maps none): a replace drops it, a merge would keep it.
    const stored = harness.port.entity(resource, id)!;
    harness.port.seed(resource, [{ ...stored, team: ['someone-else'] } as typeof stored]);
    harness.arg.upsertResource({ ...vm, tags: { team: 'b' } });
    harness.arg.advance(MINUTE);
    harness.port.clearRequests();
    const run = await harness.run({ mode: 'full' });
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons })).toMatchObject({ status: 'succeeded' });
    expect(upserts(harness).length).toBeGreaterThan(0);
    expect(upserts(harness).every((r) => r.query.merge === 'false')).toBe(true);
    expect(harness.port.entity(resource, id)?.properties).toMatchObject({ tags: { team: 'b' } });
    expect((harness.port.entity(resource, id) as { team?: unknown[] } | undefined)?.team ?? []).toEqual([]);
    // Nothing changed since: nothing is written (the fingerprints agree with what a replace leaves).
    harness.port.clearRequests();
    harness.arg.advance(MINUTE);
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded', counts: { created: 0, updated: 0, deleted: 0 } });
    expect(harness.catalogWrites()).toBe(0);
    // A lost subscription's flag is a partial write: merged, so its title and properties stay.
    harness.arg.revokeSubscriptions([SUB_B]);
    harness.arg.advance(MINUTE);
    harness.port.clearRequests();
    await harness.run({ mode: 'full' });
    const lost = harness.port.entity(subscription, toPortIdentifier(`/subscriptions/${SUB_B}`))!;
    expect(lost.properties).toMatchObject({ subscriptionId: SUB_B, notVisibleSince: expect.any(String) });
    expect(lost.title).toBe('team-b');
    expect(upserts(harness).some((r) => r.query.merge === 'true')).toBe(true);
  });

  it('createMissingRelatedEntities in the mapping wins over PORT_CREATE_MISSING_RELATED_ENTITIES', async () => {
    const harness = await start({ createMissingRelatedEntities: false }, { PORT_CREATE_MISSING_RELATED_ENTITIES: 'true' });
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    expect(upserts(harness).length).toBeGreaterThan(0);
    expect(upserts(harness).every((r) => r.query.create_missing_related_entities === 'false')).toBe(true);
  });

  it('without the key, PORT_CREATE_MISSING_RELATED_ENTITIES applies', async () => {
    const harness = await start({}, { PORT_CREATE_MISSING_RELATED_ENTITIES: 'false' });
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    expect(upserts(harness).every((r) => r.query.create_missing_related_entities === 'false')).toBe(true);
  });

  it('deleteDependentEntities: true deletes with delete_dependents=true, so Port removes what relates to the entity', async () => {
    const harness = await start({ deleteDependentEntities: true });
    const { resourceGroup } = harness.settings.port.blueprints;
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    const group = `/subscriptions/${SUB_A}/resourcegroups/rg-data`;
    harness.port.seedBlueprint({
      identifier: 'azureBudget',
      title: 'Budget',
      schema: { properties: {}, required: [] },
      relations: { resourceGroup: { title: 'Resource group', target: resourceGroup, required: true, many: false } },
    });
    harness.port.seed('azureBudget', [{ identifier: 'budget-data', title: 'Budget', properties: {}, relations: { resourceGroup: toPortIdentifier(group) } }]);
    for (const r of harness.arg.estate().resources.filter((x) => String(x.id).toLowerCase().startsWith(`${group}/`))) harness.arg.deleteResource(String(r.id));
    harness.arg.deleteResourceGroup(`/subscriptions/${SUB_A}/resourceGroups/rg-data`);
    harness.arg.advance(MINUTE);
    harness.port.clearRequests();
    const run = await harness.run({ mode: 'full' });
    expect(run, JSON.stringify({ i: run.incompleteReasons, r: run.rejectedReasons, f: run.failures, d: run.deletionSkippedReason })).toMatchObject({ status: 'succeeded' });
    expect(deletes(harness).length).toBeGreaterThan(0);
    expect(deletes(harness).every((r) => r.query.delete_dependents === 'true')).toBe(true);
    expect(harness.port.entity(resourceGroup, toPortIdentifier(group))).toBeUndefined();
    expect(harness.port.entity('azureBudget', 'budget-data')).toBeUndefined();
  });

  it('deleteDependentEntities: false (the default mapping) sends delete_dependents=false: an entity with dependents stays', async () => {
    const harness = await start({});
    const { resourceGroup } = harness.settings.port.blueprints;
    expect(await harness.run({ mode: 'full' })).toMatchObject({ status: 'succeeded' });
    const group = `/subscriptions/${SUB_A}/resourcegroups/rg-data`;
    harness.port.seedBlueprint({
      identifier: 'azureBudget',
      title: 'Budget',
      schema: { properties: {}, required: [] },
      relations: { resourceGroup: { title: 'Resource group', target: resourceGroup, required: true, many: false } },
    });
    harness.port.seed('azureBudget', [{ identifier: 'budget-data', title: 'Budget', properties: {}, relations: { resourceGroup: toPortIdentifier(group) } }]);
    for (const r of harness.arg.estate().resources.filter((x) => String(x.id).toLowerCase().startsWith(`${group}/`))) harness.arg.deleteResource(String(r.id));
    harness.arg.deleteResourceGroup(`/subscriptions/${SUB_A}/resourceGroups/rg-data`);
    harness.arg.advance(MINUTE);
    harness.port.clearRequests();
    await harness.run({ mode: 'full' });
    expect(deletes(harness).every((r) => r.query.delete_dependents === 'false')).toBe(true);
    expect(harness.port.entity('azureBudget', 'budget-data')).toBeDefined();
    expect(harness.port.entity(resourceGroup, toPortIdentifier(group))).toBeDefined();
  });
});
