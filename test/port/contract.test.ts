/**
 * The contract checker itself: it must load Port's spec faithfully and reject exchanges that break it,
 * or the traffic checks in the other suites would pass vacuously.
 */
import { describe, expect, it } from 'vitest';
import { createPortContract, DOCUMENTED_DEVIATIONS, loadPortSpec, operatorEnums } from '../contract/portContract.js';

const spec = loadPortSpec();
const contract = createPortContract(spec);

const bulkPath = '/v1/blueprints/azureCloudResources/entities/bulk';
const okBulk = {
  method: 'POST',
  path: bulkPath,
  query: { upsert: 'true', merge: 'true', create_missing_related_entities: 'true' },
  body: { entities: [{ identifier: '/subscriptions/s/resourcegroups/rg', properties: {}, relations: { subscription: 's' } }] },
  status: 200,
  responseBody: { ok: true, entities: [{ identifier: '/subscriptions/s/resourcegroups/rg', index: 0, created: true }], errors: [] },
};

describe('loading port-openapi.yaml', () => {
  it('keeps the bare "=" operator scalars as strings', () => {
    const enums = operatorEnums(spec);
    expect(enums.length).toBeGreaterThan(10);
    expect(enums.filter((e) => e.includes('=')).length).toBeGreaterThan(10);
    for (const e of enums) for (const op of e) expect(typeof op).toBe('string');
  });

  it('has the routes the client uses', () => {
    for (const p of [
      '/v1/auth/access_token',
      '/v1/blueprints/{blueprint_identifier}/entities/bulk',
      '/v1/blueprints/{blueprint_identifier}/bulk/entities/delete',
      '/v1/blueprints/{blueprint_identifier}/entities/search',
      '/v1/blueprints/{identifier}',
    ]) {
      expect(spec.paths[p], p).toBeDefined();
    }
    expect(DOCUMENTED_DEVIATIONS.length).toBeGreaterThan(0);
  });
});

