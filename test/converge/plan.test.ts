/**
 * The safety kernel's rules, one by one, without emulators: what the convergence core writes and deletes for every
 * combination of hint, Resource Graph observation and Port state.
 */
import { describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow, Observation } from '../../shared/azure/types.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { createDefaultMapping } from '../../shared/sync/converge/mapping.js';
import { fingerprint, withExplicitNulls } from '../../shared/sync/converge/fingerprint.js';
import { decide, holdContainersWithLiveChildren, mapObservations, refKey, type ConvergeTarget, type StoredInfo } from '../../shared/sync/converge/plan.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-00000000000a';
const RG = `${SUB}/resourcegroups/rg`;
const VM = `${RG}/providers/microsoft.compute/virtualmachines/vm1`;
const mapping = createDefaultMapping(BP, { includeResourceTypes: [], excludeResourceTypes: ['microsoft.network/networkwatchers'] });
const fieldsOf = (bp: string) => mapping.blueprints.find((b) => b.fields.blueprint === bp)!.fields;

const row = (id: string, extra: Partial<ArgRow> = {}): ArgRow => ({ id, name: id.split('/').pop()!, type: 'microsoft.compute/virtualmachines', location: 'westeurope', ...extra });
const present = (r: ArgRow): Observation => ({ state: 'present', row: r });
const absent: Observation = { state: 'absent' };
const unreadable: Observation = { state: 'unknown', cause: 'unreadable', reason: 'no witness' };

/** What Port would hold after writing `r`'s entity (its fingerprint), updated at `updatedAt`. */
function storedFor(r: ArgRow, updatedAt?: number, objects: Record<string, unknown> = {}): StoredInfo {
  const mapped = mapping.mapRow(r).entities[0]!;
  return { fingerprint: fingerprint(mapped.entity, fieldsOf(mapped.blueprint)), ...(updatedAt !== undefined ? { updatedAt } : {}), objects };
}

function plan(targets: ConvergeTarget[], observations: Record<string, Observation>, stored: Record<string, StoredInfo> = {}, protectUpdatedSince?: number) {
  const { mapped, refsToRead } = mapObservations(targets, new Map(Object.entries(observations)), mapping);
  const storedMap = new Map(Object.entries(stored).map(([id, info]) => [refKey({ blueprint: mapping.refsOfId(id)[0]!.blueprint, identifier: toPortIdentifier(id) }), info]));
  return { refsToRead, ...decide(mapped, storedMap, { fieldsOf, ...(protectUpdatedSince !== undefined ? { protectUpdatedSince } : {}) }) };
}

describe('present in Azure', () => {
  it('a new entity is created, with explicit nulls for every field the row lacks', () => {
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: present(row(VM)) });
    expect(p.upserts).toHaveLength(1);
    expect(p.upserts[0]!.change).toEqual({ kind: 'create' });
    expect(p.upserts[0]!.entity.properties).toMatchObject({ managedBy: null, kind: null, sku: null, location: 'westeurope' });
    expect(p.verdicts.get(VM)).toEqual({ status: 'present', writes: 1, unchanged: 0 });
  });

  it('an entity equal to Port is not written', () => {
    const r = row(VM);
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: present(r) }, { [VM]: storedFor(r) });
    expect(p.upserts).toEqual([]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'present', writes: 0, unchanged: 1 });
    expect(p.unchanged.get(BP.resource)).toBe(1);
  });

  it('a field removed in Azure is cleared in Port (explicit null), also on an update', () => {
    const before = row(VM, { managedBy: '/subscriptions/x/resourceGroups/y', sku: { name: 'Standard' } });
    const after = row(VM);
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: present(after) }, { [VM]: storedFor(before) });
    expect(p.upserts[0]!.change.kind).toBe('update');
    expect(p.upserts[0]!.entity.properties).toMatchObject({ managedBy: null, sku: null });
  });

  it('a delete hint whose resource is back converges on the resource existing', () => {
    const p = plan([{ id: VM, hint: 'delete' }], { [VM]: present(row(VM)) });
    expect(p.deletes).toEqual([]);
    expect(p.upserts).toHaveLength(1);
  });

  it('a delete hint the caller wants held while Resource Graph may lag writes nothing', () => {
    const p = plan([{ id: VM, hint: 'delete', holdIfPresent: true }], { [VM]: present(row(VM)) }, { [VM]: storedFor(row(VM, { location: 'old' })) });
    expect(p.upserts).toEqual([]);
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'held' });
  });

  it('a row whose type is now excluded has its entity deleted (the row itself proves it)', () => {
    const watcher = `${RG}/providers/microsoft.network/networkwatchers/nw`;
    const r = row(watcher, { type: 'microsoft.network/networkwatchers' });
    const stored = { fingerprint: 'x', objects: {} };
    const p = plan([{ id: watcher, hint: 'write' }], { [watcher]: present(r) }, { [watcher]: stored });
    expect(p.deletes.map((d) => d.ref.identifier)).toEqual([toPortIdentifier(watcher)]);
    expect(p.upserts).toEqual([]);
  });

  it('an unmappable row writes and deletes nothing', () => {
    const bad = { id: 42 } as unknown as ArgRow;
    const { mapped } = mapObservations([{ id: VM, hint: 'write' }], new Map([[VM, present(bad)]]), mapping);
    const p = decide(mapped, new Map(), { fieldsOf });
    expect(p.upserts).toEqual([]);
    expect(p.deletes).toEqual([]);
  });
});

