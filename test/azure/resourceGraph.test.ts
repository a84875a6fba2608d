import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeResourceId } from '../../shared/azure/resourceId.js';
import { ResourceGraphReader, parseResetsAfter, type ResourceGraphReaderOptions } from '../../shared/azure/resourceGraph.js';
import type { ArgRow, ChangeRow, QueryScope } from '../../shared/azure/types.js';
import { IncompleteReadError, PermanentError, RetryableError } from '../../shared/errors.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator, type ResourceGraphEmulatorOptions } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { everyQuery } from './allQueries.js';
import { RESOURCEGRAPH_STABLE } from '../support/reference.js';

const EXAMPLES = `${RESOURCEGRAPH_STABLE}/examples`;
const example = (name: string) =>
  JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as {
    parameters: { query: { query: string; subscriptions?: string[] } };
    responses: { 200: { body: { data: ArgRow[]; $skipToken?: string; totalRecords: number } } };
  };

const FAST_RETRY = { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 };
const UNLIMITED = { limit: 100_000, windowMs: 1_000 };

const emulators: ResourceGraphEmulator[] = [];
afterEach(async () => {
  await Promise.all(emulators.splice(0).map((e) => e.close()));
});

async function emulator(options: ResourceGraphEmulatorOptions = {}): Promise<ResourceGraphEmulator> {
  const started = await startResourceGraphEmulator({ quota: UNLIMITED, ...options });
  emulators.push(started);
  return started;
}

