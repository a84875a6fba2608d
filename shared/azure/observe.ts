/**
 * Positive proof of presence or absence: what one by-id read of Resource Graph says about each id.
 *
 * Resource Graph silently leaves out rows the identity cannot read (it answers 403 only when no subscription in the
 * query is readable), and paging over a changing estate can skip rows. So "not in the result" proves nothing on its
 * own. Each query therefore also asks for a witness: the row of every subscription the ids live in. An id that is
 * missing while its subscription's row came back in the SAME single-page result is proven absent. Ids whose
 * subscription row did not come back (Reader on some resource groups only, or access lost) get a second read with
 * their resource groups as witnesses; anything still unproven is "unknown", which callers never treat as deleted.
 *
 * Every query is kept to one page (targets + witnesses ≤ 1000 rows), because a second page could shift under us.
 * A result that pages anyway, or whose row count disagrees with totalRecords, proves presence but not absence: its
 * missing ids are read again in halves until a read fits one page (a service may page below the size asked for).
 */
import pLimit from 'p-limit';
import { PermanentError } from '../errors.js';
import { MAX_IDS_PER_LOOKUP, lookupByIdsQuery, type ExtraColumns, type ResourceTypeFilter } from './queries.js';
import { normalizeResourceId, parseResourceId } from './resourceId.js';
import type { ArgOperationOptions, ArgRow, Observation, QueryScope } from './types.js';

/** One query, read to the end: its rows and whether the result was a single, self-consistent page. */
export type ReadWhole = (
  query: string,
  subscriptions: string[],
  options: ArgOperationOptions,
) => Promise<{ rows: ArgRow[]; singlePage: boolean }>;

export interface ObserveDeps {
  read: ReadWhole;
  filter: ResourceTypeFilter;
  extraColumns?: ExtraColumns;
  maxConcurrency: number;
  /** Rows per query (targets + witnesses); Resource Graph's page size. Tests lower it. */
  maxRowsPerQuery?: number;
}

interface Target {
  /** As given (original casing), which is what the query names. */
  id: string;
  normalized: string;
  container: boolean;
  subscription: string;
  /** Normalised `/subscriptions/<sub>`. */
  subscriptionWitness: string;
  /** Normalised resource group id, for resources in a group. */
  groupWitness?: string;
}

const unknown = (cause: 'unreadable' | 'inconclusive' | 'notTracked', reason: string): Observation => ({ state: 'unknown', cause, reason });

