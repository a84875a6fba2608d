/**
 * The contract between the sync use cases and Azure Resource Graph. shared/azure/resourceGraph.ts implements it
 * with @azure/arm-resourcegraph; the emulator in test/emulators/resourceGraph serves the same HTTP API.
 */

/** A Resource Graph row from `resources` or `resourcecontainers`, as projected by shared/azure/queries.ts. */
export interface ArgRow {
  /** Original casing, as Resource Graph returns it. */
  id: string;
  name?: string | null;
  /** Resource Graph returns `type` lower-cased. */
  type?: string | null;
  kind?: string | null;
  location?: string | null;
  resourceGroup?: string | null;
  subscriptionId?: string | null;
  tenantId?: string | null;
  managedBy?: string | null;
  sku?: Record<string, unknown> | null;
  tags?: Record<string, string> | null;
  /** For subscriptions `properties.state` arrives flattened as `state` by the query; resources carry provisioningState. */
  provisioningState?: string | null;
  state?: string | null;
  [extra: string]: unknown;
}

export type ChangeType = 'Create' | 'Update' | 'Delete';

/** The latest change per target id in a window, from `resourcechanges` or `resourcecontainerchanges`. */
export interface ChangeRow {
  /** Original casing. */
  targetResourceId: string;
  changeType: ChangeType;
  /** ISO-8601. */
  changeTime: string;
  table: 'resourcechanges' | 'resourcecontainerchanges';
}

export interface ArgOperationOptions {
  abortSignal?: AbortSignal;
}

/** Which subscriptions a query runs over. Resolved once per run (explicit list, management groups, or all readable). */
export interface QueryScope {
  subscriptionIds: string[];
  /**
   * Configured subscriptions the identity cannot read (lost Reader role, moved, cancelled). Resource Graph omits
   * them silently, so their entities must not be treated as deleted. Absent when nothing is missing.
   */
  unreadableSubscriptionIds?: string[];
}

export interface ChangesOptions extends ArgOperationOptions {
  /** Inclusive window start. */
  since: Date;
  /** Exclusive window end. */
  until: Date;
}

/**
 * What one by-id read of Resource Graph proves about an id. "Absent" exists only as a proven state: the same query
 * that did not return the id returned a row of its subscription (or, for resources, of its resource group), so the
 * identity could read where the id would be. Resource Graph silently leaves out what the identity cannot read.
 */
export type Observation =
  | { state: 'present'; row: ArgRow }
  | { state: 'absent' }
  | {
      state: 'unknown';
      /**
       * unreadable: the id's scope was not proven readable (lost role, Reader on other groups only, or the scope itself
       * is gone); inconclusive: the read itself cannot prove absence (it paged, or its row count disagreed);
       * notTracked: not something the catalog mirrors (outside the scope, not a resource).
       */
      cause: 'unreadable' | 'inconclusive' | 'notTracked';
      reason: string;
    };

export interface ResourceGraphApi {
  /** Subscriptions in scope (settings: explicit list, management groups, or every one the identity can read). */
  resolveScope(options?: ArgOperationOptions): Promise<QueryScope>;
  /** Each yields pages (≤ 1000 rows), ordered by id, across subscription batches. Throws on any partial read. */
  listSubscriptions(scope: QueryScope, options?: ArgOperationOptions): AsyncIterable<ArgRow[]>;
  listResourceGroups(scope: QueryScope, options?: ArgOperationOptions): AsyncIterable<ArgRow[]>;
  listResources(scope: QueryScope, options?: ArgOperationOptions): AsyncIterable<ArgRow[]>;
  /**
   * Current state of the given ids (subscriptions, groups and resources mixed), looked up case-insensitively in
   * batches of ≤ 1000. Keyed by the normalised id (shared/azure/resourceId.ts). Absent ids are absent from the map.
   */
  lookupByIds(ids: string[], scope: QueryScope, options?: ArgOperationOptions): Promise<Map<string, ArgRow>>;
  /**
   * What Resource Graph proves about each id (keyed by normalised id; every requested id gets an entry): present with
   * its row, absent (proven in the same read), or unknown. Batched, ≤ 1000 rows per query.
   */
  observe(ids: string[], scope: QueryScope, options?: ArgOperationOptions): Promise<Map<string, Observation>>;
  /** The latest change per target id in [since, until), both change tables. */
  listChanges(scope: QueryScope, options: ChangesOptions): AsyncIterable<ChangeRow[]>;
  /** Queries (pages) sent so far, retries included. */
  queryCount(): number;
  /** Listings so far that changed while they were paged (rows may have been skipped or repeated). */
  unstableListingCount?(): number;
  /**
   * A mapping entry's own KQL (`selector.graphQuery`, shared/azure/userQueries.ts), paged over the scope ordered by
   * id, like the app's listings (throws on any partial read; a listing that shifted counts in unstableListingCount).
   */
  listUserQuery?(query: string, scope: QueryScope, options?: ArgOperationOptions): AsyncIterable<ArgRow[]>;
  /**
   * The user's query restricted to `ids`, with the `resourcecontainers` rows of `witnesses` in the same single read
   * (userLookupQuery): whether the result was one self-consistent page, as in observe().
   */
  lookupUserQuery?(
    query: string,
    ids: readonly string[],
    witnesses: readonly string[],
    subscriptions: readonly string[],
    options?: ArgOperationOptions,
  ): Promise<{ rows: ArgRow[]; singlePage: boolean }>;
  /** The zero-row probe of a user query through Resource Graph (userProbeQuery): its problems, none when it runs. */
  probeUserQuery?(query: string, scope: QueryScope, options?: ArgOperationOptions): Promise<string[]>;
  /** Columns the mapping reads beyond the default projections (e.g. `properties`), for every later read. */
  useExtraColumns?(extra: { subscription?: readonly string[]; resourceGroup?: readonly string[]; resource?: readonly string[] }): void;
}