function reader(emu: ResourceGraphEmulator, options: Partial<ResourceGraphReaderOptions> = {}): ResourceGraphReader {
  return new ResourceGraphReader({ endpoint: emu.url, credential: emu.credential, retry: FAST_RETRY, ...options });
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<{ rows: T[]; pageSizes: number[] }> {
  const rows: T[] = [];
  const pageSizes: number[] = [];
  for await (const page of pages) {
    pageSizes.push(page.length);
    rows.push(...page);
  }
  return { rows, pageSizes };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const allScope = (estate: { subscriptions: ArgRow[] }): QueryScope => ({
  subscriptionIds: estate.subscriptions.map((s) => String(s.subscriptionId).toLowerCase()),
});

describe('spec examples through the real reader (replay)', () => {
  it('follows $skipToken from the first-page example to the next-page example and stops when it is absent', async () => {
    const first = example('ResourcesFirstPageQuery.json');
    const next = example('ResourcesNextPageQuery.json');
    const query = first.parameters.query.query;
    const lastToken = next.responses[200].body.$skipToken!;
    const emu = await emulator({
      replay: [
        { query, body: first.responses[200].body },
        { query, skipToken: first.responses[200].body.$skipToken!, body: next.responses[200].body },
        { query, skipToken: lastToken, body: { totalRecords: 386, count: 0, resultTruncated: 'false', facets: [], data: [] } },
      ],
    });
    const r = reader(emu);
    const { rows, pageSizes } = await collect(r.queryPages(query, { subscriptions: first.parameters.query.subscriptions! }));
    expect(rows).toEqual([...first.responses[200].body.data, ...next.responses[200].body.data]);
    expect(pageSizes).toEqual([3, 3]);
    const sent = emu.requests();
    expect(sent.map((s) => s.options?.$skipToken)).toEqual([undefined, first.responses[200].body.$skipToken, lastToken]);
    expect(sent.every((s) => s.options?.$top === 1000 && s.options?.resultFormat === 'objectArray')).toBe(true);
    expect(sent[0]!.subscriptions).toEqual(first.parameters.query.subscriptions);
    expect(r.queryCount()).toBe(3);
  });

  it('reads the filter example (no $skipToken) as one page', async () => {
    const filter = example('ResourcesFilterQuery.json');
    const query = filter.parameters.query.query;
    const emu = await emulator({ replay: [{ query, body: filter.responses[200].body }] });
    const { rows } = await collect(reader(emu).queryPages(query, { subscriptions: filter.parameters.query.subscriptions! }));
    expect(rows).toEqual(filter.responses[200].body.data);
  });

  it('a truncated result without a $skipToken is an IncompleteReadError, never a short list', async () => {
    const basic = example('ResourcesBasicQuery.json');
    const query = basic.parameters.query.query;
    const emu = await emulator({ replay: [{ query, body: { ...basic.responses[200].body, resultTruncated: 'true' } }] });
    const error = await caught(collect(reader(emu).queryPages(query, {})));
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect((error as Error).message).toMatch(/truncated/);
  });
});

describe('reader over the emulator', () => {
  const estate = generateEstate({ subscriptions: 4, resourceGroups: 30, resources: 2_600, seed: 7 });

  it('lists subscriptions, groups and resources completely, in pages of at most 1000', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu);
    const scope = allScope(estate);
    const subs = await collect(r.listSubscriptions(scope));
    const groups = await collect(r.listResourceGroups(scope));
    const resources = await collect(r.listResources(scope));
    const ids = (rows: ArgRow[]) => rows.map((row) => normalizeResourceId(row.id)).sort();
    expect(ids(subs.rows)).toEqual(ids(estate.subscriptions));
    expect(ids(groups.rows)).toEqual(ids(estate.resourceGroups));
    expect(ids(resources.rows)).toEqual(ids(estate.resources));
    expect(Math.max(...resources.pageSizes)).toBeLessThanOrEqual(1000);
    expect(resources.pageSizes.length).toBeGreaterThanOrEqual(3);
    const sample = resources.rows.find((row) => row.id === estate.resources[5]!.id)!;
    expect(sample).toEqual(estate.resources[5]);
    expect(subs.rows.find((row) => row.id === estate.subscriptions[0]!.id)).toMatchObject({ state: estate.subscriptions[0]!.state });
  });

  it('batches subscriptions and runs batches concurrently without losing or duplicating rows', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu, { subscriptionBatchSize: 1, maxConcurrency: 3 });
    const { rows } = await collect(r.listResources(allScope(estate)));
    expect(rows).toHaveLength(estate.resources.length);
    expect(new Set(rows.map((row) => row.id)).size).toBe(estate.resources.length);
    expect(emu.requests().every((req) => req.subscriptions?.length === 1)).toBe(true);
  });

  it('applies include and exclude resource type settings', async () => {
    const emu = await emulator({ estate });
    const included = await collect(
      reader(emu, { includeResourceTypes: ['Microsoft.Web/sites', 'microsoft.sql/servers/databases'] }).listResources(allScope(estate)),
    );
    expect(new Set(included.rows.map((row) => row.type))).toEqual(new Set(['microsoft.web/sites', 'microsoft.sql/servers/databases']));
    expect(included.rows).toHaveLength(estate.resources.filter((row) => row.type === 'microsoft.web/sites' || row.type === 'microsoft.sql/servers/databases').length);
    const excluded = await collect(reader(emu, { excludeResourceTypes: ['microsoft.web/sites'] }).listResources(allScope(estate)));
    expect(excluded.rows.some((row) => row.type === 'microsoft.web/sites')).toBe(false);
    expect(excluded.rows).toHaveLength(estate.resources.filter((row) => row.type !== 'microsoft.web/sites').length);
  });

  it('lookupByIds finds resources and containers by any casing, keyed by the normalised id', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu);
    const resource = estate.resources[42]!;
    const group = estate.resourceGroups[3]!;
    const subscription = estate.subscriptions[1]!;
    const missing = `${resource.id}-gone`;
    const result = await r.lookupByIds([resource.id.toUpperCase(), group.id.toLowerCase(), subscription.id, missing], allScope(estate));
    expect([...result.keys()].sort()).toEqual([resource.id, group.id, subscription.id].map(normalizeResourceId).sort());
    expect(result.get(normalizeResourceId(resource.id))).toEqual(resource);
    expect(result.get(normalizeResourceId(group.id))?.name).toBe(group.name);
  });

  it('lookupByIds agrees with listResources on excluded types (absent), and ignores non-resource ids', async () => {
    const emu = await emulator({ estate });
    const site = estate.resources.find((row) => row.type === 'microsoft.web/sites')!;
    const vault = estate.resources.find((row) => row.type === 'microsoft.keyvault/vaults')!;
    const lock = `${String(estate.resourceGroups[0]!.id)}/providers/Microsoft.Authorization/locks/l1`;
    const result = await reader(emu, { excludeResourceTypes: ['Microsoft.Web/sites'] }).lookupByIds([site.id, vault.id, lock], allScope(estate));
    expect([...result.keys()]).toEqual([normalizeResourceId(vault.id)]);
    expect(emu.requests().every((req) => !req.query.includes('locks'))).toBe(true);
  });

  it('lookupByIds splits large id lists into queries of at most 1000 ids and skips ids outside the scope', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu);
    const ids = estate.resources.slice(0, 2_100).map((row) => row.id);
    const outOfScope = '/subscriptions/99999999-9999-4999-8999-999999999999/resourceGroups/x/providers/A.B/c/d';
    const result = await r.lookupByIds([...ids, outOfScope], allScope(estate));
    expect(result.size).toBe(2_100);
    expect(emu.requests()).toHaveLength(3);
    expect(emu.requests().every((req) => !req.subscriptions?.includes('99999999-9999-4999-8999-999999999999'))).toBe(true);
    await expect(r.lookupByIds([outOfScope], allScope(estate))).resolves.toEqual(new Map());
    await expect(r.lookupByIds(['not an id'], allScope(estate))).rejects.toBeInstanceOf(PermanentError);
  });

  it('writes during paging neither duplicate nor skip rows that existed throughout (keyset paging on id)', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu, { subscriptionBatchSize: 1000 });
    const seen: string[] = [];
    let mutated = false;
    const sorted = [...estate.resources].sort((a, b) => (normalizeResourceId(a.id) < normalizeResourceId(b.id) ? -1 : 1));
    const doomed = sorted.slice(-10).map((row) => row.id);
    for await (const page of r.listResources(allScope(estate))) {
      seen.push(...page.map((row) => normalizeResourceId(row.id)));
      if (!mutated) {
        mutated = true;
        // New rows before and after the cursor, and deletes ahead of it.
        for (let i = 0; i < 20; i++) {
          emu.upsertResource({ id: `${String(estate.resourceGroups[0]!.id)}/providers/Microsoft.Web/sites/000-new-${i}` });
          emu.upsertResource({ id: `${String(estate.resourceGroups[0]!.id)}/providers/Microsoft.Web/sites/zzz-new-${i}` });
        }
        for (const id of doomed) emu.deleteResource(id);
      }
    }
    expect(new Set(seen).size).toBe(seen.length);
    const survivors = estate.resources.filter((row) => !doomed.includes(row.id)).map((row) => normalizeResourceId(row.id));
    const seenSet = new Set(seen);
    expect(survivors.every((id) => seenSet.has(id))).toBe(true);
    expect(doomed.some((id) => seenSet.has(normalizeResourceId(id)))).toBe(false);
  });

  it('the emulator understands every query the query module can emit', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu);
    for (const [name, query] of Object.entries(everyQuery())) {
      await expect(collect(r.queryPages(query, { subscriptions: allScope(estate).subscriptionIds })), name).resolves.toBeDefined();
    }
    expect(emu.requests().every((req) => req.status === 200)).toBe(true);
  });

  it('a live truncated result (rows without an id, more than a page) is an IncompleteReadError', async () => {
    const emu = await emulator({ estate });
    const error = await caught(collect(reader(emu).queryPages('resources | project name | order by name asc', { subscriptions: allScope(estate).subscriptionIds })));
    expect(error).toBeInstanceOf(IncompleteReadError);
    expect(emu.requests()).toHaveLength(1);
  });

  it('the emulator rejects queries outside its subset with an ARG-shaped 400', async () => {
    const emu = await emulator({ estate });
    const error = await caught(collect(reader(emu).queryPages('resources | take 5', {})));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).status).toBe(400);
    expect((error as PermanentError).code).toBe('BadRequest');
    expect((error as PermanentError).message).toMatch(/InvalidQuery: .*"take"/);
    expect((error as PermanentError).traceId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('changes and visibility lag', () => {
  const SUB = '11111111-1111-4111-8111-111111111111';
  const RG = `/subscriptions/${SUB}/resourceGroups/Rg-Changes`;
  const resourceId = (name: string) => `${RG}/providers/Microsoft.Web/sites/${name}`;
  const start = new Date('2026-05-01T00:00:00.000Z');

  async function changeEstate(lag: { resourcesMs?: number; changesMs?: number } = {}) {
    const emu = await emulator({
      estate: { subscriptions: [{ id: `/subscriptions/${SUB}`, name: 'changes', subscriptionId: SUB }] },
      startTime: start,
      manualClock: true,
      lag,
    });
    return { emu, r: reader(emu), scope: { subscriptionIds: [SUB] } };
  }

  it('reports the latest change per target id in [since, until), from both change tables', async () => {
    const { emu, r } = await changeEstate();
    emu.upsertResourceGroup({ id: RG, location: 'westeurope' });
    emu.advance(1_000);
    emu.upsertResource({ id: resourceId('a'), location: 'westeurope' });
    emu.upsertResource({ id: resourceId('b'), location: 'westeurope' });
    emu.advance(60_000);
    emu.upsertResource({ id: resourceId('a'), location: 'westeurope', tags: { v: '2' } });
    emu.deleteResource(resourceId('b'));
    emu.advance(60_000);
    emu.upsertResource({ id: resourceId('late'), location: 'westeurope' });

    const since = start;
    const until = new Date(start.getTime() + 61_000 + 1); // 'late' (at +121 s) is outside
    const { rows } = await collect<ChangeRow>(r.listChanges({ subscriptionIds: [SUB] }, { since, until }));
    const byId = new Map(rows.map((row) => [row.targetResourceId.toLowerCase(), row]));
    expect(byId.size).toBe(3);
    expect(byId.get(RG.toLowerCase())).toMatchObject({ changeType: 'Create', table: 'resourcecontainerchanges', changeTime: start.toISOString() });
    expect(byId.get(resourceId('a').toLowerCase())).toMatchObject({ changeType: 'Update', table: 'resourcechanges' });
    expect(byId.get(resourceId('b').toLowerCase())).toMatchObject({
      changeType: 'Delete',
      changeTime: new Date(start.getTime() + 61_000).toISOString(),
    });
    const exclusiveEnd = await collect<ChangeRow>(
      r.listChanges({ subscriptionIds: [SUB] }, { since: start, until: new Date(start.getTime() + 61_000) }),
    );
    expect(exclusiveEnd.rows.find((row) => row.targetResourceId === resourceId('b'))?.changeType).toBe('Create');
  });

  it('a Delete stamped with the same instant as another change is reported as the latest change', async () => {
    const { emu, r, scope } = await changeEstate();
    emu.upsertResource({ id: resourceId('tie'), location: 'westeurope' });
    emu.advance(1_000);
    emu.upsertResource({ id: resourceId('tie'), location: 'westeurope', tags: { v: '2' } });
    emu.deleteResource(resourceId('tie'));
    const { rows } = await collect<ChangeRow>(r.listChanges(scope, { since: start, until: new Date(start.getTime() + 2_000) }));
    expect(rows.find((row) => row.targetResourceId.toLowerCase() === resourceId('tie').toLowerCase())).toMatchObject({
      changeType: 'Delete',
      changeTime: new Date(start.getTime() + 1_000).toISOString(),
    });
  });

  it('change records appear only after the change-table lag', async () => {
    const { emu, r, scope } = await changeEstate({ changesMs: 120_000 });
    emu.upsertResource({ id: resourceId('a') });
    const window = { since: start, until: new Date(start.getTime() + 3_600_000) };
    expect((await collect(r.listChanges(scope, window))).rows).toHaveLength(0);
    emu.advance(120_000);
    expect((await collect(r.listChanges(scope, window))).rows).toHaveLength(1);
  });

  it('during the resources lag a read returns the OLD row (and a deleted row stays visible)', async () => {
    const { emu, r, scope } = await changeEstate();
    emu.upsertResource({ id: resourceId('a'), tags: { v: '1' } });
    emu.setLag({ resourcesMs: 30_000 });
    emu.advance(30_000);
    emu.upsertResource({ id: resourceId('a'), tags: { v: '2' } });
    emu.upsertResource({ id: resourceId('new') });
    const stale = await r.lookupByIds([resourceId('a'), resourceId('new')], scope);
    expect(stale.get(normalizeResourceId(resourceId('a')))?.tags).toEqual({ v: '1' });
    expect(stale.has(normalizeResourceId(resourceId('new')))).toBe(false);
    emu.advance(30_000);
    const fresh = await r.lookupByIds([resourceId('a'), resourceId('new')], scope);
    expect(fresh.get(normalizeResourceId(resourceId('a')))?.tags).toEqual({ v: '2' });
    expect(fresh.has(normalizeResourceId(resourceId('new')))).toBe(true);

    emu.deleteResource(resourceId('a'));
    expect((await r.lookupByIds([resourceId('a')], scope)).size).toBe(1);
    emu.advance(30_000);
    expect((await r.lookupByIds([resourceId('a')], scope)).size).toBe(0);
    expect(emu.rows().some((row) => row.id === resourceId('a'))).toBe(false);
  });

  it('deleting a resource group removes its resources and records their deletes', async () => {
    const { emu, r, scope } = await changeEstate();
    emu.upsertResourceGroup({ id: RG });
    emu.upsertResourceGroup({ id: `${RG}-other` });
    emu.upsertResource({ id: resourceId('a') });
    emu.upsertResource({ id: `${RG}-other/providers/Microsoft.Web/sites/keep` });
    emu.advance(1_000);
    expect(emu.deleteResourceGroup(RG.toUpperCase())).toBe(true);
    expect(emu.estate().resources.map((row) => row.id)).toEqual([`${RG}-other/providers/Microsoft.Web/sites/keep`]);
    const { rows } = await collect<ChangeRow>(r.listChanges(scope, { since: new Date(start.getTime() + 1_000), until: new Date(start.getTime() + 2_000) }));
    expect(rows.map((row) => [row.targetResourceId, row.changeType]).sort()).toEqual([[RG, 'Delete'], [resourceId('a'), 'Delete']].sort());
  });
});

describe('scope, permissions and errors', () => {
  const estate = generateEstate({ subscriptions: 3, resourceGroups: 6, resources: 30, seed: 3 });
  const subs = estate.subscriptions.map((s) => String(s.subscriptionId));

  it('resolveScope: explicit ids are checked, unreadable ones reported (never read as empty)', async () => {
    const emu = await emulator({ estate, readableSubscriptions: [subs[0]!, subs[1]!] });
    const scope = await reader(emu, { subscriptionIds: subs.map((s) => s.toUpperCase()) }).resolveScope();
    expect(scope.subscriptionIds.sort()).toEqual([subs[0]!, subs[1]!].sort());
    expect(scope.unreadableSubscriptionIds).toEqual([subs[2]]);
  });

  it('resolveScope: no configured subscription readable → PermanentError', async () => {
    const emu = await emulator({ estate, readableSubscriptions: [] });
    const error = await caught(reader(emu, { subscriptionIds: subs }).resolveScope());
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/None of the 3 configured subscriptions/);
  });

  it('resolveScope: management groups and "everything readable"', async () => {
    const emu = await emulator({ estate, managementGroups: { Platform: [subs[1]!, subs[2]!] }, readableSubscriptions: [subs[0]!, subs[1]!] });
    expect((await reader(emu, { managementGroupIds: ['Platform'] }).resolveScope()).subscriptionIds).toEqual([subs[1]]);
    expect((await reader(emu).resolveScope()).subscriptionIds).toEqual([subs[0]!, subs[1]!].sort());
    expect(emu.requests().find((req) => req.managementGroups)?.managementGroups).toEqual(['Platform']);
  });

  it('403 (no requested subscription readable) is a PermanentError, not an empty list', async () => {
    const emu = await emulator({ estate, readableSubscriptions: [subs[0]!] });
    const error = await caught(collect(reader(emu).listResources({ subscriptionIds: [subs[1]!] })));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).status).toBe(403);
    expect((error as PermanentError).code).toBe('AuthorizationFailed');
  });

  it('400 is a PermanentError carrying the ARG error code and x-ms-request-id', async () => {
    const emu = await emulator({ estate });
    emu.failNext(1, 400, { code: 'InvalidQuery' });
    const error = await caught(collect(reader(emu).listResources(allScope(estate))));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400, code: 'InvalidQuery', source: 'resource-graph' });
    expect((error as PermanentError).traceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a transient 500 is retried by the pipeline and every attempt is counted', async () => {
    const emu = await emulator({ estate });
    emu.failNext(1, 500);
    const r = reader(emu);
    const { rows } = await collect(r.listSubscriptions(allScope(estate)));
    expect(rows).toHaveLength(3);
    expect(r.queryCount()).toBe(2);
    expect(emu.queryCount()).toBe(2);
  });

  it('5xx that outlasts the retries is a RetryableError', async () => {
    const emu = await emulator({ estate });
    emu.failNext(3, 503, { retryAfterSeconds: 0 });
    const r = reader(emu);
    const error = await caught(collect(r.listSubscriptions(allScope(estate))));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).status).toBe(503);
    expect(r.queryCount()).toBe(3);
  });

  it('a 429 with Retry-After is waited out once (not hammered)', async () => {
    const emu = await emulator({ estate });
    emu.failNext(1, 429, { retryAfterSeconds: 1 });
    const r = reader(emu);
    const started = Date.now();
    const { rows } = await collect(r.listSubscriptions(allScope(estate)));
    expect(rows).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(emu.queryCount()).toBe(2);
  });

  it('parses hh:mm:ss quota reset headers', () => {
    expect(parseResetsAfter('00:00:04')).toBe(4_000);
    expect(parseResetsAfter('01:02:03')).toBe(3_723_000);
    expect(parseResetsAfter('soon')).toBeUndefined();
  });
});

