import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import { createPortClient, PortClient } from '../../shared/port/client.js';
import { loadSettings } from '../../shared/settings.js';
import type { PortEntity } from '../../shared/port/types.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { clientFor, entities, seedTestBlueprints, testLogger, TrafficLog } from './harness.js';

const traffic = new TrafficLog();
let emulator: PortEmulator;
let client: PortClient;

beforeEach(async () => {
  emulator = await startPortEmulator();
  seedTestBlueprints(emulator);
  client = clientFor(emulator);
});

afterEach(async () => {
  traffic.collect(emulator);
  client.close();
  await emulator.close();
});

afterAll(() => {
  // Every request the client sent and every response the emulator gave, across the whole suite.
  expect(traffic.size).toBeGreaterThan(100);
  traffic.expectAllMatchSpec();
});

describe('authentication', () => {
  it('shares one token fetch between 50 concurrent calls', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.getEntity('testResource', `missing-${i}`)));
    expect(results.every((r) => r === undefined)).toBe(true);
    expect(emulator.counts().token).toBe(1);
    expect(client.requestCounts()).toMatchObject({ token: 1, other: 50, total: 51 });
  });

  it('recovers from a 401 mid-run by refreshing the token once', async () => {
    const first = await client.upsertEntities('testResource', entities(20, 'a'));
    expect(first.every((o) => o.ok)).toBe(true);
    emulator.revokeTokens();
    const second = await client.upsertEntities('testResource', entities(40, 'b'));
    expect(second.every((o) => o.ok)).toBe(true);
    expect(emulator.entities('testResource')).toHaveLength(60);
    expect(emulator.counts().token).toBe(2);
    expect(emulator.requests.filter((r) => r.status === 401)).toHaveLength(2);
  });

  it('refreshes before expiry instead of waiting for a 401', async () => {
    emulator.setTokenLifetime(1);
    let now = Date.now();
    const timed = clientFor(emulator, { now: () => now });
    await timed.getEntity('testResource', 'x');
    now += 2_000;
    await new Promise((r) => setTimeout(r, 1_100));
    await timed.getEntity('testResource', 'x');
    timed.close();
    expect(emulator.counts().token).toBe(2);
    expect(emulator.requests.filter((r) => r.status === 401)).toHaveLength(0);
  });

  it('fails with a PermanentError on wrong credentials, without leaking the secret', async () => {
    const { logger, records } = testLogger();
    const bad = clientFor(emulator, { clientSecret: 'wrong-secret-value', logger });
    const error = await bad.getEntity('testResource', 'x').catch((e: unknown) => e);
    bad.close();
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).status).toBe(401);
    expect(JSON.stringify(error) + String(error) + JSON.stringify(records)).not.toContain('wrong-secret-value');
    expect(emulator.counts().token).toBe(1);
  });

  it('sends a stable User-Agent', async () => {
    await client.getEntity('testResource', 'x');
    const agents = new Set(emulator.requests.map((r) => r.requestHeaders['user-agent']));
    expect([...agents]).toEqual([expect.stringMatching(/^azure-port-sync\/\d+\.\d+\.\d+/)]);
  });
});

