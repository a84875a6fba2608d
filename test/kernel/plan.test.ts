/**
 * The convergence core's planner (shared/sync/converge/plan.ts), the cases test/converge/plan.test.ts leaves open:
 * an id Resource Graph did not answer for, holding only delete hints, rows that cannot be mapped or map to nothing,
 * and the changed fields of a dry run.
 */
import { describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import type { ArgRow, Observation } from '../../shared/azure/types.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import { fingerprint } from '../../shared/sync/converge/fingerprint.js';
import { createDefaultMapping, type EntityMapping } from '../../shared/sync/converge/mapping.js';
import { byLevel, decide, holdContainersWithLiveChildren, mapObservations, refKey, type ConvergeTarget, type StoredInfo } from '../../shared/sync/converge/plan.js';

const SUB = '/subscriptions/00000000-0000-0000-0000-00000000000a';
const RG = `${SUB}/resourcegroups/rg`;
const VM = `${RG}/providers/microsoft.compute/virtualmachines/vm1`;
const mapping = createDefaultMapping(BP, { includeResourceTypes: [], excludeResourceTypes: [] });
const fieldsOf = (bp: string) => mapping.blueprints.find((b) => b.fields.blueprint === bp)!.fields;
const row = (id: string, extra: Partial<ArgRow> = {}): ArgRow => ({ id, name: id.split('/').pop()!, type: 'microsoft.compute/virtualmachines', location: 'westeurope', ...extra });
const present = (r: ArgRow): Observation => ({ state: 'present', row: r });

function plan(targets: ConvergeTarget[], observations: Record<string, Observation>, stored: Record<string, StoredInfo> = {}, options: { detailed?: boolean; mapping?: EntityMapping } = {}) {
  const m = options.mapping ?? mapping;
  const { mapped, refsToRead } = mapObservations(targets, new Map(Object.entries(observations)), m);
  const storedMap = new Map(Object.entries(stored).map(([id, info]) => [refKey({ blueprint: m.refsOfId(id)[0]!.blueprint, identifier: toPortIdentifier(id) }), info]));
  return { refsToRead, ...decide(mapped, storedMap, { fieldsOf, ...(options.detailed ? { detailed: true } : {}) }) };
}

describe('mapObservations', () => {
  it('an id Resource Graph did not answer for is unknown (inconclusive), with the reason', () => {
    const p = plan([{ id: VM, hint: 'delete' }], {});
    expect(p.verdicts.get(VM)).toEqual({ status: 'unknown', cause: 'inconclusive', reason: 'Resource Graph did not answer for this id' });
    expect(p.refsToRead).toEqual([]);
  });

  it('only a delete hint is held when its resource is still visible; a write or refresh is written', () => {
    expect(plan([{ id: VM, hint: 'delete', holdIfPresent: true }], { [VM]: present(row(VM)) }).verdicts.get(VM)).toEqual({ status: 'held' });
    for (const hint of ['write', 'refresh'] as const) {
      const p = plan([{ id: VM, hint, holdIfPresent: true }], { [VM]: present(row(VM)) });
      expect(p.verdicts.get(VM), hint).toEqual({ status: 'present', writes: 1, unchanged: 0 });
      expect(p.upserts, hint).toHaveLength(1);
    }
    const notHeld = plan([{ id: VM, hint: 'delete' }], { [VM]: present(row(VM)) });
    expect(notHeld.verdicts.get(VM)).toEqual({ status: 'present', writes: 1, unchanged: 0 });
  });

  it('a row the mapping cannot map is unmappable: nothing written, nothing deleted, nothing read', () => {
    const failing: EntityMapping = { ...mapping, mapRow: () => ({ entities: [], unselected: [], error: 'jq: tags is not an object' }) };
    const p = plan([{ id: VM, hint: 'write' }], { [VM]: present(row(VM)) }, { [VM]: { fingerprint: 'x', objects: {} } }, { mapping: failing });
    expect(p.verdicts.get(VM)).toEqual({ status: 'unmappable', reason: 'jq: tags is not an object' });
    expect(p.upserts).toEqual([]);
    expect(p.deletes).toEqual([]);
    expect(p.refsToRead).toEqual([]);
  });

  it('a row that maps to no entity at all is not tracked; one the mapping no longer selects deletes its entity', () => {
    const deployment = `${RG}/providers/microsoft.resources/deployments/d1`;
    const p = plan([{ id: deployment, hint: 'write' }], { [deployment]: present({ id: deployment, type: 'microsoft.resources/deployments' }) });
    expect(p.verdicts.get(deployment)).toEqual({ status: 'notTracked' });
    expect(p.refsToRead).toEqual([]);
    const filtered = createDefaultMapping(BP, { includeResourceTypes: [], excludeResourceTypes: ['microsoft.compute/virtualmachines'] });
    const stored = { [VM]: { fingerprint: 'old', objects: {} } };
    const q = plan([{ id: VM, hint: 'write' }], { [VM]: present(row(VM)) }, stored, { mapping: filtered });
    expect(q.refsToRead.map((r) => r.identifier)).toEqual([toPortIdentifier(VM)]);
    expect(q.deletes.map((d) => d.ref.identifier)).toEqual([toPortIdentifier(VM)]);
    expect(q.verdicts.get(VM)).toEqual({ status: 'present', writes: 1, unchanged: 0 });
  });
});

describe('decide', () => {
  it('a dry run names the fields an update changes; a real run does not compute them', () => {
    const before = row(VM, { tags: { a: '1' } });
    const mapped = mapping.mapRow(before).entities[0]!;
    const stored = { [VM]: { fingerprint: fingerprint(mapped.entity, fieldsOf(BP.resource), true), objects: {} } };
    const after = row(VM, { tags: { a: '2' }, location: 'northeurope' });
    const dry = plan([{ id: VM, hint: 'write' }], { [VM]: present(after) }, stored, { detailed: true });
    expect(dry.upserts[0]!.change).toEqual({ kind: 'update', stored: stored[VM], fields: ['properties.location', 'properties.tags'] });
    const real = plan([{ id: VM, hint: 'write' }], { [VM]: present(after) }, { [VM]: { fingerprint: fingerprint(mapped.entity, fieldsOf(BP.resource)), objects: {} } });
    expect(real.upserts[0]!.change).toEqual({ kind: 'update', stored: { fingerprint: fingerprint(mapped.entity, fieldsOf(BP.resource)), objects: {} } });
  });

  it('an absent id with nothing in Port is already absent; with an entity it is deleted once, however often it is named', () => {
    const p = plan([{ id: VM, hint: 'delete' }], { [VM]: { state: 'absent' } });
    expect(p.verdicts.get(VM)).toEqual({ status: 'alreadyAbsent' });
    const q = plan(
      [
        { id: VM, hint: 'delete' },
        { id: RG, hint: 'delete' },
      ],
      { [VM]: { state: 'absent' }, [RG]: { state: 'absent' } },
      { [VM]: { fingerprint: 'f', objects: {} } },
    );
    expect(q.deletes.map((d) => d.ref.identifier)).toEqual([toPortIdentifier(VM)]);
    expect(q.verdicts.get(VM)).toEqual({ status: 'deleted', deletes: 1 });
    expect(q.verdicts.get(RG)).toEqual({ status: 'alreadyAbsent' });
  });
});

describe('each entity is planned once', () => {
  it('the same id named twice: one delete, one upsert', () => {
    const stored = { [VM]: { fingerprint: 'f', objects: {} } };
    const twice = plan(
      [
        { id: VM, hint: 'delete' },
        { id: VM, hint: 'delete' },
      ],
      { [VM]: { state: 'absent' } },
      stored,
    );
    expect(twice.deletes).toHaveLength(1);
    const written = plan(
      [
        { id: VM, hint: 'write' },
        { id: VM, hint: 'refresh' },
      ],
      { [VM]: present(row(VM)) },
    );
    expect(written.upserts).toHaveLength(1);
  });
});

describe('byLevel', () => {
  it('groups items by level in the order given, each level holding only its own', () => {
    const item = (level: 'subscription' | 'resourceGroup' | 'resource', identifier: string) => ({ ref: { blueprint: 'b', level, identifier } });
    const items = [item('resource', 'r1'), item('subscription', 's1'), item('resourceGroup', 'g1'), item('resource', 'r2')];
    expect(byLevel(items, ['subscription', 'resourceGroup', 'resource']).map((l) => l.map((i) => i.ref.identifier))).toEqual([['s1'], ['g1'], ['r1', 'r2']]);
    expect(byLevel(items, ['resource', 'subscription']).map((l) => l.map((i) => i.ref.identifier))).toEqual([['r1', 'r2'], ['s1']]);
  });
});

describe('holdContainersWithLiveChildren', () => {
  const CHILD1 = `${RG}/providers/microsoft.compute/virtualmachines/c1`;
  const CHILD2 = `${RG}/providers/microsoft.compute/virtualmachines/c2`;
  const groupDeleted = (childStatus: Record<string, 'deleted' | 'alreadyAbsent' | 'present' | 'unknown'>) => {
    const stored: Record<string, StoredInfo> = { [RG]: { fingerprint: 'g', objects: {} } };
    const observations: Record<string, Observation> = { [RG]: { state: 'absent' } };
    const targets: ConvergeTarget[] = [{ id: RG, hint: 'delete' }];
    for (const [id, status] of Object.entries(childStatus)) {
      targets.push({ id, hint: 'delete' });
      if (status === 'deleted') {
        observations[id] = { state: 'absent' };
        stored[id] = { fingerprint: 'c', objects: {} };
      } else if (status === 'alreadyAbsent') observations[id] = { state: 'absent' };
      else if (status === 'present') observations[id] = present(row(id));
      else observations[id] = { state: 'unknown', cause: 'unreadable', reason: 'x' };
    }
    return plan(targets, observations, stored);
  };

  it('a deleted group whose children are all gone keeps its delete', () => {
    const p = groupDeleted({ [CHILD1]: 'deleted', [CHILD2]: 'alreadyAbsent' });
    const out = holdContainersWithLiveChildren(p, new Map([[RG, [CHILD1, CHILD2]]]), new Set([RG]));
    expect(out).toBe(p);
    expect(out.verdicts.get(RG)).toEqual({ status: 'deleted', deletes: 1 });
  });

  it('a deleted group with a child still present, or unproven, is held: its delete is dropped, the children\'s are kept', () => {
    for (const status of ['present', 'unknown'] as const) {
      const p = groupDeleted({ [CHILD1]: 'deleted', [CHILD2]: status });
      const out = holdContainersWithLiveChildren(p, new Map([[RG, [CHILD1, CHILD2]]]), new Set([RG]));
      expect(out.verdicts.get(RG), status).toEqual({ status: 'held' });
      expect(out.deletes.map((d) => d.target), status).toEqual([CHILD1]);
      expect(out.verdicts.get(CHILD1), status).toEqual({ status: 'deleted', deletes: 1 });
      expect(p.verdicts.get(RG), 'the input plan is not changed').toEqual({ status: 'deleted', deletes: 1 });
    }
  });

  it('only holdable containers whose delete was planned are held', () => {
    const p = groupDeleted({ [CHILD1]: 'present' });
    expect(holdContainersWithLiveChildren(p, new Map([[RG, [CHILD1]]]), new Set())).toBe(p);
    const notDeleted = plan([{ id: RG, hint: 'delete' }, { id: CHILD1, hint: 'delete' }], { [RG]: { state: 'absent' }, [CHILD1]: present(row(CHILD1)) });
    expect(notDeleted.verdicts.get(RG)).toEqual({ status: 'alreadyAbsent' });
    const out = holdContainersWithLiveChildren(notDeleted, new Map([[RG, [CHILD1]]]), new Set([RG]));
    expect(out.verdicts.get(RG)).toEqual({ status: 'alreadyAbsent' });
  });
});
