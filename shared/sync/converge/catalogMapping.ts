/**
 * A port-app-config mapping (shared/mapping, jq) seen through the convergence core's EntityMapping, so the real-time
 * path, the windowed sync and the full sync all map through it.
 *
 * - Comparable fields per blueprint are the keys the mapping writes (`$title`, properties, relations), so another
 *   tool's properties on the same entities never cause writes. The default subscription blueprint also carries the
 *   app's own `notVisibleSince` flag (lostSubscriptions.ts), which a visible subscription clears.
 * - An entry that cannot map a row (a jq error, an identifier not derivable from the id) makes the whole row
 *   unmappable: nothing of it is written or deleted, and a full sync that met one deletes nothing.
 */
import type { ArgRow } from '../../azure/types.js';
import type { CatalogMapper, MappedBlueprint } from '../../mapping/types.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import type { BlueprintDefinition } from '../../port/types.js';
import type { BlueprintFields } from './fingerprint.js';
import type { EntityMapping, EntityRef, GraphQuerySource, Level, RowMapping } from './mapping.js';

const APP_MANAGED_SUBSCRIPTION_PROPERTIES = ['notVisibleSince'];

function fieldsOf(b: MappedBlueprint, ids: BlueprintIds, definitions: ReadonlyMap<string, BlueprintDefinition>): BlueprintFields {
  const properties = new Set(b.properties);
  if (b.blueprint === ids.subscription) for (const p of APP_MANAGED_SUBSCRIPTION_PROPERTIES) properties.add(p);
  const fields = ['$title', ...[...properties].sort().map((p) => `properties.${p}`), ...[...b.relations].sort().map((r) => `relations.${r}`)];
  const definition = definitions.get(b.blueprint);
  // Unknown blueprints (the user's own): any property may hold an object; objectReset.ts only acts on objects.
  const objectProperties = [...properties]
    .filter((p) => (definition ? definition.schema.properties[p]?.type === 'object' : true))
    .sort();
  return { blueprint: b.blueprint, fields, include: ['$identifier', ...fields], objectProperties };
}

/** The Resource Graph columns the mapping reads beyond the default projections, per level. */
export function extraColumnsOf(mapper: CatalogMapper): { subscription: string[]; resourceGroup: string[]; resource: string[] } {
  return { subscription: mapper.extraColumns('subscription'), resourceGroup: mapper.extraColumns('resourceGroup'), resource: mapper.extraColumns('resource') };
}

export function entityMappingFromCatalog(
  mapper: CatalogMapper,
  ids: BlueprintIds,
  definitions: readonly BlueprintDefinition[],
): EntityMapping {
  const byId = new Map(definitions.map((d) => [d.identifier, d]));
  const mapped = mapper.blueprints();
  const levelOf = new Map<string, Level>(mapped.map((b) => [b.blueprint, b.level]));
  const ref = (blueprint: string, identifier: string): EntityRef => ({ blueprint, identifier, level: levelOf.get(blueprint) ?? 'resource' });
  const convert = (result: RowMappingOfCatalog | undefined): RowMapping => {
    if (!result) return { entities: [], unselected: [], error: 'the mapping returned nothing for the row' };
    if (result.rejected.length > 0) {
      return { entities: [], unselected: [], error: result.rejected.map((r) => r.reason).join('; ') };
    }
    return {
      entities: result.entities.map((e) => ({ blueprint: e.blueprint, level: levelOf.get(e.blueprint) ?? 'resource', entity: e.entity })),
      unselected: result.unselected.map((t) => ref(t.blueprint, t.identifier)),
    };
  };
  const graphQueries: GraphQuerySource[] = mapper.graphQueries().flatMap((g) =>
    g.level === 'subscription' ? [] : [{ entry: g.entry, level: g.level, query: g.query }],
  );
  return {
    blueprints: mapped.map((b) => ({ level: b.level, fields: fieldsOf(b, ids, byId) })),
    portOptions: {
      merge: mapper.settings.enableMergeEntity,
      createMissingRelatedEntities: mapper.settings.createMissingRelatedEntities,
      deleteDependents: mapper.settings.deleteDependentEntities,
    },
    mapRow(row: ArgRow) {
      return convert(mapper.mapRows([row])[0]);
    },
    refsOfId(id: string) {
      return mapper.targetsOfId(id).map((t) => ref(t.blueprint, t.identifier));
    },
    ...(graphQueries.length > 0
      ? {
          graphQueries,
          mapGraphQueryRows: (entry: number, rows: readonly ArgRow[]) => mapper.mapRows(rows, { graphQueryEntry: entry }).map(convert),
          refsOfIdForEntry: (entry: number, id: string) => (mapper.targetsOfIds([id], { entry })[0] ?? []).map((t) => ref(t.blueprint, t.identifier)),
        }
      : {}),
  };
}

type RowMappingOfCatalog = ReturnType<CatalogMapper['mapRows']>[number];

/**
 * The mapping in use, replaceable between batches: the real-time path re-reads a mapping kept in Port through a
 * short cache, and whoever holds this sees the new one at the next batch.
 */
export class SwappableMapping implements EntityMapping {
  constructor(private current: EntityMapping) {}
  get blueprints(): EntityMapping['blueprints'] {
    return this.current.blueprints;
  }
  mapRow(row: ArgRow): ReturnType<EntityMapping['mapRow']> {
    return this.current.mapRow(row);
  }
  refsOfId(id: string): EntityRef[] {
    return this.current.refsOfId(id);
  }
  get portOptions(): EntityMapping['portOptions'] {
    return this.current.portOptions;
  }
  get graphQueries(): EntityMapping['graphQueries'] {
    return this.current.graphQueries;
  }
  mapGraphQueryRows(entry: number, rows: readonly ArgRow[]): RowMapping[] {
    if (!this.current.mapGraphQueryRows) throw new Error(`the mapping in use has no graphQuery entry resources[${entry}]`);
    return this.current.mapGraphQueryRows(entry, rows);
  }
  refsOfIdForEntry(entry: number, id: string): EntityRef[] {
    return this.current.refsOfIdForEntry?.(entry, id) ?? [];
  }
  use(mapping: EntityMapping): void {
    this.current = mapping;
  }
}
