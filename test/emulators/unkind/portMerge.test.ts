/**
 * Port's merge semantics and plain creates (test/emulators/README.md, "Port emulator: merge and plain creates"):
 * - `merge=true` updates only the properties provided, each replaced AS A WHOLE (an object-valued property such as
 *   `tags` or `sku` is not merged key by key) — the default;
 * - `mergeDepth: 'deep'` switches to a Port that merges objects key by key, recursively;
 * - a plain create (no query parameters) of an existing identifier answers 409, as Port documents.
 */
import { describe, expect, it } from 'vitest';
import { createPortContract } from '../../contract/portContract.js';
import { seedTestBlueprints } from '../../port/harness.js';
import { startPortEmulator, type PortEmulator } from '../port/server.js';
import { closeAfter } from './support.js';

async function started(options: Parameters<typeof startPortEmulator>[0] = {}) {
  const emu = closeAfter(await startPortEmulator(options));
  seedTestBlueprints(emu);
  const token = (
    (await (
      await fetch(`${emu.url}/v1/auth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: emu.clientId, clientSecret: emu.clientSecret }),
      })
    ).json()) as { accessToken: string }
  ).accessToken;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(emu.url + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { emu, api };
}

const upsert = (id: string, properties: Record<string, unknown>) => ({ entities: [{ identifier: id, properties, relations: {} }] });
const tagsOf = (emu: PortEmulator, id: string) => emu.entity('testResource', id)?.properties?.['tags'];

describe('Port merge depth', () => {
  it('merge=true replaces an object-valued property as a whole by default (a removed tag key goes)', async () => {
    const { emu, api } = await started();
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { name: 'n', tags: { a: '1', b: '2' } }));
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: { a: '1' } }));
    expect(emu.entity('testResource', 'e')?.properties).toEqual({ name: 'n', tags: { a: '1' } });
    expect(emu.mergeDepth()).toBe('top-level');
  });

  it('a deep-merging Port keeps keys the write left out, key by key and recursively (bulk, single and PATCH)', async () => {
    const { emu, api } = await started({ mergeDepth: 'deep' });
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: { a: '1', b: '2' } }));
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: { a: '9' } }));
    expect(tagsOf(emu, 'e')).toEqual({ a: '9', b: '2' });
    await api('POST', '/v1/blueprints/testResource/entities?upsert=true&merge=true', { identifier: 'e', properties: { tags: { c: { d: 1 } } } });
    await api('PATCH', '/v1/blueprints/testResource/entities/e', { properties: { tags: { c: { e: 2 } } } });
    expect(tagsOf(emu, 'e')).toEqual({ a: '9', b: '2', c: { d: 1, e: 2 } });
    // null still clears the property; a replace (no merge) still replaces.
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: null }));
    expect(tagsOf(emu, 'e')).toBeNull();
  });

  it('is switched at run time over HTTP; a bad depth is refused', async () => {
    const { emu, api } = await started();
    const set = await fetch(`${emu.url}/_emulator/merge`, { method: 'POST', body: JSON.stringify({ depth: 'deep' }) });
    expect(await set.json()).toEqual({ ok: true, depth: 'deep' });
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: { a: '1' } }));
    await api('POST', '/v1/blueprints/testResource/entities/bulk?upsert=true&merge=true', upsert('e', { tags: { b: '2' } }));
    expect(tagsOf(emu, 'e')).toEqual({ a: '1', b: '2' });
    const bad = await fetch(`${emu.url}/_emulator/merge`, { method: 'POST', body: JSON.stringify({ depth: 'sideways' }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/mergeDepth must be "top-level" or "deep"/);
    expect(await (await fetch(`${emu.url}/_emulator/merge`)).json()).toEqual({ ok: true, depth: 'deep' });
  });
});

describe('plain create', () => {
  it('no query parameters: 201, then 409 for the same identifier; both exchanges match the documented contract', async () => {
    const { emu, api } = await started();
    const first = await api('POST', '/v1/blueprints/testResource/entities', { identifier: 'p', properties: { name: 'one' } });
    expect(first.status).toBe(201);
    const again = await api('POST', '/v1/blueprints/testResource/entities', { identifier: 'p', properties: { name: 'two' } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ ok: false, error: 'identifier_taken', message: expect.stringContaining('"p"') });
    expect(emu.entity('testResource', 'p')?.properties).toEqual({ name: 'one' });
    const contract = createPortContract();
    const creates = emu.requests.filter((r) => r.method === 'POST' && r.decodedPath === '/v1/blueprints/testResource/entities');
    expect(creates.map((r) => r.status)).toEqual([201, 409]);
    for (const exchange of creates) expect(contract.validateExchange(exchange)).toEqual([]);
    // The bulk route still requires upsert (the spec and Port's clients agree there).
    expect((await api('POST', '/v1/blueprints/testResource/entities/bulk', upsert('q', {}))).status).toBe(422);
  });
});