/** Splits targets (sorted, so neighbours share witnesses) into queries of at most `maxRows` ids + witnesses. */
function packQueries(targets: Target[], witnessOf: (t: Target) => string | undefined, maxRows: number): Target[][] {
  const batches: Target[][] = [];
  let batch: Target[] = [];
  let witnesses = new Set<string>();
  for (const target of targets) {
    const witness = witnessOf(target);
    const extra = witness !== undefined && witness !== target.normalized && !witnesses.has(witness) ? 1 : 0;
    if (batch.length > 0 && batch.length + 1 + witnesses.size + extra > maxRows) {
      batches.push(batch);
      batch = [];
      witnesses = new Set();
    }
    batch.push(target);
    if (witness !== undefined && witness !== target.normalized) witnesses.add(witness);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export async function observeIds(
  deps: ObserveDeps,
  ids: readonly string[],
  scope: QueryScope,
  options: ArgOperationOptions = {},
): Promise<Map<string, Observation>> {
  const result = new Map<string, Observation>();
  const inScope = new Set(scope.subscriptionIds.map((s) => s.toLowerCase()));
  const targets = new Map<string, Target>();
  for (const id of ids) {
    let parsed;
    try {
      parsed = parseResourceId(id);
    } catch (error) {
      result.set(safeNormalize(id), unknown('notTracked', (error as Error).message));
      continue;
    }
    if (parsed.kind === 'nonResource') {
      result.set(parsed.normalized, unknown('notTracked', 'not a subscription, resource group or resource'));
      continue;
    }
    const subscription = parsed.subscriptionId.toLowerCase();
    if (!inScope.has(subscription)) {
      result.set(parsed.normalized, unknown('notTracked', `subscription ${subscription} is not in the readable scope`));
      continue;
    }
    const subscriptionWitness = `/subscriptions/${subscription}`;
    targets.set(parsed.normalized, {
      id,
      normalized: parsed.normalized,
      container: parsed.kind === 'subscription' || parsed.kind === 'resourceGroup',
      subscription,
      subscriptionWitness,
      ...(parsed.kind !== 'resourceGroup' && parsed.resourceGroup !== undefined
        ? { groupWitness: `${subscriptionWitness}/resourcegroups/${parsed.resourceGroup.toLowerCase()}` }
        : {}),
    });
  }
  if (targets.size === 0) return result;

  const maxRows = Math.min(deps.maxRowsPerQuery ?? MAX_IDS_PER_LOOKUP, MAX_IDS_PER_LOOKUP);
  const limit = pLimit(deps.maxConcurrency);
  const sorted = [...targets.values()].sort((a, b) => (a.normalized < b.normalized ? -1 : a.normalized > b.normalized ? 1 : 0));

  /** Reads `batch` with its witnesses; returns the targets whose absence the witness did not prove. */
  const readWith = async (batch: Target[], witnessOf: (t: Target) => string | undefined): Promise<Target[]> => {
    const witnesses = new Set<string>();
    for (const t of batch) {
      const w = witnessOf(t);
      if (w !== undefined && w !== t.normalized) witnesses.add(w);
    }
    const containerIds = [...batch.filter((t) => t.container).map((t) => t.id), ...witnesses];
    const resourceIds = batch.filter((t) => !t.container).map((t) => t.id);
    const query = lookupByIdsQuery({ resourceIds, containerIds }, deps.filter, deps.extraColumns);
    const subscriptions = [...new Set(batch.map((t) => t.subscription))];
    let read: Awaited<ReturnType<ReadWhole>>;
    try {
      read = await deps.read(query, subscriptions, options);
    } catch (error) {
      // Resource Graph answers 403 only when none of the query's subscriptions is readable: nothing is proven.
      if (!(error instanceof PermanentError && error.status === 403)) throw error;
      for (const t of batch) {
        result.set(t.normalized, unknown('unreadable', `Resource Graph refused every subscription of the read (${error.message})`));
      }
      return [];
    }
    const { rows, singlePage } = read;
    const seen = new Map<string, ArgRow>();
    for (const row of rows) if (typeof row.id === 'string') seen.set(normalizeResourceId(row.id), row);
    const unproven: Target[] = [];
    const missing: Target[] = [];
    for (const t of batch) {
      const row = seen.get(t.normalized);
      if (row) {
        result.set(t.normalized, { state: 'present', row });
        continue;
      }
      const witness = witnessOf(t);
      if (!singlePage) {
        missing.push(t);
      } else if (witness !== undefined && witness !== t.normalized && seen.has(witness)) {
        result.set(t.normalized, { state: 'absent' });
      } else {
        unproven.push(t);
      }
    }
    if (missing.length === 0) return unproven;
    // The service paged below the size we asked for (it may, e.g. for large rows): read what is missing again in
    // halves, until each read fits one page. A single id that still pages proves nothing.
    if (batch.length === 1) {
      for (const t of missing) result.set(t.normalized, unknown('inconclusive', 'the by-id read paged or its row count changed, so a missing row proves nothing'));
      return unproven;
    }
    const half = Math.ceil(missing.length / 2);
    const halves = missing.length === 1 ? [missing] : [missing.slice(0, half), missing.slice(half)];
    const again = await Promise.all(halves.map((h) => readWith(h, witnessOf)));
    return [...unproven, ...again.flat()];
  };

  const firstPass = await Promise.all(
    packQueries(sorted, (t) => t.subscriptionWitness, maxRows).map((batch) => limit(() => readWith(batch, (t) => t.subscriptionWitness))),
  );
  // Reader on some resource groups only: the subscription row is hidden, the group's row proves the group readable.
  const retry = firstPass.flat();
  const groupScoped = retry.filter((t) => t.groupWitness !== undefined);
  for (const t of retry) {
    if (t.groupWitness === undefined) {
      result.set(
        t.normalized,
        unknown('unreadable', `subscription ${t.subscription} did not answer in the same read (no Reader role, or it is gone)`),
      );
    }
  }
  const secondPass = await Promise.all(
    packQueries(groupScoped, (t) => t.groupWitness, maxRows).map((batch) => limit(() => readWith(batch, (t) => t.groupWitness))),
  );
  for (const t of secondPass.flat()) {
    result.set(
      t.normalized,
      unknown('unreadable', `neither subscription ${t.subscription} nor the resource group answered in the same read (no Reader role, or the group is gone)`),
    );
  }
  return result;
}

function safeNormalize(id: string): string {
  try {
    return normalizeResourceId(id);
  } catch {
    return String(id);
  }
}
