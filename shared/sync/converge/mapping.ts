/**
 * The mapping as the convergence core sees it: which entities a Resource Graph row becomes, which entities an Azure
 * id stands for once it is gone, and the comparable fields of every blueprint it writes. Every path maps through
 * this one interface, so the real-time path, the windowed sync and the full sync can never disagree on an entity.
 */
import { parseResourceId, toPortIdentifier } from '../../azure/resourceId.js';
import type { ArgRow } from '../../azure/types.js';
import { mapRow } from '../../mapping/index.js';
import { defaultBlueprints, type BlueprintIds } from '../../port/blueprints.js';
import type { PortEntity } from '../../port/types.js';
import { blueprintFields, type BlueprintFields } from './fingerprint.js';
import type { PortWriteOptions } from './portWriter.js';

/** Relation targets are written first (subscription → resource group → resource); deletes go the other way. */
export type Level = 'subscription' | 'resourceGroup' | 'resource';
export const LEVELS: readonly Level[] = ['subscription', 'resourceGroup', 'resource'];

/** One Port entity, by blueprint and identifier. */
export interface EntityRef {
  blueprint: string;
  level: Level;
  identifier: string;
}

export interface MappedEntity {
  blueprint: string;
  level: Level;
  entity: PortEntity;
}

export interface RowMapping {
  entities: MappedEntity[];
  /** Entities this row would have had that its current state rules out (a filtered type, a failed selector). */
  unselected: EntityRef[];
  /** Why the row could not be mapped at all (its entities are then left alone). */
  error?: string;
}

/** A mapping entry whose rows come from the user's own KQL (`selector.graphQuery`), not from the app's projections. */
export interface GraphQuerySource {
  /** Index of the entry in `resources[]` (names it in messages). */
  entry: number;
  level: Exclude<Level, 'subscription'>;
  query: string;
}

export interface EntityMapping {
  /** Every blueprint the mapping writes, with its level and comparable fields. */
  readonly blueprints: readonly { level: Level; fields: BlueprintFields }[];
  /** Maps a row of the app's own projections (every entry without a graphQuery). */
  mapRow(row: ArgRow): RowMapping;
  /** The entities an Azure id stands for, derived from the id alone (what a delete knows), graphQuery entries included. */
  refsOfId(id: string): EntityRef[];
  /** The mapping's Port options (port-app-config top level); the writer applies them. Without: merge, no dependents. */
  readonly portOptions?: PortWriteOptions;
  /** Entries with their own KQL: every path must also read their rows (full sync pages them, the core looks them up). */
  readonly graphQueries?: readonly GraphQuerySource[];
  /** Maps rows that one graphQuery entry's query returned (only that entry maps them). */
  mapGraphQueryRows?(entry: number, rows: readonly ArgRow[]): RowMapping[];
  /** The entities one entry gives an id, from the id alone (a graphQuery entry whose query no longer selects it). */
  refsOfIdForEntry?(entry: number, id: string): EntityRef[];
}

export function levelOfId(id: string): Level | undefined {
  try {
    const kind = parseResourceId(id).kind;
    if (kind === 'subscription' || kind === 'resourceGroup') return kind;
    return kind === 'resource' || kind === 'childResource' ? 'resource' : undefined;
  } catch {
    return undefined;
  }
}

export interface DefaultMappingOptions {
  ids: BlueprintIds;
  fields: Record<Level, BlueprintFields>;
  /** INCLUDE_RESOURCE_TYPES / EXCLUDE_RESOURCE_TYPES, applied to resources only. */
  typeAllowed: (type: string | null | undefined) => boolean;
}

/** The built-in mapping (shared/mapping/index.ts) behind the core's interface. */
export function defaultEntityMapping(options: DefaultMappingOptions): EntityMapping {
  const { ids, fields, typeAllowed } = options;
  const blueprintOf: Record<Level, string> = { subscription: ids.subscription, resourceGroup: ids.resourceGroup, resource: ids.resource };
  const refsOfId = (id: string): EntityRef[] => {
    const level = levelOfId(id);
    return level ? [{ blueprint: blueprintOf[level], level, identifier: toPortIdentifier(id) }] : [];
  };
  return {
    blueprints: LEVELS.map((level) => ({ level, fields: fields[level] })),
    refsOfId,
    mapRow(row: ArgRow): RowMapping {
      const level = typeof row?.id === 'string' ? levelOfId(row.id) : undefined;
      if (level === 'resource' && !typeAllowed(row.type)) return { entities: [], unselected: refsOfId(row.id) };
      let mapped: ReturnType<typeof mapRow>;
      try {
        mapped = mapRow(row, ids);
      } catch (error) {
        return { entities: [], unselected: [], error: error instanceof Error ? error.message : String(error) };
      }
      if (!mapped || !level) return { entities: [], unselected: [], ...(level ? { error: 'the row could not be mapped' } : {}) };
      return { entities: [{ blueprint: mapped.blueprint, level, entity: mapped.entity }], unselected: [] };
    },
  };
}

/** The built-in mapping for the given blueprint ids and type filters (what every path uses unless told otherwise). */
export function createDefaultMapping(
  ids: BlueprintIds,
  filter: { includeResourceTypes: readonly string[]; excludeResourceTypes: readonly string[] },
): EntityMapping {
  const definitions = new Map(defaultBlueprints(ids).map((d) => [d.identifier, blueprintFields(d)]));
  const fieldsOf = (id: string): BlueprintFields => {
    const fields = definitions.get(id);
    if (!fields) throw new Error(`no default blueprint definition for "${id}"`);
    return fields;
  };
  const include = filter.includeResourceTypes.map((t) => t.toLowerCase());
  const exclude = filter.excludeResourceTypes.map((t) => t.toLowerCase());
  return defaultEntityMapping({
    ids,
    fields: { subscription: fieldsOf(ids.subscription), resourceGroup: fieldsOf(ids.resourceGroup), resource: fieldsOf(ids.resource) },
    typeAllowed: (type) => {
      if (!type) return true;
      const t = type.toLowerCase();
      if (include.length > 0 && !include.includes(t)) return false;
      return !exclude.includes(t);
    },
  });
}
