/**
 * The safety kernel: given what each path wants converged (targets with hints), what Resource Graph proved about
 * them (observations) and what Port holds, decide every write and every delete. Pure, so each rule is unit-tested
 * and mutation-tested without emulators.
 *
 * The rules:
 * - Present in Azure: the row wins, whatever the hint said (a delete followed by a re-create converges on the
 *   resource existing). Entities are written only when they differ from Port, always with explicit nulls, so a field
 *   that disappeared in Azure is cleared in Port. The event path may ask to hold a delete hint whose resource is
 *   still visible (Resource Graph lag) instead of writing it back.
 * - Absent: deleted only when the absence is PROVEN (the same read showed the id's scope readable), the hint allows
 *   it (a write hint never deletes), Port holds the entity, and Port does not show it as updated since the run
 *   started (a live event may have re-created it after the listing passed it).
 * - Unknown (scope not proven readable, an inconclusive read): nothing is written or deleted.
 */
import type { Observation } from '../../azure/types.js';
import type { PortEntity } from '../../port/types.js';
import { changedFields, fingerprint, withExplicitNulls, type BlueprintFields } from './fingerprint.js';
import type { EntityMapping, EntityRef, Level, MappedEntity } from './mapping.js';

/**
 * write: something was written (an event, a Create/Update change record): converge to the row; never delete.
 * delete: something was deleted (an event, a Delete change record, a stale entity of a full sync, an entity under a
 *         deleted container): converge to the row if it is back, delete if its absence is proven.
 * refresh: re-read and write if present (a parent of a changed child); nothing when absent.
 */
export type Hint = 'write' | 'delete' | 'refresh';

export interface ConvergeTarget {
  /** Normalised ARM id. */
  id: string;
  hint: Hint;
  /** A delete hint whose resource is still visible is held (the caller re-checks later) instead of written back. */
  holdIfPresent?: boolean;
  /**
   * Entities Port holds for this id that the caller found stale (a full sync's candidates, per blueprint). When the
   * row is present and mapped without error, those it no longer maps to are deleted, like a selector turning false:
   * the mapping changed (an entry removed, its kind changed) while the resource stayed.
   */
  stale?: EntityRef[];
}

/** What Port holds for one entity (from a search of the mapped fields). */
export interface StoredInfo {
  fingerprint: string;
  /** $updatedAt (ms), when read. */
  updatedAt?: number;
  /** Current values of the blueprint's object-typed properties. */
  objects: Record<string, unknown>;
}

/**
 * `partial`: the entity carries only the fields to change (the app's own flags, e.g. a subscription's
 * notVisibleSince), so it is always merged, even when the mapping asks for full replaces (enableMergeEntity: false).
 */
export type UpsertChange = { kind: 'create' } | { kind: 'update'; fields?: string[]; stored?: StoredInfo; partial?: boolean };

export interface PlannedUpsert {
  target: string;
  ref: EntityRef;
  entity: PortEntity;
  change: UpsertChange;
}

export interface PlannedDelete {
  target: string;
  ref: EntityRef;
}

export type Verdict =
  | { status: 'present'; writes: number; unchanged: number }
  | { status: 'deleted'; deletes: number }
  | { status: 'alreadyAbsent' }
  | { status: 'notVisible' }
  | { status: 'held' }
  | { status: 'protected'; identifiers: string[] }
  | { status: 'unknown'; cause: 'unreadable' | 'inconclusive' | 'notTracked'; reason: string }
  | { status: 'unmappable'; reason: string }
  | { status: 'notTracked' };

/** The mapping's view of each target, before Port's state is known. */
export type Mapped =
  | { kind: 'present'; target: ConvergeTarget; entities: MappedEntity[]; unselected: EntityRef[] }
  | { kind: 'absent'; target: ConvergeTarget; refs: EntityRef[] }
  | { kind: 'settled'; target: ConvergeTarget; verdict: Verdict };

