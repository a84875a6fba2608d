/**
 * The emulator's HTTP surface against the 2024-04-01 spec: response and error bodies validate against the spec's
 * own definitions, and request limits are enforced the way Resource Graph documents them.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcesQuery, subscriptionsQuery } from '../../shared/azure/queries.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';
import { RESOURCEGRAPH_STABLE } from '../support/reference.js';

const SPEC = `${RESOURCEGRAPH_STABLE}/resourcegraph.json`;
const spec = JSON.parse(readFileSync(SPEC, 'utf8')) as { definitions: Record<string, Record<string, unknown>> };
// Swagger's `type: object` for `data` predates objectArray results; the spec's own examples return an array there.
const definitions = structuredClone(spec.definitions);
(definitions.QueryResponse!.properties as Record<string, unknown>).data = { type: ['object', 'array'] };
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const validateResponse = ajv.compile({ definitions, $ref: '#/definitions/QueryResponse' });
const validateError = ajv.compile({ definitions, $ref: '#/definitions/ErrorResponse' });

const estate = generateEstate({ subscriptions: 2, resourceGroups: 4, resources: 25, seed: 8 });
const subscriptions = estate.subscriptions.map((s) => String(s.subscriptionId));

let emu: ResourceGraphEmulator;
beforeAll(async () => {
  emu = await startResourceGraphEmulator({ estate, quota: { limit: 3, windowMs: 60_000 }, readableSubscriptions: [subscriptions[0]!] });
});
afterAll(async () => {
  await emu.close();
});

async function post(body: unknown, options: { auth?: boolean; apiVersion?: string } = {}) {
  const response = await fetch(`${emu.url}/providers/Microsoft.ResourceGraph/resources?api-version=${options.apiVersion ?? '2024-04-01'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.auth === false ? {} : { authorization: 'Bearer t' }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

describe('Resource Graph emulator contract', () => {
  it('serves spec-valid pages with quota headers, keyset skip tokens and permission filtering', async () => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const first = await post({ subscriptions, query: resourcesQuery(), options: { $top: 5, resultFormat: 'objectArray' } });
    expect(first.status).toBe(200);
    expect(validateResponse(first.body), JSON.stringify(validateResponse.errors)).toBe(true);
    expect(first.body).toMatchObject({ count: 5, resultTruncated: 'false', facets: [] });
    expect(first.headers.get('x-ms-user-quota-remaining')).toBe('99');
    expect(first.headers.get('x-ms-user-quota-resets-after')).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(first.headers.get('x-ms-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const readable = estate.resources.filter((r) => r.subscriptionId === subscriptions[0]);
    expect(first.body.totalRecords).toBe(readable.length);
    const second = await post({ subscriptions, query: resourcesQuery(), options: { $top: 5, $skipToken: first.body.$skipToken } });
    const ids = [...(first.body.data as { id: string }[]), ...(second.body.data as { id: string }[])].map((r) => r.id.toLowerCase());
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(10);
    const misuse = await post({ subscriptions, query: subscriptionsQuery(), options: { $skipToken: first.body.$skipToken } });
    expect(misuse.status).toBe(400);
  });

  it.each([
    ['$top above 1000', { query: subscriptionsQuery(), options: { $top: 1001 } }, 400, 'BadRequest'],
    ['more than 1000 subscriptions', { query: subscriptionsQuery(), subscriptions: Array.from({ length: 1001 }, (_, i) => `s${i}`) }, 400, 'BadRequest'],
    ['table result format', { query: subscriptionsQuery(), options: { resultFormat: 'table' } }, 400, 'BadRequest'],
    ['KQL outside the subset', { query: 'resources | summarize count() by type' }, 400, 'BadRequest'],
    ['no readable requested subscription', { query: subscriptionsQuery(), subscriptions: [subscriptions[1]] }, 403, 'AuthorizationFailed'],
  ])('%s → %i with a spec-valid error body', async (_label, body, status, code) => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(validateError(response.body), JSON.stringify(validateError.errors)).toBe(true);
    expect((response.body.error as { code: string }).code).toBe(code);
  });

  it.each([
    ['options that is not an object', { query: subscriptionsQuery(), options: 'fast' }, /options must be an object/],
    ['a non-string $skipToken', { query: subscriptionsQuery(), options: { $skipToken: 7 } }, /\$skipToken must be a string/],
    ['facets it cannot compute', { query: subscriptionsQuery(), facets: [{ expression: 'location' }] }, /facets/],
    ['a body that is not a QueryRequest object', null, /JSON object/],
    ['a body that is an array', [{ query: 'resources' }], /JSON object/],
    ['no query', { subscriptions }, /must contain a query/],
  ])('rejects %s with a 400 naming the problem', async (_label, body, message) => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(validateError(response.body), JSON.stringify(validateError.errors)).toBe(true);
    expect((response.body.error as { message: string }).message).toMatch(message);
  });

  it('names the specific cause of a query error in error.details, as Resource Graph does', async () => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const response = await post({ query: 'resources | take 5' });
    expect(response.status).toBe(400);
    expect(validateError(response.body), JSON.stringify(validateError.errors)).toBe(true);
    expect(response.body.error).toMatchObject({ code: 'BadRequest', details: [{ code: 'InvalidQuery', message: expect.stringMatching(/take/) }] });
  });

  it('sends the quota headers on every response, errors included; refusals before the query is counted spend none', async () => {
    emu.setQuota({ limit: 4, windowMs: 60_000 });
    const remaining = (r: { headers: Headers }) => r.headers.get('x-ms-user-quota-remaining');
    const unauthenticated = await post({ query: subscriptionsQuery() }, { auth: false });
    const wrongVersion = await post({ query: subscriptionsQuery() }, { apiVersion: '2021-03-01' });
    expect([unauthenticated.status, wrongVersion.status]).toEqual([401, 400]);
    expect([remaining(unauthenticated), remaining(wrongVersion)]).toEqual(['4', '4']);
    const badQuery = await post({ query: 'resources | take 5' });
    const forbidden = await post({ query: subscriptionsQuery(), subscriptions: [subscriptions[1]] });
    const ok = await post({ query: subscriptionsQuery() });
    expect([badQuery.status, forbidden.status, ok.status]).toEqual([400, 403, 200]);
    expect([remaining(badQuery), remaining(forbidden), remaining(ok)]).toEqual(['3', '2', '1']);
    emu.failNext(1, 503, { retryAfterSeconds: 2 });
    const injected = await post({ query: subscriptionsQuery() });
    expect(injected.status).toBe(503);
    expect(injected.headers.get('retry-after')).toBe('2');
    expect(remaining(injected)).toBe('1');
    for (const r of [unauthenticated, wrongVersion, badQuery, forbidden, ok, injected]) {
      expect(r.headers.get('x-ms-user-quota-resets-after')).toMatch(/^\d\d:\d\d:\d\d$/);
    }
  });

  it('a result it cannot page by id is cut at $top and flagged resultTruncated "true" with no $skipToken', async () => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const query = 'resources | project name | order by name asc';
    const truncated = await post({ subscriptions, query, options: { $top: 3 } });
    expect(truncated.status).toBe(200);
    expect(validateResponse(truncated.body), JSON.stringify(validateResponse.errors)).toBe(true);
    expect(truncated.body).toMatchObject({ count: 3, resultTruncated: 'true' });
    expect(truncated.body).not.toHaveProperty('$skipToken');
    const whole = await post({ subscriptions, query, options: { $top: 1000 } });
    expect(whole.body).toMatchObject({ resultTruncated: 'false' });
    expect(whole.body).not.toHaveProperty('$skipToken');
  });

  it('change tables hold Resource Graph-shaped change records with per-property changes on updates', async () => {
    emu.setQuota({ limit: 100, windowMs: 60_000 });
    const id = `/subscriptions/${subscriptions[0]}/resourceGroups/chg/providers/Microsoft.Web/sites/chg-app`;
    emu.upsertResource({ id, location: 'westeurope', tags: { env: 'dev' } });
    emu.upsertResource({ id, location: 'westeurope', tags: { env: 'prod', team: 'a' } });
    emu.deleteResource(id);
    const response = await post({ subscriptions: [subscriptions[0]], query: 'resourcechanges | order by id asc' });
    expect(response.status).toBe(200);
    const records = (response.body.data as { id: string; properties: Record<string, unknown> }[]).filter(
      (r) => r.properties.targetResourceId === id,
    );
    expect(records.map((r) => r.properties.changeType).sort()).toEqual(['Create', 'Delete', 'Update']);
    for (const record of records) {
      expect(record).toMatchObject({
        id: expect.stringMatching(new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/providers/Microsoft\\.Resources/changes/[0-9a-f-]{36}$`)),
        type: 'microsoft.resources/changes',
        subscriptionId: subscriptions[0],
        properties: {
          targetResourceType: 'microsoft.web/sites',
          changeAttributes: {
            timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            correlationId: expect.any(String),
            changedBy: expect.any(String),
            changedByType: 'User',
            clientType: expect.any(String),
            operation: expect.stringMatching(/^microsoft\.web\/sites\/(write|delete)$/),
          },
        },
      });
    }
    const update = records.find((r) => r.properties.changeType === 'Update')!;
    expect(update.properties.changes).toEqual({
      'tags.env': { previousValue: 'dev', newValue: 'prod', changeCategory: 'User', propertyChangeType: 'Update' },
      'tags.team': { previousValue: null, newValue: 'a', changeCategory: 'User', propertyChangeType: 'Insert' },
    });
    expect((update.properties.changeAttributes as { changesCount: number }).changesCount).toBe(2);
    expect(records.find((r) => r.properties.changeType === 'Create')!.properties).not.toHaveProperty('changes');
  });

  it('requires a bearer token and the 2024-04-01 api-version', async () => {
    expect((await post({ query: subscriptionsQuery() }, { auth: false })).status).toBe(401);
    expect((await post({ query: subscriptionsQuery() }, { apiVersion: '2021-03-01' })).status).toBe(400);
  });

  it('over quota: 429 with Retry-After and zero remaining', async () => {
    emu.setQuota({ limit: 2, windowMs: 60_000 });
    await post({ query: subscriptionsQuery() });
    await post({ query: subscriptionsQuery() });
    const throttled = await post({ query: subscriptionsQuery() });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(throttled.headers.get('x-ms-user-quota-remaining')).toBe('0');
    expect(validateError(throttled.body)).toBe(true);
    expect(emu.throttledCount()).toBe(1);
  });

  it('control routes mutate and report the estate', async () => {
    const id = `/subscriptions/${subscriptions[0]}/resourceGroups/ctl/providers/Microsoft.Web/sites/ctl-app`;
    const changed = await fetch(`${emu.url}/_emulator/changes`, {
      method: 'POST',
      body: JSON.stringify([{ op: 'upsertResource', row: { id, tags: { a: 'b' } } }]),
    });
    expect(changed.status).toBe(200);
    const state = (await (await fetch(`${emu.url}/_emulator/estate`)).json()) as { resources: { id: string; type: string }[] };
    expect(state.resources.find((r) => r.id === id)?.type).toBe('microsoft.web/sites');
    const bad = await fetch(`${emu.url}/_emulator/changes`, { method: 'POST', body: JSON.stringify({ op: 'explode' }) });
    expect(bad.status).toBe(400);
    const badQuota = await fetch(`${emu.url}/_emulator/quota`, { method: 'POST', body: JSON.stringify({ limit: 'lots' }) });
    expect(badQuota.status).toBe(400);
    expect(((await badQuota.json()) as { error: { message: string } }).error.message).toMatch(/quota needs whole numbers/);
    const badFail = await fetch(`${emu.url}/_emulator/fail`, { method: 'POST', body: JSON.stringify({ status: 200 }) });
    expect(badFail.status).toBe(400);
  });
});
