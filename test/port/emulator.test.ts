/**
 * The emulator's own behaviour over raw HTTP (fetch), so the client tests can trust it to act like Port.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { entities, seedTestBlueprints, TrafficLog } from './harness.js';

const traffic = new TrafficLog();
let emu: PortEmulator;
let token: string;

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function api(method: string, path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<Reply> {
  const res = await fetch(emu.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

async function newToken(): Promise<string> {
  const r = await api('POST', '/v1/auth/access_token', { clientId: emu.clientId, clientSecret: emu.clientSecret }, null);
  return r.body.accessToken as string;
}

const bulk = (bp: string, list: unknown[], query = 'upsert=true&merge=true') =>
  api('POST', `/v1/blueprints/${bp}/entities/bulk?${query}`, { entities: list });

const search = (body: Record<string, unknown>) => api('POST', '/v1/blueprints/testResource/entities/search', body);

beforeAll(async () => {
  emu = await startPortEmulator();
});

beforeEach(async () => {
  emu.reset();
  seedTestBlueprints(emu);
  token = await newToken();
});

afterEach(() => {
  // Some requests here are malformed on purpose; their responses must still be what the spec documents.
  traffic.collect(emu, { responseOnly: true });
});

afterAll(async () => {
  await emu.close();
  traffic.expectAllMatchSpec();
});

describe('tokens', () => {
  it('returns the same active token for the same credentials, and 401 for wrong ones', async () => {
    const again = await api('POST', '/v1/auth/access_token', { clientId: emu.clientId, clientSecret: emu.clientSecret }, null);
    expect(again.body).toMatchObject({ ok: true, accessToken: token, tokenType: 'Bearer' });
    expect(again.body.expiresIn).toBeGreaterThan(10_700);
    const wrong = await api('POST', '/v1/auth/access_token', { clientId: emu.clientId, clientSecret: 'nope' }, null);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ ok: false, error: 'unauthorized' });
  });

  it('rejects missing, bad, revoked and expired bearer tokens with 401', async () => {
    expect((await api('GET', '/v1/blueprints', undefined, null)).status).toBe(401);
    expect((await api('GET', '/v1/blueprints', undefined, 'Bearer not-a-token')).body).toMatchObject({ ok: false, error: 'unauthorized' });
    emu.revokeTokens();
    expect((await api('GET', '/v1/blueprints')).status).toBe(401);
    const fresh = await newToken();
    expect(fresh).not.toBe(token);
    token = fresh;
    expect((await api('GET', '/v1/blueprints')).status).toBe(200);

    emu.revokeTokens();
    emu.setTokenLifetime(1);
    token = await newToken();
    await new Promise((r) => setTimeout(r, 1_050));
    const expired = await api('GET', '/v1/blueprints');
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/);
    emu.setTokenLifetime(10_800);
  });
});

describe('every response', () => {
  it('carries X-Trace-Id and x-ratelimit-* headers, errors included; unknown routes are 404', async () => {
    for (const r of [await api('GET', '/v1/blueprints'), await api('GET', '/v1/blueprints/nope'), await api('GET', '/v1/nothing-here')]) {
      expect(r.headers.get('x-trace-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers.get('x-ratelimit-limit')).toBe('35000');
      expect(r.headers.get('x-ratelimit-period')).toBe('300');
      expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(35_000);
    }
    const unknown = await api('GET', '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ ok: false, error: 'not_found' });
    // The unknown route is not Port's; keep it out of the spec check.
    emu.clearRequests();
  });

  it('answers 429 once the rate limit is used up, with remaining 0', async () => {
    emu.setRateLimit({ limit: 3, periodSeconds: 60 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await api('GET', '/v1/blueprints')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const last = await api('GET', '/v1/blueprints');
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    emu.setRateLimit({ limit: 35_000, periodSeconds: 300 });
  });
});

describe('validation', () => {
  it('422 on identifiers outside Port’s pattern or over 1000 characters, and on bulks over 20', async () => {
    for (const bad of ['has space', '..', 'a#b', 'x'.repeat(1001)]) {
      const r = await bulk('testResource', [{ identifier: bad, properties: {} }]);
      expect(r.status, bad.slice(0, 20)).toBe(422);
    }
    expect((await bulk('testResource', [{ identifier: 'ok=1/é:a@b+c\\d', properties: {} }])).status).toBe(200);
    const tooMany = await bulk('testResource', entities(21));
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.message).toMatch(/20/);
    expect(emu.entities('testResource')).toHaveLength(1);
  });

  it('413 with Port’s body over 1 MiB', async () => {
    const r = await bulk('testResource', [{ identifier: 'big', properties: { blob: 'z'.repeat(1024 * 1024) } }]);
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ ok: false, error: 'payload_too_large', message: 'Request body is too large (limit is 1MiB)' });
  });

  it('requires upsert on entity writes and delete_dependents on deletes', async () => {
    expect((await bulk('testResource', entities(1), 'merge=true')).status).toBe(422);
    expect((await api('DELETE', '/v1/blueprints/testResource/entities/e-1')).status).toBe(422);
    expect((await api('POST', '/v1/blueprints/testResource/bulk/entities/delete', { entities: ['e-1'] })).status).toBe(422);
  });
});

describe('entities', () => {
  it('409 on a plain create of an existing identifier; replace vs merge on upsert', async () => {
    const create = (body: unknown, query: string) => api('POST', `/v1/blueprints/testResource/entities?${query}`, body);
    const first = await create({ identifier: 'e', title: 'T', properties: { name: 'n', size: 1 } }, 'upsert=false');
    expect(first.status).toBe(201);
    expect(first.body.entity).toMatchObject({ identifier: 'e', blueprint: 'testResource', createdBy: emu.clientId });
    expect((await create({ identifier: 'e', properties: {} }, 'upsert=false')).status).toBe(409);

    await create({ identifier: 'e', properties: { tags: { a: '1' } } }, 'upsert=true&merge=true');
    expect(emu.entity('testResource', 'e')).toMatchObject({ title: 'T', properties: { name: 'n', size: 1, tags: { a: '1' } } });
    await create({ identifier: 'e', properties: { size: 2 } }, 'upsert=true');
    const replaced = emu.entity('testResource', 'e')!;
    expect(replaced.properties).toEqual({ size: 2 });
    expect(replaced.title).toBeUndefined();
    expect(replaced.createdAt! <= replaced.updatedAt!).toBe(true);
  });

  it('reports missing relation targets per entity (207), or creates placeholders when asked', async () => {
    const list = [
      { identifier: 'r1', properties: {}, relations: { group: 'g-missing' } },
      { identifier: 'r2', properties: {}, relations: {} },
      { identifier: 'r3', properties: { unknownProp: 1 }, relations: {} },
    ];
    const partial = await bulk('testResource', list, 'upsert=true&merge=true&create_missing_related_entities=false');
    expect(partial.status).toBe(207);
    expect(partial.body).toEqual({
      ok: false,
      entities: [{ identifier: 'r2', index: 1, created: true }],
      errors: [
        { identifier: 'r1', index: 0, statusCode: 404, error: 'not_found', message: expect.stringContaining('g-missing') },
        { identifier: 'r3', index: 2, statusCode: 422, error: 'invalid_request', message: expect.stringContaining('unknownProp') },
      ],
    });
    const created = await bulk('testResource', list.slice(0, 2), 'upsert=true&merge=true&create_missing_related_entities=true');
    expect(created.status).toBe(200);
    expect(emu.entity('testGroup', 'g-missing')).toMatchObject({ identifier: 'g-missing', blueprint: 'testGroup' });
  });

  it('replaces with PUT and merges with PATCH on an existing entity; 404 when it is missing', async () => {
    await bulk('testResource', [{ identifier: 'p1', title: 'P', properties: { name: 'n', size: 1 } }]);
    const patched = await api('PATCH', '/v1/blueprints/testResource/entities/p1', { properties: { size: 2 } });
    expect(patched.status).toBe(200);
    expect(emu.entity('testResource', 'p1')).toMatchObject({ title: 'P', properties: { name: 'n', size: 2 } });
    await api('PUT', '/v1/blueprints/testResource/entities/p1', { identifier: 'p1', properties: { size: 3 } });
    expect(emu.entity('testResource', 'p1')!.properties).toEqual({ size: 3 });
    expect((await api('PATCH', '/v1/blueprints/testResource/entities/nope', { properties: {} })).status).toBe(404);
  });

  it('decodes percent-encoded identifiers in paths', async () => {
    const id = '/subscriptions/abc/resourcegroups/rg-1';
    await bulk('testGroup', [{ identifier: id, properties: {} }]);
    const got = await api('GET', `/v1/blueprints/testGroup/entities/${encodeURIComponent(id)}`);
    expect(got.status).toBe(200);
    expect((got.body.entity as { identifier: string }).identifier).toBe(id);
  });

  it('fails a whole bulk delete when dependents exist and delete_dependents=false', async () => {
    emu.seed('testGroup', [{ identifier: 'g1' }, { identifier: 'g2' }]);
    emu.seed('testResource', [{ identifier: 'r1', relations: { group: 'g1' } }]);
    const blocked = await api('POST', '/v1/blueprints/testGroup/bulk/entities/delete?delete_dependents=false', { entities: ['g1', 'g2'] });
    expect(blocked.status).toBe(422);
    expect(emu.entities('testGroup')).toHaveLength(2);
    const ok = await api('POST', '/v1/blueprints/testGroup/bulk/entities/delete?delete_dependents=true', { entities: ['g1', 'g2', 'gone'] });
    expect(ok.body).toEqual({ ok: true, deletedEntities: ['g1', 'g2'] });
    expect(emu.entities('testResource')).toHaveLength(0);
    const tooMany = Array.from({ length: 101 }, (_, i) => `x${i}`);
    expect((await api('POST', '/v1/blueprints/testGroup/bulk/entities/delete?delete_dependents=true', { entities: tooMany })).status).toBe(422);
  });
});

describe('search', () => {
  beforeEach(() => {
    emu.seed('testResource', [
      { identifier: 'vm-a', title: 'A', properties: { name: 'alpha', size: 1, tags: { env: 'prod' } }, updatedAt: '2026-01-01T00:00:00.000Z' },
      { identifier: 'vm-b', title: 'B', properties: { name: 'beta', size: 5 }, updatedAt: '2026-02-01T00:00:00.000Z' },
      { identifier: 'db-c', title: 'C', properties: { name: 'gamma', size: 10 }, updatedAt: '2026-03-01T00:00:00.000Z' },
      { identifier: 'db-d', title: 'D', properties: { name: '' }, updatedAt: '2026-04-01T00:00:00.000Z' },
    ]);
  });

  const ids = async (query: unknown) => {
    const r = await search({ query, include: ['$identifier'] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return (r.body.entities as { identifier: string }[]).map((e) => e.identifier);
  };
  const rule = (property: string, operator: string, value?: unknown) => ({
    combinator: 'and',
    rules: [{ property, operator, ...(value === undefined ? {} : { value }) }],
  });

  it('supports the operators the sync uses, and nested groups', async () => {
    expect(await ids(rule('$identifier', '=', 'vm-a'))).toEqual(['vm-a']);
    expect(await ids(rule('$identifier', '!=', 'vm-a'))).toEqual(['db-c', 'db-d', 'vm-b']);
    expect(await ids(rule('$identifier', 'in', ['vm-b', 'db-c', 'zz']))).toEqual(['db-c', 'vm-b']);
    expect(await ids(rule('$identifier', 'notIn', ['vm-b']))).toEqual(['db-c', 'db-d', 'vm-a']);
    expect(await ids(rule('name', 'contains', 'amm'))).toEqual(['db-c']);
    expect(await ids(rule('$identifier', 'beginsWith', 'vm-'))).toEqual(['vm-a', 'vm-b']);
    expect(await ids(rule('name', 'isEmpty'))).toEqual(['db-d']);
    expect(await ids(rule('size', 'isNotEmpty'))).toEqual(['db-c', 'vm-a', 'vm-b']);
    expect(await ids(rule('size', '>', 4))).toEqual(['db-c', 'vm-b']);
    expect(await ids(rule('$updatedAt', '<', '2026-02-15T00:00:00Z'))).toEqual(['vm-a', 'vm-b']);
    expect(
      await ids({
        combinator: 'or',
        rules: [
          { property: '$identifier', operator: '=', value: 'db-d' },
          { combinator: 'and', rules: [{ property: '$identifier', operator: 'beginsWith', value: 'vm-' }, { property: 'size', operator: '>', value: 2 }] },
        ],
      }),
    ).toEqual(['db-d', 'vm-b']);
  });

  it('projects include fields and drops exclude fields', async () => {
    const r = await search({ include: ['$identifier', '$title', 'properties.size', '$updatedAt'], query: rule('$identifier', '=', 'vm-b') });
    expect(r.body.entities).toEqual([{ identifier: 'vm-b', title: 'B', properties: { size: 5 }, updatedAt: '2026-02-01T00:00:00.000Z' }]);
    const full = await search({ query: rule('$identifier', '=', 'vm-a') });
    expect(full.body.entities).toEqual([expect.objectContaining({ identifier: 'vm-a', blueprint: 'testResource', createdAt: expect.any(String), createdBy: 'seed' })]);
    const trimmed = await search({ exclude: ['properties.tags', 'name', '$createdBy'], query: rule('$identifier', '=', 'vm-a') });
    const entity = (trimmed.body.entities as Record<string, unknown>[])[0]!;
    expect(entity.properties).toEqual({ size: 1 });
    expect(entity).not.toHaveProperty('createdBy');
    expect(entity).toMatchObject({ identifier: 'vm-a', title: 'A' });
    expect(emu.entity('testResource', 'vm-a')!.properties).toEqual({ name: 'alpha', size: 1, tags: { env: 'prod' } });
    expect((await search({ exclude: 'name' })).status).toBe(422);
  });

  it('pages in a stable order with an opaque next, none on the last page, and limit ≤ 1000', async () => {
    const first = await search({ limit: 3 });
    expect((first.body.entities as { identifier: string }[]).map((e) => e.identifier)).toEqual(['db-c', 'db-d', 'vm-a']);
    expect(first.body.next).toEqual(expect.any(String));
    expect(first.body.next).not.toContain('vm-a');
    const second = await search({ limit: 3, from: first.body.next });
    expect((second.body.entities as { identifier: string }[]).map((e) => e.identifier)).toEqual(['vm-b']);
    expect(second.body).not.toHaveProperty('next');
    const exact = await search({ limit: 4 });
    expect(exact.body).not.toHaveProperty('next');
    expect((await search({ limit: 1001 })).status).toBe(422);
    expect((await search({ from: 'garbage' })).status).toBe(422);
    expect((await search({ query: rule('size', 'fuzzy', 1) })).status).toBe(422);
  });

  it('pages through 100,000 entities quickly (O(page) after one sort)', async () => {
    emu.seed('testResource', entities(100_000, 'bulk'));
    const started = Date.now();
    let from: unknown;
    let total = 0;
    let pages = 0;
    do {
      const r = await search({ limit: 1000, include: ['$identifier'], ...(from ? { from } : {}) });
      total += (r.body.entities as unknown[]).length;
      from = r.body.next;
      pages++;
    } while (from);
    expect(total).toBe(100_004);
    expect(pages).toBe(101);
    expect(Date.now() - started).toBeLessThan(10_000);
    emu.clearRequests();
  });
});

describe('blueprints', () => {
  it('creates (201), reads, patches, replaces and deletes; relation targets must exist', async () => {
    const created = await api('POST', '/v1/blueprints', { identifier: 'svc', title: 'Service', schema: { properties: { a: { type: 'string' } }, required: [] } });
    expect(created.status).toBe(201);
    expect((await api('POST', '/v1/blueprints', { identifier: 'svc', title: 'Again', schema: { properties: {} } })).status).toBe(409);
    const badRelation = await api('PATCH', '/v1/blueprints/svc', { relations: { owner: { target: 'nobody', required: false, many: false } } });
    expect(badRelation.status).toBe(404);
    const patched = await api('PATCH', '/v1/blueprints/svc', { relations: { group: { target: 'testGroup', required: false, many: true } } });
    expect(patched.status).toBe(200);
    expect(emu.blueprint('svc')!.schema.properties).toEqual({ a: { type: 'string' } });
    expect(emu.blueprint('svc')!.relations.group).toMatchObject({ target: 'testGroup', many: true });
    const put = await api('PUT', '/v1/blueprints/svc', { title: 'Service v2', schema: { properties: {}, required: [] } });
    expect(put.status).toBe(200);
    expect(emu.blueprint('svc')).toMatchObject({ title: 'Service v2', relations: {} });
    const list = await api('GET', '/v1/blueprints');
    expect((list.body.blueprints as { identifier: string }[]).map((b) => b.identifier).sort()).toEqual(['svc', 'testGroup', 'testResource']);
    expect((await api('DELETE', '/v1/blueprints/svc')).status).toBe(200);
    expect((await api('GET', '/v1/blueprints/svc')).status).toBe(404);
  });

  it('deletes all entities of a blueprint through a migration', async () => {
    emu.seed('testResource', entities(5));
    const r = await api('DELETE', '/v1/blueprints/testResource/all-entities');
    expect(r.body).toMatchObject({ ok: true, migrationId: expect.any(String) });
    const m = await api('GET', `/v1/migrations/${r.body.migrationId as string}`);
    expect(m.body).toMatchObject({ ok: true, migration: { status: 'COMPLETE' } });
    expect(emu.entities('testResource')).toHaveLength(0);
  });
});

describe('faults and counters', () => {
  it('injects statuses per route, seeded 5xx rates and dropped connections; counts by kind', async () => {
    emu.resetCounts();
    emu.setFaults({ next: [{ status: 500, count: 2, route: /^POST .*\/entities\/search$/ }] });
    expect((await search({})).status).toBe(500);
    expect((await api('GET', '/v1/blueprints')).status).toBe(200);
    expect((await search({})).status).toBe(500);
    expect((await search({})).status).toBe(200);

    emu.setFaults({ serverErrorRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await api('GET', '/v1/blueprints')).status);
    const failures = statuses.filter((s) => s === 503).length;
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);

    emu.setFaults({ next: [{ drop: true }] });
    await expect(api('GET', '/v1/blueprints')).rejects.toThrow();
    emu.clearFaults();
    expect((await api('GET', '/v1/blueprints')).status).toBe(200);
    await bulk('testResource', entities(2));
    await api('DELETE', '/v1/blueprints/testResource/entities/e-00000?delete_dependents=false');
    expect(emu.counts()).toEqual({ token: 0, search: 3, bulkUpsert: 1, delete: 1, other: 43, total: 48 });
  });

  it('serves control routes under /_emulator only', async () => {
    await bulk('testResource', entities(2));
    const listed = await fetch(`${emu.url}/_emulator/entities/testResource`).then((r) => r.json() as Promise<{ entities: unknown[] }>);
    expect(listed.entities).toHaveLength(2);
    await fetch(`${emu.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ next: [{ status: 502, route: '/v1/blueprints' }] }) });
    expect((await api('GET', '/v1/blueprints')).status).toBe(502);
    const recorded = await fetch(`${emu.url}/_emulator/requests`).then((r) => r.json() as Promise<{ requests: { path: string }[] }>);
    expect(recorded.requests.every((r) => r.path.startsWith('/v1/'))).toBe(true);
    await fetch(`${emu.url}/_emulator/reset`, { method: 'POST' });
    expect(emu.entities('testResource')).toHaveLength(0);
    expect(emu.blueprint('testResource')).toBeUndefined();
  });
});

describe('standalone CLI', () => {
  it('starts on the given port with the given credentials, prints its URL, and stops on SIGINT', async () => {
    const main = fileURLToPath(new URL('../emulators/port/main.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const child = spawn(tsx, [main, '--port', '0', '--client-id', 'cli-id', '--client-secret', 'cli-secret', '--rate-limit', '7'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`emulator exited early (${code})`)));
        setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
      });
      const res = await fetch(`${url}/v1/auth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: 'cli-id', clientSecret: 'cli-secret' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('7');
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
