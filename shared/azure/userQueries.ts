/**
 * Queries built from a mapping entry's `selector.graphQuery` (a KQL query the user chose, as in Port's own Azure
 * Resource Graph integration). The query is trusted configuration; the ids we add to it are still escaped as one
 * string literal each (kqlString, as every app query does).
 *
 * What its rows must keep: an `id` column with the resource's ARM id (any casing), one row per id. The full sync
 * pages the query ordered by id; the windowed and real-time paths run it restricted to the ids at hand, and an id
 * it no longer returns is gone for that entry. So the query must not cut the estate short (`take`, `limit`, `top`,
 * `sample`: a full sync would delete the rest) nor fan one resource out into several rows (`mv-expand`).
 */
import { RetryableError } from '../errors.js';
import { kqlString, MAX_IDS_PER_LOOKUP, RESOURCE_COLUMNS, RESOURCE_GROUP_COLUMNS, SUBSCRIPTION_COLUMNS } from './queries.js';
import type { ArgOperationOptions, ArgRow } from './types.js';

/** What the probe needs from a Resource Graph reader (ResourceGraphReader.queryPages). */
export interface QueryPagesApi {
  queryPages(query: string, scope: { subscriptions?: string[]; managementGroups?: string[] }, options?: ArgOperationOptions): AsyncIterable<ArgRow[]>;
}

/** Microsoft's KQL parser, when installed: syntax diagnostics for a query (empty: it parses). */
export type KqlDiagnostics = (query: string) => string[];

/** The user's query for a full sync: Resource Graph pages by $skipToken stably only on results ordered by id. */
export function userFullSyncQuery(query: string): string {
  return `${query.trim()}\n| order by id asc`;
}

/**
 * The user's query restricted to up to 1000 ids (any casing matches). With `witnesses` (subscription and resource
 * group ids), their `resourcecontainers` rows are added to the same result (`project id` only): an id the query did
 * not return while its subscription's or group's row came back in that same read is proven not selected by the query
 * (its scope was readable), as observe.ts proves absence. Ids and witnesses together stay within 1000 rows.
 */
export function userLookupQuery(query: string, ids: readonly string[], witnesses: readonly string[] = []): string {
  if (ids.length === 0) throw new RangeError('userLookupQuery needs at least one id');
  if (ids.length + witnesses.length > MAX_IDS_PER_LOOKUP) {
    throw new RangeError(`userLookupQuery takes at most ${MAX_IDS_PER_LOOKUP} ids per query (witnesses included), got ${ids.length + witnesses.length}`);
  }
  const proof = witnesses.length > 0 ? `\n| union (resourcecontainers | where id in~ (${witnesses.map(kqlString).join(', ')}) | project id)` : '';
  return `${query.trim()}\n| where id in~ (${ids.map(kqlString).join(', ')})${proof}\n| order by id asc`;
}

/** Zero rows (no id is empty), but Resource Graph still parses the query, resolves its tables and checks `id`. */
export function userProbeQuery(query: string): string {
  return `${query.trim()}\n| where id in~ ('')\n| project id`;
}

/** The query with string literals and comments blanked, so operator names are found only where they are code. */
function codeOnly(query: string): string {
  return query
    .replace(/@'[^']*'|@"[^"]*"/g, "''")
    .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''")
    .replace(/\/\/[^\n]*/g, '');
}

const CUTTING = /\|\s*(take|limit|top|sample|sample-distinct|mv-expand|mvexpand)\b/i;

/** Problems visible in the text alone (no parser, no service). */
export function userQueryTextProblems(query: string): string[] {
  const problems: string[] = [];
  if (query.trim() === '') return ['is empty'];
  const cut = CUTTING.exec(codeOnly(query));
  if (cut) {
    problems.push(
      cut[1]!.toLowerCase().startsWith('mv')
        ? `uses ${cut[1]}, which can give one resource several rows; the mapping needs one row per id`
        : `uses ${cut[1]}, which returns only part of the estate; a full sync would then delete the rest`,
    );
  }
  if (/[|;]\s*$/.test(codeOnly(query).trim())) problems.push('ends with "|" or ";": the app appends clauses to it');
  return problems;
}