describe('retries', () => {
  it.each([
    ['retry-after', 'Retry-After'],
    ['reset-epoch', 'x-ratelimit-reset as epoch seconds'],
    ['reset-delta', 'x-ratelimit-reset as delta seconds'],
  ] as const)('honours a 429 with %s (%s)', async (form, _description) => {
    await client.getEntity('testResource', 'warm-up');
    emulator.setFaults({ next: [{ status: 429, count: 1, route: '/entities/search', rateLimitHeader: form, retryAfterSeconds: 1 }] });
    const started = Date.now();
    const pages = [];
    for await (const page of client.searchEntities('testResource')) pages.push(page);
    const waited = Date.now() - started;
    expect(pages).toEqual([[]]);
    // Backoff alone would be ~10 ms here; only the header explains a wait of about a second.
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(6_000);
    expect(emulator.counts().search).toBe(2);
  });

  it('retries a 5xx and then succeeds', async () => {
    emulator.setFaults({ next: [{ status: 503, count: 2, route: '/entities/bulk' }] });
    const outcomes = await client.upsertEntities('testResource', entities(5));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(emulator.counts().bulkUpsert).toBe(3);
    expect(client.requestCounts().bulkUpsert).toBe(3);
  });

  it('retries a dropped connection', async () => {
    await client.getEntity('testResource', 'warm-up');
    emulator.setFaults({ next: [{ drop: true, count: 1, route: '/entities/bulk' }] });
    const outcomes = await client.upsertEntities('testResource', entities(3));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(emulator.entities('testResource')).toHaveLength(3);
  });

  it('gives up after retryMaxAttempts with a RetryableError per entity, never throwing', async () => {
    const limited = clientFor(emulator, { retryMaxAttempts: 3 });
    emulator.setFaults({ next: [{ status: 502, count: 100, route: '/entities/bulk' }] });
    const outcomes = await limited.upsertEntities('testResource', entities(25));
    limited.close();
    expect(outcomes).toHaveLength(25);
    for (const o of outcomes) {
      expect(o.ok).toBe(false);
      if (!o.ok) {
        expect(o.error).toBeInstanceOf(RetryableError);
        expect(o.error.status).toBe(502);
        expect(o.error.traceId).toMatch(/^[0-9a-f-]{36}$/);
      }
    }
    // Two chunks, three attempts each.
    expect(emulator.counts().bulkUpsert).toBe(6);
  });

  it('times out a slow request and reports a RetryableError', async () => {
    await client.getEntity('testResource', 'warm-up');
    const impatient = clientFor(emulator, { requestTimeoutMs: 100, retryMaxAttempts: 2 });
    await impatient.getEntity('testResource', 'token-first');
    emulator.setLatency(400);
    const error = await impatient.getEntity('testResource', 'x').catch((e: unknown) => e);
    emulator.setLatency(0);
    impatient.close();
    expect(error).toBeInstanceOf(RetryableError);
    expect(impatient.requestCounts().other).toBe(3);
  });

  it('surfaces a 422 as a PermanentError carrying the trace id, without retrying', async () => {
    await client.getEntity('testResource', 'warm-up');
    emulator.setFaults({ next: [{ status: 422, count: 1, route: '/entities/search', error: 'invalid_request', message: 'bad rule' }] });
    const error = await (async () => {
      for await (const page of client.searchEntities('testResource')) void page;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    const e = error as PermanentError;
    const recorded = emulator.requests.find((r) => r.status === 422)!;
    expect(e.status).toBe(422);
    expect(e.code).toBe('invalid_request');
    expect(e.traceId).toBe(recorded.responseHeaders['x-trace-id']);
    expect(e.message).toContain('bad rule');
    expect(emulator.counts().search).toBe(1);
  });

  it('stops waiting when aborted', async () => {
    await client.getEntity('testResource', 'warm-up');
    emulator.setFaults({ next: [{ status: 429, count: 1, route: '/entities/bulk', retryAfterSeconds: 30 }] });
    const controller = new AbortController();
    const pending = client.upsertEntities('testResource', entities(2), { abortSignal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop now')), 100);
    const started = Date.now();
    await expect(pending).rejects.toThrow('stop now');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('upsertEntities', () => {
  it('sends 45 entities in 3 bulk calls with upsert, merge and create_missing_related_entities', async () => {
    const outcomes = await client.upsertEntities('testResource', entities(45));
    expect(outcomes.map((o) => o.ok)).toEqual(new Array(45).fill(true));
    expect(outcomes.map((o) => o.identifier)).toEqual(entities(45).map((e) => e.identifier));
    expect(emulator.counts().bulkUpsert).toBe(3);
    const sizes = emulator.requests.filter((r) => r.kind === 'bulkUpsert').map((r) => (r.body as { entities: unknown[] }).entities.length);
    expect(sizes.sort()).toEqual([20, 20, 5]);
    expect(emulator.requests.find((r) => r.kind === 'bulkUpsert')!.query).toEqual({
      upsert: 'true',
      merge: 'true',
      create_missing_related_entities: 'true',
    });
    expect(emulator.entity('testResource', 'e-00044')).toMatchObject({ properties: { name: 'name 44', size: 44 }, blueprint: 'testResource' });
  });

  it('reports created vs updated and merges into existing entities', async () => {
    emulator.seed('testResource', [{ identifier: 'e-00000', properties: { tags: { keep: 'me' } }, relations: {} }]);
    const outcomes = await client.upsertEntities('testResource', entities(2));
    expect(outcomes).toEqual([
      { ok: true, identifier: 'e-00000', created: false },
      { ok: true, identifier: 'e-00001', created: true },
    ]);
    expect(emulator.entity('testResource', 'e-00000')!.properties).toEqual({ tags: { keep: 'me' }, name: 'name 0', size: 0 });
  });

  it('splits a batch over 1 MiB by size and keeps every request under the limit', async () => {
    const big = entities(20, 'big', () => ({ blob: 'x'.repeat(120_000) }));
    const outcomes = await client.upsertEntities('testResource', big);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const bulk = emulator.requests.filter((r) => r.kind === 'bulkUpsert');
    expect(bulk.length).toBe(3);
    for (const r of bulk) expect(r.bodyBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(emulator.entities('testResource')).toHaveLength(20);
  });

  it('halves a chunk when Port answers 413 anyway', async () => {
    emulator.setFaults({ next: [{ status: 413, count: 1, route: '/entities/bulk', error: 'payload_too_large', message: 'Request body is too large (limit is 1MiB)' }] });
    const outcomes = await client.upsertEntities('testResource', entities(10));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const sizes = emulator.requests.filter((r) => r.kind === 'bulkUpsert').map((r) => (r.body as { entities: unknown[] }).entities.length);
    expect(sizes.sort()).toEqual([10, 5, 5].sort());
  });

  it('a 413 for one entity well under 1 MiB is retryable, not a permanent rejection (found by the soak)', async () => {
    // Port's limit is 1 MiB; a 413 for a few hundred bytes is a proxy or a transient fault, and reporting it as
    // permanent made the real-time path acknowledge the event and leave the entity to reconciliation.
    emulator.setFaults({ next: [{ status: 413, count: 1, route: '/entities/bulk', error: 'payload_too_large', message: 'Request body is too large (limit is 1MiB)' }] });
    const [outcome] = await client.upsertEntities('testResource', entities(1));
    expect(outcome!.ok).toBe(false);
    if (!outcome!.ok) {
      expect(outcome!.error).toBeInstanceOf(RetryableError);
      expect(outcome!.error.message).toMatch(/under/);
    }
  });

  it('fails a single entity over 1 MiB without sending it, and still writes the rest', async () => {
    const list: PortEntity[] = entities(3);
    list[1]!.properties.blob = 'y'.repeat(1024 * 1024);
    const outcomes = await client.upsertEntities('testResource', list);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const failed = outcomes[1]!;
    if (!failed.ok) {
      expect(failed.error).toBeInstanceOf(PermanentError);
      expect(failed.error.code).toBe('payload_too_large');
    }
    for (const r of emulator.requests) expect(r.bodyBytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it('rejects identifiers Port would refuse before sending them', async () => {
    const outcomes = await client.upsertEntities('testResource', [
      { identifier: 'has space', properties: {}, relations: {} },
      { identifier: 'ok/id:1', properties: {}, relations: {} },
      { identifier: '..', properties: {}, relations: {} },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([false, true, false]);
    const bad = outcomes[0]!;
    if (!bad.ok) expect(bad.error.message).toContain('"has space"');
    expect(emulator.entity('testResource', 'ok/id:1')).toBeDefined();
  });

  it('maps a 207 to per-entity outcomes by index', async () => {
    const list: PortEntity[] = [
      { identifier: 'good-1', properties: { name: 'a' }, relations: {} },
      { identifier: 'bad-type', properties: { size: 'not a number' }, relations: {} },
      { identifier: 'good-2', properties: {}, relations: { group: 'g-1' } },
      { identifier: 'missing-target', properties: {}, relations: { group: 'nowhere' } },
    ];
    emulator.seed('testGroup', [{ identifier: 'g-1' }]);
    const outcomes = await client.upsertEntities('testResource', list, { createMissingRelatedEntities: false });
    expect(emulator.requests.find((r) => r.kind === 'bulkUpsert')!.status).toBe(207);
    expect(outcomes.map((o) => [o.identifier, o.ok])).toEqual([
      ['good-1', true],
      ['bad-type', false],
      ['good-2', true],
      ['missing-target', false],
    ]);
    const [badType, missing] = [outcomes[1]!, outcomes[3]!];
    if (badType.ok || missing.ok) throw new Error('expected failures');
    expect(badType.error).toBeInstanceOf(PermanentError);
    expect(badType.error.status).toBe(422);
    expect(missing.error.status).toBe(404);
    expect(missing.error.code).toBe('not_found');
    expect(missing.error.traceId).toBeDefined();
    expect(emulator.entity('testResource', 'bad-type')).toBeUndefined();
  });

  it('creates missing related entities as placeholders when asked to', async () => {
    const outcomes = await client.upsertEntities('testResource', [{ identifier: 'r1', properties: {}, relations: { group: 'new-group' } }]);
    expect(outcomes[0]!.ok).toBe(true);
    expect(emulator.entity('testGroup', 'new-group')).toMatchObject({ identifier: 'new-group', properties: {} });
  });
});

describe('configuration', () => {
  it('builds a client from validated settings', async () => {
    const settings = loadSettings({
      PORT_CLIENT_ID: emulator.clientId,
      PORT_CLIENT_SECRET: emulator.clientSecret,
      PORT_API_URL: emulator.url,
      PORT_MAX_CONCURRENCY: '4',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    });
    const fromSettings = createPortClient(settings.port, testLogger().logger);
    expect(await fromSettings.getEntity('testResource', 'none')).toBeUndefined();
    fromSettings.close();
    expect(emulator.counts()).toMatchObject({ token: 1, other: 1 });
  });

  it('rejects bad options with errors that name them', () => {
    expect(() => clientFor(emulator, { apiUrl: 'api.port.io' })).toThrow(/apiUrl/);
    expect(() => clientFor(emulator, { maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    expect(() => clientFor(emulator, { retryMaxAttempts: 0 })).toThrow(/retryMaxAttempts/);
  });

  it('gives every entity the PermanentError when the blueprint does not exist', async () => {
    const outcomes = await client.upsertEntities('noSuchBlueprint', entities(3));
    expect(outcomes.map((o) => o.ok)).toEqual([false, false, false]);
    const first = outcomes[0]!;
    if (!first.ok) {
      expect(first.error).toBeInstanceOf(PermanentError);
      expect(first.error.status).toBe(404);
    }
  });
});

describe('deleteEntities', () => {
  it('deletes in calls of at most 100 and counts unknown ids as already gone', async () => {
    const list = entities(150);
    emulator.seed('testResource', list);
    const ids = [...list.map((e) => e.identifier), 'never-existed'];
    const result = await client.deleteEntities('testResource', ids, { deleteDependents: false });
    expect(result.failed).toEqual([]);
    expect(result.deleted.sort()).toEqual([...ids].sort());
    expect(emulator.entities('testResource')).toHaveLength(0);
    const bulk = emulator.requests.filter((r) => r.path.endsWith('/bulk/entities/delete'));
    expect(bulk.map((r) => (r.body as { entities: string[] }).entities.length).sort()).toEqual([100, 51]);
    expect(bulk.every((r) => r.query.delete_dependents === 'false')).toBe(true);
  });

  it('falls back to single deletes when dependents block the bulk call', async () => {
    emulator.seed('testGroup', [{ identifier: 'g-1' }, { identifier: 'g-2' }]);
    emulator.seed('testResource', [{ identifier: 'r-1', relations: { group: 'g-1' } }]);
    const result = await client.deleteEntities('testGroup', ['g-1', 'g-2'], { deleteDependents: false });
    expect(result.deleted).toEqual(['g-2']);
    expect(result.failed.map((f) => f.identifier)).toEqual(['g-1']);
    expect(result.failed[0]!.error).toBeInstanceOf(PermanentError);
    expect(emulator.entity('testGroup', 'g-1')).toBeDefined();

    const cascade = await client.deleteEntities('testGroup', ['g-1'], { deleteDependents: true });
    expect(cascade).toEqual({ deleted: ['g-1'], failed: [] });
    expect(emulator.entity('testResource', 'r-1')).toBeUndefined();
  });

  it('deletes one entity with a percent-encoded identifier; 404 counts as done', async () => {
    emulator.seed('testResource', [{ identifier: '/subscriptions/s1/resourcegroups/rg' }]);
    await client.deleteEntity('testResource', '/subscriptions/s1/resourcegroups/rg', { deleteDependents: true });
    await client.deleteEntity('testResource', '/subscriptions/s1/resourcegroups/rg', { deleteDependents: true });
    expect(emulator.entities('testResource')).toHaveLength(0);
    expect(emulator.requests.filter((r) => r.method === 'DELETE').map((r) => [r.path, r.status])).toEqual([
      ['/v1/blueprints/testResource/entities/%2Fsubscriptions%2Fs1%2Fresourcegroups%2Frg', 200],
      ['/v1/blueprints/testResource/entities/%2Fsubscriptions%2Fs1%2Fresourcegroups%2Frg', 404],
    ]);
  });

  it('needs deleteDependents to be given explicitly', async () => {
    await expect(client.deleteEntities('testResource', ['x'], {} as never)).rejects.toThrow(/deleteDependents/);
  });
});

describe('searchEntities and getEntity', () => {
  it('pages through 2,500 entities with limit 1000 and next/from', async () => {
    emulator.seed('testResource', entities(2_500));
    const seen: string[] = [];
    let pages = 0;
    for await (const page of client.searchEntities('testResource', { include: ['$identifier', 'properties.size', '$updatedAt'] })) {
      pages++;
      for (const e of page) seen.push(e.identifier);
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(2_500);
    expect(new Set(seen).size).toBe(2_500);
    const bodies = emulator.requests.filter((r) => r.kind === 'search').map((r) => r.body as Record<string, unknown>);
    expect(bodies[0]).toEqual({ query: { combinator: 'and', rules: [] }, include: ['$identifier', 'properties.size', '$updatedAt'], limit: 1000 });
    expect(bodies[1]!.from).toBe((emulator.requests.find((r) => r.kind === 'search')!.responseBody as { next: string }).next);
    const lastResponse = emulator.requests.filter((r) => r.kind === 'search').at(-1)!.responseBody as Record<string, unknown>;
    expect(lastResponse).not.toHaveProperty('next');
  });

  it('passes a query through and returns only matching entities', async () => {
    emulator.seed('testResource', entities(30));
    const found: number[] = [];
    const query = { combinator: 'and' as const, rules: [{ property: 'size', operator: '>', value: 24 }] };
    for await (const page of client.searchEntities('testResource', { query, limit: 2 })) found.push(...page.map((e) => e.properties!.size as number));
    expect(found).toEqual([25, 26, 27, 28, 29]);
  });

  it('rejects a page size over 1000', async () => {
    const iterate = async () => {
      for await (const page of client.searchEntities('testResource', { limit: 1001 })) void page;
    };
    await expect(iterate()).rejects.toThrow(/1 to 1000/);
  });

  it('gets one entity with meta fields, or undefined on 404', async () => {
    await client.upsertEntities('testResource', entities(1));
    const found = await client.getEntity('testResource', 'e-00000');
    expect(found).toMatchObject({ identifier: 'e-00000', blueprint: 'testResource', properties: { size: 0 } });
    expect(Date.parse(found!.updatedAt!)).not.toBeNaN();
    expect(found!.createdBy).toBe(emulator.clientId);
    expect(await client.getEntity('testResource', 'nope')).toBeUndefined();
  });
});

describe('ensureBlueprints', () => {
  it('creates on the first run, writes nothing on the second, and keeps user additions', async () => {
    const defs = defaultBlueprints();
    const first = await client.ensureBlueprints(defs);
    expect(first.created).toEqual(defs.map((d) => d.identifier));
    for (const def of defs) {
      const stored = emulator.blueprint(def.identifier)!;
      expect(Object.keys(stored.schema.properties)).toEqual(Object.keys(def.schema.properties));
      expect(Object.keys(stored.relations)).toEqual(Object.keys(def.relations));
    }

    // A user adds a property and a relation in Port's UI.
    const resourceId = defs[2]!.identifier;
    const stored = emulator.blueprint(resourceId)!;
    emulator.catalog.updateBlueprint(
      resourceId,
      {
        schema: { ...stored.schema, properties: { ...stored.schema.properties, owner: { type: 'string', title: 'Owner' } } },
        relations: { ...stored.relations, team: { target: defs[0]!.identifier, required: false, many: false } },
      },
      false,
      'user',
    );

    emulator.clearRequests();
    const second = await client.ensureBlueprints(defs);
    expect(second).toEqual({ created: [], updated: [], unchanged: defs.map((d) => d.identifier) });
    expect(emulator.requests.map((r) => r.method)).toEqual(defs.map(() => 'GET'));
    expect(emulator.blueprint(resourceId)!.schema.properties.owner).toEqual({ type: 'string', title: 'Owner' });
    expect(emulator.blueprint(resourceId)!.relations.team).toBeDefined();
  });

  it('patches a missing or changed property of ours without touching the user’s', async () => {
    const defs = defaultBlueprints();
    await client.ensureBlueprints(defs);
    const subscriptionId = defs[0]!.identifier;
    const stored = emulator.blueprint(subscriptionId)!;
    const { tenantId: _dropped, ...rest } = stored.schema.properties;
    void _dropped;
    emulator.catalog.updateBlueprint(
      subscriptionId,
      { schema: { properties: { ...rest, state: { type: 'string', title: 'Renamed by us earlier' }, extra: { type: 'number' } }, required: [] } },
      false,
      'user',
    );
    const result = await client.ensureBlueprints(defs);
    expect(result.updated).toEqual([subscriptionId]);
    const after = emulator.blueprint(subscriptionId)!.schema.properties;
    expect(after.tenantId).toMatchObject({ type: 'string', title: 'Tenant ID' });
    expect(after.state).toMatchObject({ title: 'State' });
    expect(after.extra).toEqual({ type: 'number' });
  });
});

describe('proactive pacing', () => {
  it('slows down before the rate limit: limit 30 per period, 60 requests, zero 429s', async () => {
    traffic.collect(emulator);
    await emulator.close();
    emulator = await startPortEmulator({ rateLimit: { limit: 30, periodSeconds: 1 } });
    seedTestBlueprints(emulator);
    client.close();
    client = clientFor(emulator, { maxConcurrency: 8 });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => client.getEntity('testResource', `x-${i}`)));
    expect(results).toHaveLength(60);
    expect(emulator.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(emulator.counts().total).toBe(61);
    expect(client.pacingStats().pauses).toBeGreaterThan(0);
  });
});

describe('contract', () => {
  it('all recorded traffic so far matches Port’s OpenAPI spec', () => {
    traffic.collect(emulator);
    traffic.expectAllMatchSpec();
  });
});
