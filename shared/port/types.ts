/**
 * The contract between the sync use cases and Port. shared/port/client.ts implements it over HTTP.
 */
import type { PermanentError, RetryableError } from '../errors.js';

export type RelationValue = string | string[] | null;

/** An entity as we write it. */
export interface PortEntity {
  identifier: string;
  title?: string;
  /** Set only by a port-app-config mapping that maps `icon` / `team`. */
  icon?: string;
  team?: string | string[];
  properties: Record<string, unknown>;
  relations: Record<string, RelationValue>;
}

/** An entity as Port returns it (search or get). Only the fields asked for with `include` may be present. */
export interface StoredEntity {
  identifier: string;
  blueprint?: string;
  title?: string | null;
  properties?: Record<string, unknown>;
  relations?: Record<string, RelationValue>;
  createdAt?: string;
  updatedAt?: string;
  createdBy?: string;
  updatedBy?: string;
}

/** One entity's result in a bulk upsert, in the order the entities were given. */
export type UpsertOutcome =
  | { ok: true; identifier: string; created: boolean }
  | { ok: false; identifier: string; error: PermanentError | RetryableError };

export interface DeleteResult {
  deleted: string[];
  /** 404s count as deleted (already gone); these are the real failures. */
  failed: { identifier: string; error: PermanentError | RetryableError }[];
}

export interface PortOperationOptions {
  abortSignal?: AbortSignal;
}

export interface UpsertOptions extends PortOperationOptions {
  /** Defaults to the client's configured value (PORT_CREATE_MISSING_RELATED_ENTITIES). */
  createMissingRelatedEntities?: boolean;
  /**
   * Port's `merge` (default true): only the fields sent are updated. false: `upsert=true` alone, a full replace that
   * keeps only the fields sent (a mapping's enableMergeEntity: false).
   */
  merge?: boolean;
}

export interface DeleteOptions extends PortOperationOptions {
  /** Sent explicitly on every delete call, as Port requires. */
  deleteDependents: boolean;
}

export interface SearchRule {
  property: string;
  operator: string;
  value?: unknown;
}
export interface SearchQuery {
  combinator: 'and' | 'or';
  rules: (SearchRule | SearchQuery)[];
}

export interface SearchOptions extends PortOperationOptions {
  query?: SearchQuery;
  /** Fields to fetch, e.g. ['$identifier', 'properties.tags']; everything when absent. */
  include?: string[];
  /** Page size, 1..1000 (default 1000). */
  limit?: number;
}

export interface BlueprintProperty {
  type: 'string' | 'number' | 'boolean' | 'object' | 'array';
  title?: string;
  description?: string;
  format?: string;
  icon?: string;
}
export interface BlueprintRelation {
  target: string;
  required: boolean;
  many: boolean;
  title?: string;
}
export interface BlueprintDefinition {
  identifier: string;
  title: string;
  icon?: string;
  description?: string;
  schema: { properties: Record<string, BlueprintProperty>; required: string[] };
  relations: Record<string, BlueprintRelation>;
}

export interface EnsureBlueprintsResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export type PortRequestKind = 'token' | 'search' | 'bulkUpsert' | 'delete' | 'other';
export type PortRequestCounts = Record<PortRequestKind, number> & { total: number };

export interface PortApi {
  /** Splits into bulk calls of ≤ 20 entities and ≤ 1 MiB; never throws for per-entity or per-chunk failures. */
  upsertEntities(blueprint: string, entities: PortEntity[], options?: UpsertOptions): Promise<UpsertOutcome[]>;
  /** Bulk delete in calls of ≤ 100 ids. */
  deleteEntities(blueprint: string, identifiers: string[], options: DeleteOptions): Promise<DeleteResult>;
  /** Paged blueprint search; yields one page at a time. Throws on failure (never an early, silent end). */
  searchEntities(blueprint: string, options?: SearchOptions): AsyncIterable<StoredEntity[]>;
  /** undefined on 404. */
  getEntity(blueprint: string, identifier: string, options?: PortOperationOptions): Promise<StoredEntity | undefined>;
  ensureBlueprints(blueprints: BlueprintDefinition[], options?: PortOperationOptions): Promise<EnsureBlueprintsResult>;
  /** Requests sent so far by kind (retries included). */
  requestCounts(): PortRequestCounts;
}

/** A Port integration as GET /v1/integration/{identifier} returns it (`config` holds a port-app-config). */
export interface PortIntegration {
  identifier: string;
  installationId?: string;
  installationAppType?: string;
  version?: string;
  title?: string | null;
  config?: Record<string, unknown> | null;
  updatedAt?: string;
}

/** Reading and writing an integration's config (mappings kept in Port). */
export interface PortIntegrationApi {
  /** undefined on 404. */
  getIntegration(identifier: string, options?: PortOperationOptions): Promise<PortIntegration | undefined>;
  /** PATCH /v1/integration/{identifier}/config. */
  updateIntegrationConfig(identifier: string, config: Record<string, unknown>, options?: PortOperationOptions): Promise<PortIntegration>;
  /** POST /v1/integration, as Port's Ocean framework creates its integrations (not in Port's OpenAPI spec). */
  createIntegration(integration: { identifier: string; installationAppType: string; version: string; config: Record<string, unknown> }, options?: PortOperationOptions): Promise<PortIntegration>;
}