describe('validateExchange', () => {
  it('accepts a well-formed bulk upsert and a 207', () => {
    expect(contract.validateExchange(okBulk)).toEqual([]);
    const partial = {
      ...okBulk,
      status: 207,
      responseBody: { ok: false, entities: [], errors: [{ identifier: 'x', index: 0, statusCode: 404, error: 'not_found', message: 'm' }] },
    };
    expect(contract.validateExchange(partial)).toEqual([]);
  });

  it('rejects routes that are not in the spec, but skips /_emulator control calls', () => {
    expect(contract.validateExchange({ method: 'POST', path: '/v1/blueprints/x/entities/upsert', status: 200 })).toEqual([
      expect.stringContaining('not in Port'),
    ]);
    expect(contract.validateExchange({ method: 'PATCH', path: '/v1/auth/access_token', status: 200 })[0]).toContain('not in Port');
    expect(contract.validateExchange({ method: 'GET', path: '/_emulator/requests', status: 200, responseBody: 1 })).toEqual([]);
  });

  it('rejects bad request bodies and query parameters', () => {
    const tooMany = { ...okBulk, body: { entities: Array.from({ length: 21 }, (_, i) => ({ identifier: `e${i}` })) } };
    expect(contract.validateExchange(tooMany).join()).toMatch(/must NOT have more than 20 items/);
    const badId = { ...okBulk, body: { entities: [{ identifier: 'has space' }] } };
    expect(contract.validateExchange(badId).join()).toMatch(/identifier must match pattern/);
    const noUpsert = { ...okBulk, query: { merge: 'true' } };
    expect(contract.validateExchange(noUpsert)).toEqual([expect.stringContaining('"upsert" is missing')]);
    const typo = { ...okBulk, query: { ...okBulk.query, create_missing_related_entity: 'true' } };
    expect(contract.validateExchange(typo)).toEqual([expect.stringContaining('"create_missing_related_entity" is not defined')]);
    const notBool = { ...okBulk, query: { upsert: 'yes' } };
    expect(contract.validateExchange(notBool).join()).toMatch(/upsert must be boolean/);
    expect(contract.validateExchange({ ...okBulk, body: undefined }).join()).toMatch(/request body is required/);
  });

  it('rejects response bodies that do not match the documented status', () => {
    const missingErrors = { ...okBulk, responseBody: { ok: true, entities: [] } };
    expect(contract.validateExchange(missingErrors).join()).toMatch(/must have required property 'errors'/);
    const undocumented2xx = { ...okBulk, status: 204 };
    expect(contract.validateExchange(undocumented2xx).join()).toMatch(/status 204 is not documented/);
  });

  it('checks statuses the spec omits (409, 429, 5xx) against Port’s error body', () => {
    const e = { method: 'POST', path: '/v1/blueprints/b/entities/search', body: {} };
    expect(contract.validateExchange({ ...e, status: 429, responseBody: { ok: false, error: 'rate_limit_exceeded', message: 'slow down' } })).toEqual([]);
    expect(contract.validateExchange({ ...e, status: 503, responseBody: { ok: false, message: 'no code' } }).join()).toMatch(/required property 'error'/);
  });

  it('matches literal segments before templates and decodes percent-encoded identifiers', () => {
    expect(contract.matchRoute('POST', '/v1/blueprints/b/entities/search')?.template).toBe('/v1/blueprints/{blueprint_identifier}/entities/search');
    expect(contract.matchRoute('GET', '/v1/blueprints/b/entities/search')?.template).toBe(
      '/v1/blueprints/{blueprint_identifier}/entities/{entity_identifier}',
    );
    expect(contract.matchRoute('GET', '/v1/blueprints/b/entities/%2Fsubscriptions%2Fs1')?.params).toEqual({
      blueprint_identifier: 'b',
      entity_identifier: '/subscriptions/s1',
    });
  });

  it('checks the headers Port documents on every response when they were recorded', () => {
    const headers = {
      'x-trace-id': 'f0a2c3e4-0000-4000-8000-000000000000',
      'x-ratelimit-limit': '35000',
      'x-ratelimit-remaining': '34999',
      'x-ratelimit-period': '300',
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 300),
    };
    expect(contract.validateExchange({ ...okBulk, responseHeaders: headers })).toEqual([]);
    const { 'x-trace-id': _trace, ...untraced } = headers;
    void _trace;
    expect(contract.validateExchange({ ...okBulk, responseHeaders: untraced })).toEqual(['response has no X-Trace-Id header']);
    const delta = { ...headers, 'x-ratelimit-reset': '120' };
    expect(contract.validateExchange({ ...okBulk, responseHeaders: delta }).join()).toMatch(/not in epoch seconds/);
    // An injected 429 may use the delta form on purpose, to test clients that must accept both.
    expect(contract.validateExchange({ ...okBulk, responseHeaders: delta, fault: 'status 429' })).toEqual([]);
  });

  it('allows the entity meta fields real Port returns, and nothing else extra', () => {
    const get = (entity: Record<string, unknown>) => ({
      method: 'GET',
      path: '/v1/blueprints/b/entities/e',
      status: 200,
      responseBody: { ok: true, entity },
    });
    const entity = { identifier: 'e', properties: {}, relations: {}, blueprint: 'b', createdAt: 'x', updatedAt: 'y', createdBy: 'u', updatedBy: 'u' };
    expect(contract.validateExchange(get(entity))).toEqual([]);
    expect(contract.validateExchange(get({ ...entity, surprise: true })).join()).toMatch(/additional properties/);
    const searchPage = {
      method: 'POST',
      path: '/v1/blueprints/b/entities/search',
      body: { query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'in', value: ['a'] }] }, limit: 1000 },
      status: 200,
      responseBody: { ok: true, entities: [entity], next: 'abc' },
    };
    expect(contract.validateExchange(searchPage)).toEqual([]);
    expect(contract.validateExchange({ ...searchPage, body: { ...searchPage.body, limit: 5000 } }).join()).toMatch(/limit must be <= 1000/);
  });
});
