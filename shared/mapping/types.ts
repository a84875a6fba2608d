/**
 * The contract between the mapping (a port-app-config, see shared/mapping/config/) and the sync core: what one
 * Resource Graph row becomes in Port, and what an Azure id stands for once it is gone.
 */
import type { ArgRow } from '../azure/types.js';
import type { PortEntity } from '../port/types.js';

/** Where a kind sits in the hierarchy; relation targets (subscriptions, then groups) are written first. */
export type MappingLevel = 'subscription' | 'resourceGroup' | 'resource';

export interface MappedEntity {
  blueprint: string;
  entity: PortEntity;
  /** Index of the entry in `resources[]`. */
  entry: number;
}

export interface MappingTarget {
  blueprint: string;
  identifier: string;
  entry: number;
}

export interface RejectedEntry {
  entry: number;
  /** Names the entry and the key, e.g. `resources[2].port.entity.mappings.identifier: …`. */
  reason: string;
}

export interface RowMapping {
  /** Every entry whose kind and selector match the row. */
  entities: MappedEntity[];
  /** Entries whose kind matches the row but whose selector.query is false: that entry's entity must be deleted. */
  unselected: MappingTarget[];
  /**
   * Entries that could not map the row: a jq error, a selector that is not true/false, an identifier that is not
   * derivable from the id alone or not a valid Port identifier. Their entity must be neither written nor deleted.
   */
  rejected: RejectedEntry[];
}

export interface MappedBlueprint {
  blueprint: string;
  level: MappingLevel;
  /** Property and relation keys the mapping writes (for explicit nulls and Port search `include`). */
  properties: string[];
  relations: string[];
}

/** An entry with a `selector.graphQuery`: its rows come from that query, not from the app's own projections. */
export interface GraphQueryEntry {
  entry: number;
  level: MappingLevel;
  /** The user's KQL, outer quotes and indentation removed (as Port's Resource Graph integration does). */
  query: string;
}

export interface MappingSettings {
  /** Port's `delete_dependents` on deletes (default true). */
  deleteDependentEntities: boolean;
  /** Port's `create_missing_related_entities` on upserts (default true). */
  createMissingRelatedEntities: boolean;
  /** Port's `merge` on upserts (default true). */
  enableMergeEntity: boolean;
  /** The stale-deletion threshold when the config sets one; it then replaces DELETE_THRESHOLD. */
  entityDeletionThreshold?: number;
}

export interface MapRowsOptions {
  /**
   * The rows came from this entry's graphQuery: only that entry maps them. Without it, the rows came from the
   * app's own projections and only entries without a graphQuery map them.
   */
  graphQueryEntry?: number;
}

export interface CatalogMapper {
  /** Every blueprint the mapping writes, with its level and the keys it writes. */
  blueprints(): MappedBlueprint[];
  /** Batch API (the fast path): one RowMapping per row, same order. */
  mapRows(rows: readonly ArgRow[], options?: MapRowsOptions): RowMapping[];
  /**
   * The entities an Azure id stands for once it no longer exists in Azure (for deletes): the identifier evaluated
   * on the id-only row, for every entry whose kind could match the id.
   */
  targetsOfId(id: string): MappingTarget[];
  /**
   * targetsOfId for many ids in one batch (one real-jq call for expressions that are not compiled); with `entry`,
   * only that entry's targets (a graphQuery entry whose query no longer returns the id).
   */
  targetsOfIds(ids: readonly string[], options?: { entry?: number }): MappingTarget[][];
  /** Resource Graph columns the mapping reads beyond the app's default projections (e.g. 'properties'). */
  extraColumns(level?: MappingLevel): string[];
  /** Entries with their own KQL; the full sync pages each, the other paths run it restricted to ids. */
  graphQueries(): GraphQueryEntry[];
  settings: MappingSettings;
}