/**
 * Checks a graphQuery: the text, then (when given) Microsoft's parser on the query and on the queries the app
 * builds from it, then (when given) a zero-row probe through Resource Graph. Returns every problem found.
 */
export async function validateUserQuery(
  query: string,
  options: { kql?: KqlDiagnostics; graph?: QueryPagesApi; scope?: { subscriptions?: string[]; managementGroups?: string[] }; abortSignal?: AbortSignal } = {},
): Promise<string[]> {
  const problems = userQueryTextProblems(query);
  if (problems.length > 0) return problems;
  if (options.kql) {
    const own = options.kql(query);
    if (own.length > 0) return [`does not parse as KQL: ${own.join('; ')}`];
    for (const built of [userFullSyncQuery(query), userLookupQuery(query, ['/subscriptions/00000000-0000-0000-0000-000000000000'])]) {
      const diagnostics = options.kql(built);
      if (diagnostics.length > 0) return [`cannot be extended with the clauses the app appends (${diagnostics.join('; ')})`];
    }
  }
  if (options.graph) {
    try {
      for await (const page of options.graph.queryPages(userProbeQuery(query), options.scope ?? {}, options.abortSignal ? { abortSignal: options.abortSignal } : {})) {
        if (page.length > 0) problems.push('the zero-row probe returned rows');
      }
    } catch (error) {
      // Throttling or an unreachable service says nothing about the query: the caller retries later.
      if (error instanceof RetryableError || (error instanceof Error && error.name === 'AbortError')) throw error;
      problems.push(`Resource Graph rejected it (zero-row probe): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/** Microsoft's KQL parser if it is installed (a development dependency: ~30 MB, not shipped to Azure). */
export async function loadKqlParser(): Promise<KqlDiagnostics | undefined> {
  try {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    require('@kusto/language-service-next/bridge.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.js');
  } catch {
    return undefined;
  }
  interface Diagnostics { Count: number; getItem(i: number): { Message: string; Start: number } }
  const kusto = (globalThis as unknown as { Kusto: { Language: { KustoCode: { Parse(text: string): { GetDiagnostics(): Diagnostics } } } } }).Kusto;
  return (query) => {
    const diagnostics = kusto.Language.KustoCode.Parse(query).GetDiagnostics();
    const out: string[] = [];
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      out.push(`${d.Message} (at character ${d.Start})`);
    }
    return out;
  };
}

function columnList(...lists: string[]): string[] {
  const byName = new Map<string, string>();
  for (const list of lists) for (const c of list.split(',').map((x) => x.trim())) byName.set(c.split('=')[0]!.trim(), c);
  return [...byName.values()];
}

/**
 * The current rows of some ids with the app's projections plus the columns a mapping needs beyond them (the
 * `mapping preview` command; the sync core builds its own queries). Container rows get the union of the
 * subscription and resource group projections.
 */
export function previewLookupQuery(ids: readonly string[], extraColumns: readonly string[] = []): string {
  if (ids.length === 0) throw new RangeError('previewLookupQuery needs at least one id');
  if (ids.length > MAX_IDS_PER_LOOKUP) throw new RangeError(`previewLookupQuery takes at most ${MAX_IDS_PER_LOOKUP} ids per query, got ${ids.length}`);
  for (const c of extraColumns) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c)) throw new RangeError(`not a column name: ${JSON.stringify(c)}`);
  const list = `(${ids.map(kqlString).join(', ')})`;
  const resources = columnList(RESOURCE_COLUMNS, extraColumns.join(',')).filter(Boolean);
  const containers = columnList(RESOURCE_GROUP_COLUMNS, SUBSCRIPTION_COLUMNS, extraColumns.join(',')).filter(Boolean);
  return [
    'resources',
    `| where id in~ ${list}`,
    `| project ${resources.join(', ')}`,
    `| union (resourcecontainers | where id in~ ${list} | project ${containers.join(', ')})`,
    '| order by id asc',
  ].join('\n');
}
