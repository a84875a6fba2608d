/**
 * Queries built from a mapping's selector.graphQuery: paged ordered by id, restricted to ids (each one escaped as a
 * single string literal), checked with Microsoft's KQL parser, and probed through Resource Graph (the emulator,
 * over real HTTP with the app's reader).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import {
  loadKqlParser, previewLookupQuery, userFullSyncQuery, userLookupQuery, userProbeQuery, userQueryTextProblems, validateUserQuery,
} from '../../shared/azure/userQueries.js';
import { kqlDiagnostics, kqlLiterals, kqlShape } from '../azure/kusto.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';

const USER = "resources\n| where type =~ 'microsoft.storage/storageaccounts'\n| project id, name, type, tags";
const HOSTILE = ["/subscriptions/s/resourceGroups/rg')| union (resources", "/subscriptions/s/x\\'y", '/subscriptions/s/ü\n\u2028"'];

describe('graphQuery builders', () => {
  it('the full-sync query ends ordered by id (paging by $skipToken needs it)', () => {
    expect(userFullSyncQuery(`  ${USER}  `)).toBe(`${USER}\n| order by id asc`);
    expect(kqlDiagnostics(userFullSyncQuery(USER))).toEqual([]);
  });

  it('the lookup adds the ids as escaped literals only: hostile ids cannot change the query', () => {
    const query = userLookupQuery(USER, HOSTILE);
    expect(kqlDiagnostics(query)).toEqual([]);
    expect(kqlLiterals(query)).toEqual(['microsoft.storage/storageaccounts', ...HOSTILE]);
    expect(kqlShape(query)).toEqual(kqlShape(userLookupQuery(USER, ['a', 'b', 'c'])));
    expect(() => userLookupQuery(USER, [])).toThrow(RangeError);
    expect(() => userLookupQuery(USER, Array.from({ length: 1001 }, (_, i) => `/subscriptions/${i}`))).toThrow(/at most 1000/);
  });

  it('the probe and the preview lookup parse', () => {
    expect(kqlDiagnostics(userProbeQuery(USER))).toEqual([]);
    const preview = previewLookupQuery(HOSTILE, ['properties', 'zones']);
    expect(kqlDiagnostics(preview)).toEqual([]);
    expect(preview).toMatch(/\| project id, name, type, kind, location, resourceGroup, subscriptionId, tenantId, managedBy, sku, tags, provisioningState = tostring\(properties\.provisioningState\), properties, zones\n/);
    expect(() => previewLookupQuery(['x'], ['properties | take 1'])).toThrow(/not a column name/);
  });

  it('rejects queries that would cut the estate short or fan a resource out', () => {
    expect(userQueryTextProblems(`${USER}\n| take 100`)).toEqual(['uses take, which returns only part of the estate; a full sync would then delete the rest']);
    expect(userQueryTextProblems(`${USER} | LIMIT 5`)).toEqual(['uses LIMIT, which returns only part of the estate; a full sync would then delete the rest']);
    expect(userQueryTextProblems('resources | mv-expand zones')).toEqual(['uses mv-expand, which can give one resource several rows; the mapping needs one row per id']);
    expect(userQueryTextProblems("resources | where name == '| take 1' // | limit 2")).toEqual([]);
    expect(userQueryTextProblems(`${USER} |`)).toEqual(['ends with "|" or ";": the app appends clauses to it']);
    expect(userQueryTextProblems('  ')).toEqual(['is empty']);
  });

  it('uses Microsoft’s parser when it is installed', async () => {
    const kql = await loadKqlParser();
    expect(kql).toBeDefined();
    expect(await validateUserQuery(USER, { kql: kql! })).toEqual([]);
    expect(await validateUserQuery('resources | where (', { kql: kql! })).toEqual([expect.stringMatching(/^does not parse as KQL: /)]);
  });
});

describe('graphQuery probe through Resource Graph', () => {
  let emulator: ResourceGraphEmulator;
  let reader: ResourceGraphReader;
  beforeAll(async () => {
    emulator = await startResourceGraphEmulator({ estate: generateEstate({ subscriptions: 1, resourceGroups: 2, resources: 30, seed: 5 }), quota: { limit: 10_000, windowMs: 1_000 } });
    reader = new ResourceGraphReader({ endpoint: emulator.url, credential: emulator.credential, retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 } });
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('a valid query: the zero-row probe passes and the lookup returns the ids asked for', async () => {
    expect(await validateUserQuery(USER, { graph: reader })).toEqual([]);
    expect(emulator.requests().at(-1)!.query).toBe(userProbeQuery(USER));
    const storage = emulator.rows().filter((r) => String(r.type) === 'microsoft.storage/storageaccounts').slice(0, 2);
    expect(storage.length).toBe(2);
    const found = [];
    for await (const page of reader.queryPages(userLookupQuery(USER, storage.map((r) => r.id.toUpperCase())), {})) found.push(...page);
    expect(found.map((r) => r.id).sort()).toEqual(storage.map((r) => r.id).sort());
  });

  it('a query Resource Graph refuses is reported with its answer', async () => {
    const problems = await validateUserQuery('resources | summarize count() by type', { graph: reader });
    expect(problems).toEqual([expect.stringMatching(/^Resource Graph rejected it \(zero-row probe\): Resource Graph rejected the query \(400/)]);
  });
});