describe('absent from Azure', () => {
  const stored = { [VM]: storedFor(row(VM), 1_000) };

  it('a proven absence with a delete hint deletes what Port holds', () => {
    const p = plan([{ id: VM, hint: 'delete' }], { [VM]: absent }, stored);
    expect(p.deletes.map((d) => d.ref)).toEqual([{ blueprint: BP.resource, level: 'resource', identifier: toPortIdentifier(VM) }]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'deleted', deletes: 1 });
  });

  it('nothing to delete when Port does not hold it', () => {
    const p = plan([{ id: VM, hint: 'delete' }], { [VM]: absent });
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'alreadyAbsent' });
  });

  it('a write hint never deletes, even when absence is proven', () => {
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: absent }, stored);
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'notVisible' });
  });

  it('a refresh never deletes', () => {
    const p = plan([{ id: VM, hint: 'refresh' }], { [VM]: absent }, stored);
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toEqual({ status: 'notTracked' });
  });

  it('an unproven absence (scope not readable) is never a delete', () => {
    const p = plan([{ id: VM, hint: 'delete' }], { [VM]: unreadable }, stored);
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toMatchObject({ status: 'unknown', cause: 'unreadable' });
  });

  it('an id Resource Graph did not answer for is unknown, never absent', () => {
    const p = plan([{ id: VM, hint: 'delete' }], {}, stored);
    expect(p.deletes).toEqual([]);
    expect(p.verdicts.get(VM)).toMatchObject({ status: 'unknown', cause: 'inconclusive' });
  });

  it('an entity Port shows as updated since the run started is kept (a live event re-created it)', () => {
    const updated = { [VM]: storedFor(row(VM), 5_000) };
    expect(plan([{ id: VM, hint: 'delete' }], { [VM]: absent }, updated, 5_000).verdicts.get(VM)).toEqual({
      status: 'protected',
      identifiers: [toPortIdentifier(VM)],
    });
    expect(plan([{ id: VM, hint: 'delete' }], { [VM]: absent }, updated, 5_001).deletes).toHaveLength(1);
  });

  it('a deleted group and its child are both deleted, each on its own proof; a child present is written', () => {
    const other = `${RG}/providers/microsoft.compute/virtualmachines/recreated`;
    const p = plan(
      [
        { id: RG, hint: 'delete' },
        { id: VM, hint: 'delete' },
        { id: other, hint: 'delete' },
      ],
      { [RG]: absent, [VM]: absent, [other]: present(row(other)) },
      { [RG]: { fingerprint: 'g', objects: {} }, [VM]: storedFor(row(VM)), [other]: storedFor(row(other)) },
    );
    expect(p.deletes.map((d) => d.ref.identifier).sort()).toEqual([toPortIdentifier(RG), toPortIdentifier(VM)].sort());
    expect(p.verdicts.get(other)).toEqual({ status: 'present', writes: 0, unchanged: 1 });
  });
});

describe('what Port is read for', () => {
  it('only the entities the decision needs: mapped ones and delete candidates, not unknowns or writes of absent ids', () => {
    const gone = `${RG}/providers/microsoft.compute/virtualmachines/gone`;
    const hidden = `${RG}/providers/microsoft.compute/virtualmachines/hidden`;
    const invisible = `${RG}/providers/microsoft.compute/virtualmachines/invisible`;
    const { refsToRead } = plan(
      [
        { id: VM, hint: 'write' },
        { id: gone, hint: 'delete' },
        { id: hidden, hint: 'delete' },
        { id: invisible, hint: 'write' },
      ],
      { [VM]: present(row(VM)), [gone]: absent, [hidden]: unreadable, [invisible]: absent },
    );
    expect(refsToRead.map((r) => r.identifier).sort()).toEqual([toPortIdentifier(gone), toPortIdentifier(VM)].sort());
  });

  it('writes explicit nulls exactly like withExplicitNulls', () => {
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: present(row(VM)) });
    const mapped = mapping.mapRow(row(VM)).entities[0]!;
    expect(p.upserts[0]!.entity).toEqual(withExplicitNulls(mapped.entity, fieldsOf(BP.resource)));
  });
});