const refKey = (ref: Pick<EntityRef, 'blueprint' | 'identifier'>) => `${ref.blueprint}\u0000${ref.identifier}`;
export { refKey };

/** Step 1 (pure): map what Resource Graph showed, and list the Port entities whose state the decision needs. */
export function mapObservations(
  targets: readonly ConvergeTarget[],
  observations: ReadonlyMap<string, Observation>,
  mapping: EntityMapping,
): { mapped: Mapped[]; refsToRead: EntityRef[] } {
  const mapped: Mapped[] = [];
  const refsToRead = new Map<string, EntityRef>();
  const need = (ref: EntityRef) => refsToRead.set(refKey(ref), ref);
  for (const target of targets) {
    const observation = observations.get(target.id) ?? {
      state: 'unknown' as const,
      cause: 'inconclusive' as const,
      reason: 'Resource Graph did not answer for this id',
    };
    if (observation.state === 'unknown') {
      mapped.push({ kind: 'settled', target, verdict: { status: 'unknown', cause: observation.cause, reason: observation.reason } });
      continue;
    }
    if (observation.state === 'present') {
      if (target.hint === 'delete' && target.holdIfPresent) {
        mapped.push({ kind: 'settled', target, verdict: { status: 'held' } });
        continue;
      }
      const result = mapping.mapRow(observation.row);
      if (result.error !== undefined) {
        mapped.push({ kind: 'settled', target, verdict: { status: 'unmappable', reason: result.error } });
        continue;
      }
      // Stale entities the present row no longer maps to (only when the row mapped without error: an unmappable row
      // deletes nothing, above) go like unselected ones.
      const produced = new Set(result.entities.map((e) => refKey({ blueprint: e.blueprint, identifier: e.entity.identifier })));
      const unselected = [...result.unselected, ...(target.stale ?? []).filter((ref) => target.hint === 'delete' && !produced.has(refKey(ref)))];
      if (result.entities.length === 0 && unselected.length === 0) {
        mapped.push({ kind: 'settled', target, verdict: { status: 'notTracked' } });
        continue;
      }
      for (const e of result.entities) need({ blueprint: e.blueprint, level: e.level, identifier: e.entity.identifier });
      for (const ref of unselected) need(ref);
      mapped.push({ kind: 'present', target, entities: result.entities, unselected });
      continue;
    }
    // Proven absent.
    if (target.hint === 'write') {
      mapped.push({ kind: 'settled', target, verdict: { status: 'notVisible' } });
      continue;
    }
    if (target.hint === 'refresh') {
      mapped.push({ kind: 'settled', target, verdict: { status: 'notTracked' } });
      continue;
    }
    // Proven absent: what the id stands for now, and whatever stale entity of it the caller found (a blueprint the
    // mapping no longer maps this id into still held it).
    const refs = [...mapping.refsOfId(target.id), ...(target.stale ?? [])];
    for (const ref of refs) need(ref);
    mapped.push({ kind: 'absent', target, refs });
  }
  return { mapped, refsToRead: [...refsToRead.values()] };
}

export interface DecideOptions {
  fieldsOf: (blueprint: string) => BlueprintFields;
  /** Reconciliation: Port entities updated at or after this instant (ms) are never deleted. */
  protectUpdatedSince?: number;
  /** Dry run: name the changed fields of each update. */
  detailed?: boolean;
}

export interface Plan {
  upserts: PlannedUpsert[];
  deletes: PlannedDelete[];
  verdicts: Map<string, Verdict>;
  /** Entities already equal to Azure's state, per blueprint. */
  unchanged: Map<string, number>;
}