describe('throttling', () => {
  it('a burst of 60 queries against a 15 per 5 s quota gets no 429', async () => {
    const estate = generateEstate({ subscriptions: 2, resourceGroups: 4, resources: 20, seed: 5 });
    const emu = await emulator({ estate, quota: { limit: 15, windowMs: 5_000 } });
    const r = reader(emu, { maxConcurrency: 3 });
    const scope = allScope(estate);
    const ids = estate.resources.map((row) => row.id);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => r.lookupByIds([ids[i % ids.length]!], scope)));
    expect(results.every((m) => m.size === 1)).toBe(true);
    expect(emu.throttledCount()).toBe(0);
    expect(emu.queryCount()).toBe(60);
    expect(r.queryCount()).toBe(60);
  }, 60_000);
});

describe('cancellation and concurrency', () => {
  it('an abort signal stops a listing with an AbortError, not a partial success', async () => {
    const estate = generateEstate({ subscriptions: 1, resourceGroups: 2, resources: 3_000, seed: 9 });
    const emu = await emulator({ estate, latencyMs: 50 });
    const controller = new AbortController();
    const pages: number[] = [];
    const error = await caught(
      (async () => {
        for await (const page of reader(emu).listResources(allScope(estate), { abortSignal: controller.signal })) {
          pages.push(page.length);
          controller.abort();
        }
      })(),
    );
    expect(pages).toEqual([1000]);
    expect((error as Error).name).toBe('AbortError');
  });

  it('ARG_MAX_CONCURRENCY bounds requests in flight across all callers of one reader', async () => {
    const estate = generateEstate({ subscriptions: 6, resourceGroups: 6, resources: 60, seed: 4 });
    const emu = await emulator({ estate, latencyMs: 100 });
    const r = reader(emu, { maxConcurrency: 2, subscriptionBatchSize: 1 });
    const scope = allScope(estate);
    const started = Date.now();
    await Promise.all([collect(r.listResources(scope)), collect(r.listResourceGroups(scope))]);
    // 12 single-page queries, 2 at a time, 100 ms each: at least 6 rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(580);
    expect(r.queryCount()).toBe(12);
  });
});