describe('stale entities a full sync hands over with their id (a mapping change)', () => {
  const OLD = { blueprint: 'azureTracked', level: 'resource' as const, identifier: toPortIdentifier(VM) };
  const storedOld = new Map([[refKey(OLD), { fingerprint: 'x', objects: {} }]]);
  const decideWith = (target: ConvergeTarget, observation: Observation) => {
    const { mapped, refsToRead } = mapObservations([target], new Map([[VM, observation]]), mapping);
    return { refsToRead, ...decide(mapped, storedOld, { fieldsOf: (bp) => (bp === OLD.blueprint ? { blueprint: bp, fields: [], include: [], objectProperties: [] } : fieldsOf(bp)) }) };
  };

  it('present, but no longer mapped into that blueprint: deleted (the row proves the resource, the mapping proves the change)', () => {
    const p = decideWith({ id: VM, hint: 'delete', stale: [OLD] }, present(row(VM)));
    expect(p.refsToRead).toContainEqual(OLD);
    expect(p.deletes).toEqual([{ target: VM, ref: OLD }]);
    expect(p.upserts.map((u) => u.ref.blueprint)).toEqual([BP.resource]);
  });

  it('still mapped into that blueprint with that identifier: kept (written, not deleted)', () => {
    const same = { ...OLD, blueprint: BP.resource };
    const p = decideWith({ id: VM, hint: 'delete', stale: [same] }, present(row(VM)));
    expect(p.deletes).toEqual([]);
  });

  it('proven absent: deleted with what the id stands for now', () => {
    expect(decideWith({ id: VM, hint: 'delete', stale: [OLD] }, absent).deletes).toEqual([{ target: VM, ref: OLD }]);
  });

  it('unknown, or a write hint: the stale list deletes nothing', () => {
    expect(decideWith({ id: VM, hint: 'delete', stale: [OLD] }, unreadable).deletes).toEqual([]);
    expect(decideWith({ id: VM, hint: 'write', stale: [OLD] }, present(row(VM))).deletes).toEqual([]);
    expect(decideWith({ id: VM, hint: 'write', stale: [OLD] }, absent).deletes).toEqual([]);
  });
});

describe('a deleted group whose children Resource Graph still shows', () => {
  const groupRow: ArgRow = { id: RG, name: 'rg', type: 'microsoft.resources/subscriptions/resourcegroups', location: 'westeurope' };
  const stored = { [RG]: storedFor(groupRow, 1_000), [VM]: storedFor(row(VM), 1_000) };
  const targets: ConvergeTarget[] = [{ id: RG, hint: 'delete', holdIfPresent: true }, { id: VM, hint: 'delete' }];

  it('holds the group (no delete Port would refuse for its dependents) while a child is still listed', () => {
    const decided = plan(targets, { [RG]: absent, [VM]: present(row(VM)) }, stored);
    expect(decided.deletes.map((d) => d.target)).toEqual([RG]);
    const held = holdContainersWithLiveChildren(decided, new Map([[RG, [VM]]]), new Set([RG]));
    expect(held.deletes).toEqual([]);
    expect(held.verdicts.get(RG)).toEqual({ status: 'held' });
  });

  it('deletes the group with its children once they are proven gone', () => {
    const decided = plan(targets, { [RG]: absent, [VM]: absent }, stored);
    const out = holdContainersWithLiveChildren(decided, new Map([[RG, [VM]]]), new Set([RG]));
    expect(out.deletes.map((d) => d.target).sort()).toEqual([RG, VM].sort());
    expect(out.verdicts.get(RG)).toEqual({ status: 'deleted', deletes: 1 });
  });

  it('after the settle time (not holdable) the delete is attempted whatever the children', () => {
    const decided = plan(targets, { [RG]: absent, [VM]: present(row(VM)) }, stored);
    const out = holdContainersWithLiveChildren(decided, new Map([[RG, [VM]]]), new Set());
    expect(out.deletes.map((d) => d.target)).toEqual([RG]);
  });
});
