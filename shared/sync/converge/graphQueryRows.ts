/**
 * The convergence core's view of `selector.graphQuery` entries: for the ids Resource Graph showed present, each such
 * entry's own KQL is run restricted to them (userLookupQuery, ids escaped), and what it returns is mapped by that
 * entry alone. What it does NOT return is that entry's entity to delete, but only with proof, as for any absence:
 * the same single, self-consistent read also returned the row of the id's subscription or resource group (a
 * witness), so the identity could read where the row would be. Anything less (no witness, a read that paged, two
 * rows for one id) makes the id unmappable for this pass: none of its entities is written or deleted.
 *
 * Ids proven absent need nothing here: refsOfId already names the graphQuery entries' entities, deleted on the
 * normal proof (observe.ts).
 */
import { normalizeResourceId, parseResourceId } from '../../azure/resourceId.js';
import { MAX_IDS_PER_LOOKUP } from '../../azure/queries.js';
import type { ArgOperationOptions, ArgRow, Observation, ResourceGraphApi } from '../../azure/types.js';
import { levelOfId, type EntityMapping, type EntityRef, type MappedEntity, type RowMapping } from './mapping.js';

/** Ids per user lookup: each brings at most two witnesses (its subscription and group), so a read stays ≤ 1000 rows. */
const IDS_PER_LOOKUP = Math.floor(MAX_IDS_PER_LOOKUP / 3);

interface Contribution {
  entities: MappedEntity[];
  unselected: EntityRef[];
  errors: string[];
}

/** What the graphQuery entries add to each present id's mapping (normalised id → contribution). */
export async function graphQueryContributions(
  graph: ResourceGraphApi,
  mapping: EntityMapping,
  observations: ReadonlyMap<string, Observation>,
  options: ArgOperationOptions,
): Promise<Map<string, Contribution> | undefined> {
  const sources = mapping.graphQueries ?? [];
  if (sources.length === 0) return undefined;
  const present: { id: string; level: string; subscription: string; witnesses: string[] }[] = [];
  for (const [id, o] of observations) {
    if (o.state !== 'present') continue;
    const level = levelOfId(id);
    if (level !== 'resourceGroup' && level !== 'resource') continue;
    const parsed = parseResourceId(id);
    if (parsed.kind === 'nonResource') continue;
    const subscription = parsed.subscriptionId.toLowerCase();
    const subscriptionWitness = `/subscriptions/${subscription}`;
    const witnesses = [subscriptionWitness];
    if (level === 'resource' && parsed.resourceGroup !== undefined) witnesses.push(`${subscriptionWitness}/resourcegroups/${parsed.resourceGroup.toLowerCase()}`);
    present.push({ id, level, subscription, witnesses });
  }
  const out = new Map<string, Contribution>();
  if (present.length === 0) return out;
  if (!graph.lookupUserQuery || !mapping.mapGraphQueryRows || !mapping.refsOfIdForEntry) {
    throw new Error('the mapping has selector.graphQuery entries, but this Resource Graph client cannot run them');
  }
  const contribution = (id: string): Contribution => {
    let c = out.get(id);
    if (!c) out.set(id, (c = { entities: [], unselected: [], errors: [] }));
    return c;
  };
  for (const source of sources) {
    const targets = present.filter((p) => p.level === source.level).sort((a, b) => (a.subscription < b.subscription ? -1 : a.subscription > b.subscription ? 1 : 0));
    for (let i = 0; i < targets.length; i += IDS_PER_LOOKUP) {
      const batch = targets.slice(i, i + IDS_PER_LOOKUP);
      const witnesses = [...new Set(batch.flatMap((t) => t.witnesses))];
      const subscriptions = [...new Set(batch.map((t) => t.subscription))];
      const read = await graph.lookupUserQuery(source.query, batch.map((t) => t.id), witnesses, subscriptions, options);
      const rowsById = new Map<string, ArgRow[]>();
      const seen = new Set<string>();
      for (const row of read.rows) {
        if (typeof row.id !== 'string') continue;
        const id = normalizeResourceId(row.id);
        seen.add(id);
        rowsById.set(id, [...(rowsById.get(id) ?? []), row]);
      }
      const where = `resources[${source.entry}].selector.graphQuery`;
      const single: { id: string; row: ArgRow }[] = [];
      for (const t of batch) {
        const rows = rowsById.get(t.id) ?? [];
        if (rows.length > 1) contribution(t.id).errors.push(`${where}: returned ${rows.length} rows for this id; the mapping needs one row per id`);
        else if (rows.length === 1) single.push({ id: t.id, row: rows[0]! });
        else if (!read.singlePage) contribution(t.id).errors.push(`${where}: the lookup paged or its row count changed, so a missing row proves nothing`);
        else if (!t.witnesses.some((w) => seen.has(w))) {
          contribution(t.id).errors.push(`${where}: did not return this id, and neither its subscription nor its resource group answered in the same read, so that proves nothing`);
        } else {
          // Proven: the query no longer selects the id, so this entry's entity goes (like a selector turning false).
          contribution(t.id).unselected.push(...mapping.refsOfIdForEntry(source.entry, t.id));
        }
      }
      const mapped = single.length > 0 ? mapping.mapGraphQueryRows(source.entry, single.map((s) => s.row)) : [];
      single.forEach(({ id }, k) => {
        const m = mapped[k];
        const c = contribution(id);
        if (!m) c.errors.push(`${where}: the mapping returned nothing for the row`);
        else if (m.error !== undefined) c.errors.push(m.error);
        else {
          c.entities.push(...m.entities);
          c.unselected.push(...m.unselected);
        }
      });
    }
  }
  return out;
}

/** The mapping for one convergence pass: the app's entries, plus what the graphQuery entries gave each id. */
export function withGraphQueryRows(mapping: EntityMapping, contributions: ReadonlyMap<string, Contribution> | undefined): EntityMapping {
  if (!contributions) return mapping;
  return {
    blueprints: mapping.blueprints,
    ...(mapping.portOptions ? { portOptions: mapping.portOptions } : {}),
    refsOfId: (id) => mapping.refsOfId(id),
    mapRow(row: ArgRow): RowMapping {
      const base = mapping.mapRow(row);
      let id: string;
      try {
        id = normalizeResourceId(row.id);
      } catch {
        return base;
      }
      const extra = contributions.get(id);
      if (!extra) return base;
      const errors = [...(base.error !== undefined ? [base.error] : []), ...extra.errors];
      if (errors.length > 0) return { entities: [], unselected: [], error: errors.join('; ') };
      return { entities: [...base.entities, ...extra.entities], unselected: [...base.unselected, ...extra.unselected] };
    },
  };
}
