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
import { decide, mapObservations, refKey, type ConvergeTarget, type StoredInfo } from '../../shared/sync/converge/plan.js';

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