/** Step 2 (pure): with Port's state known, decide every write and delete. */
export function decide(mapped: readonly Mapped[], stored: ReadonlyMap<string, StoredInfo>, options: DecideOptions): Plan {
  const upserts: PlannedUpsert[] = [];
  const deletes: PlannedDelete[] = [];
  const verdicts = new Map<string, Verdict>();
  const unchangedByBlueprint = new Map<string, number>();
  const planned = new Set<string>();
  const protectedIds: string[] = [];

  const deletable = (ref: EntityRef): boolean => {
    const info = stored.get(refKey(ref));
    if (!info) return false;
    if (options.protectUpdatedSince !== undefined && info.updatedAt !== undefined && info.updatedAt >= options.protectUpdatedSince) {
      protectedIds.push(ref.identifier);
      return false;
    }
    return true;
  };
  const planDelete = (target: string, ref: EntityRef): boolean => {
    const key = refKey(ref);
    if (planned.has(key) || !deletable(ref)) return false;
    planned.add(key);
    deletes.push({ target, ref });
    return true;
  };

  for (const m of mapped) {
    const id = m.target.id;
    if (m.kind === 'settled') {
      verdicts.set(id, m.verdict);
      continue;
    }
    protectedIds.length = 0;
    if (m.kind === 'absent') {
      let count = 0;
      for (const ref of m.refs) if (planDelete(id, ref)) count += 1;
      const kept = [...protectedIds];
      verdicts.set(id, count > 0 ? { status: 'deleted', deletes: count } : kept.length > 0 ? { status: 'protected', identifiers: kept } : { status: 'alreadyAbsent' });
      continue;
    }
    let writes = 0;
    let unchanged = 0;
    for (const e of m.entities) {
      const ref: EntityRef = { blueprint: e.blueprint, level: e.level, identifier: e.entity.identifier };
      const key = refKey(ref);
      if (planned.has(key)) continue;
      planned.add(key);
      const fields = options.fieldsOf(e.blueprint);
      const before = stored.get(key);
      const after = fingerprint(e.entity, fields, options.detailed);
      if (before?.fingerprint === after) {
        unchanged += 1;
        unchangedByBlueprint.set(e.blueprint, (unchangedByBlueprint.get(e.blueprint) ?? 0) + 1);
        continue;
      }
      writes += 1;
      upserts.push({
        target: id,
        ref,
        entity: withExplicitNulls(e.entity, fields),
        change: before
          ? { kind: 'update', stored: before, ...(options.detailed ? { fields: changedFields(before.fingerprint, after, fields) } : {}) }
          : { kind: 'create' },
      });
    }
    for (const ref of m.unselected) if (planDelete(id, ref)) writes += 1;
    verdicts.set(id, { status: 'present', writes, unchanged });
  }
  return { upserts, deletes, verdicts, unchanged: unchangedByBlueprint };
}

/** Upserts relation targets first; deletes dependents first. */
export function byLevel<T extends { ref: EntityRef }>(items: readonly T[], order: readonly Level[]): T[][] {
  return order.map((level) => items.filter((i) => i.ref.level === level));
}

/**
 * Step 3 (pure): a container (resource group, subscription) whose delete may still wait (`holdable`: its delete hint
 * is not settled) is held while Port keeps children the same read did not prove gone. Deleting it first would be
 * refused (Port keeps an entity that others relate to) and then never retried; held, its re-check cascades again
 * once Resource Graph shows the children gone (found by the soak: a group delete racing its children's lag).
 */
export function holdContainersWithLiveChildren(plan: Plan, expanded: ReadonlyMap<string, readonly string[]>, holdable: ReadonlySet<string>): Plan {
  const held = new Set<string>();
  for (const [container, children] of expanded) {
    if (!holdable.has(container) || plan.verdicts.get(container)?.status !== 'deleted') continue;
    const gone = (id: string) => {
      const status = plan.verdicts.get(id)?.status;
      return status === 'deleted' || status === 'alreadyAbsent';
    };
    if (!children.every(gone)) held.add(container);
  }
  if (held.size === 0) return plan;
  const verdicts = new Map(plan.verdicts);
  for (const container of held) verdicts.set(container, { status: 'held' });
  return { ...plan, deletes: plan.deletes.filter((d) => !held.has(d.target)), verdicts };
}
