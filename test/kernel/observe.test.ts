/**
 * Proof of absence (shared/azure/observe.ts), read by read: which ids and witnesses each query names, how targets
 * are packed into one-page queries, what a paged read is followed by, and the exact reason every unknown carries.
 * test/converge/observe.test.ts covers the verdicts; these pin the reads that lead to them.
 */
import { describe, expect, it } from 'vitest';
import { observeIds, type ReadWhole } from '../../shared/azure/observe.js';
import type { ArgRow } from '../../shared/azure/types.js';
import { PermanentError, RetryableError } from '../../shared/errors.js';

const A = '00000000-0000-0000-0000-00000000000a';
const B = '00000000-0000-0000-0000-00000000000b';
const sub = (s: string) => `/subscriptions/${s}`;
const rg = (s: string, g: string) => `${sub(s)}/resourceGroups/${g}`;
const res = (s: string, g: string, n: string) => `${rg(s, g)}/providers/Microsoft.Web/sites/${n}`;
const lower = (id: string) => id.toLowerCase();

interface Read {
  /** Ids the resources leg names. */
  resources: string[];
  /** Ids the resourcecontainers leg names (targets that are containers, then witnesses). */
  containers: string[];
  subscriptions: string[];
}

/** The ids named by one `in~ (...)` list of a query leg. */
function namedIn(query: string, table: 'resources' | 'resourcecontainers'): string[] {
  const text = query.replace(/\n/g, ' ');
  const re = table === 'resources' ? /(?:^|\s)resources \| where id in~ \(([^)]*)\)/ : /resourcecontainers \| where id in~ \(([^)]*)\)/;
  const m = re.exec(text);
  return m ? [...m[1]!.matchAll(/'([^']*)'/g)].map((x) => x[1]!) : [];
}

/**
 * A scripted Resource Graph. `pageCap`: the service pages any result longer than this and hands back only its
 * first `pageCap` rows (as a real first page would).
 */
function world(options: { rows: string[]; readable?: (id: string) => boolean; pageCap?: number; singlePage?: boolean; fail?: (q: string) => Error | undefined }) {
  const reads: Read[] = [];
  const read: ReadWhole = async (query, subscriptions) => {
    reads.push({ resources: namedIn(query, 'resources'), containers: namedIn(query, 'resourcecontainers'), subscriptions: [...subscriptions] });
    const failure = options.fail?.(query);
    if (failure) throw failure;
    const named = new Set([...namedIn(query, 'resources'), ...namedIn(query, 'resourcecontainers')].map(lower));
    let rows: ArgRow[] = options.rows.filter((id) => named.has(lower(id)) && (options.readable ?? (() => true))(id)).map((id) => ({ id }));
    let singlePage = options.singlePage ?? true;
    if (options.pageCap !== undefined && rows.length > options.pageCap) {
      rows = rows.slice(0, options.pageCap);
      singlePage = false;
    }
    return { rows, singlePage };
  };
  return { read, reads };
}

const deps = (read: ReadWhole, maxRowsPerQuery?: number) => ({ read, filter: {}, maxConcurrency: 1, ...(maxRowsPerQuery ? { maxRowsPerQuery } : {}) });
const scope = { subscriptionIds: [A, B] };

describe('what each read names', () => {
  it('resources in the resources leg, containers and witnesses in the containers leg; the subscriptions of the read', async () => {
    const w = world({ rows: [sub(A), rg(A, 'g'), res(A, 'g', 'x')] });
    const result = await observeIds(deps(w.read), [res(A, 'g', 'x'), rg(A, 'g'), sub(A)], scope);
    // Sorted targets first (the subscription, then the group), then the witness of the others.
    expect(w.reads).toEqual([{ resources: [res(A, 'g', 'x')], containers: [sub(A), rg(A, 'g'), lower(sub(A))], subscriptions: [A] }]);
    expect([...result.values()].map((o) => o.state)).toEqual(['present', 'present', 'present']);
  });

  it('a subscription is never its own witness, nor listed twice', async () => {
    const w = world({ rows: [] });
    const result = await observeIds(deps(w.read), [sub(A)], scope);
    expect(w.reads).toEqual([{ resources: [], containers: [sub(A)], subscriptions: [A] }]);
    expect(result.get(lower(sub(A)))).toEqual({
      state: 'unknown',
      cause: 'unreadable',
      reason: `subscription ${A} did not answer in the same read (no Reader role, or it is gone)`,
    });
  });

  it('a resource group is proven absent by its subscription, and has no group witness of its own', async () => {
    const w = world({ rows: [sub(A)] });
    const result = await observeIds(deps(w.read), [rg(A, 'gone')], scope);
    expect(result.get(lower(rg(A, 'gone')))).toEqual({ state: 'absent' });
    const hidden = world({ rows: [rg(A, 'other')], readable: (id) => id !== sub(A) });
    const r2 = await observeIds(deps(hidden.read), [rg(A, 'gone')], scope);
    // No second read: a group is not proven by itself.
    expect(hidden.reads).toHaveLength(1);
    expect(r2.get(lower(rg(A, 'gone')))).toMatchObject({ state: 'unknown', cause: 'unreadable', reason: expect.stringMatching(/^subscription .* did not answer/) });
  });

  it('nothing to read: no query at all', async () => {
    const w = world({ rows: [] });
    const result = await observeIds(deps(w.read), [`${rg(A, 'g')}/providers/Microsoft.Resources/deployments/d`, res('c', 'g', 'x'), 'not an id'], scope);
    expect(w.reads).toEqual([]);
    expect([...result.values()]).toEqual([
      { state: 'unknown', cause: 'notTracked', reason: 'not a subscription, resource group or resource' },
      { state: 'unknown', cause: 'notTracked', reason: 'subscription c is not in the readable scope' },
      { state: 'unknown', cause: 'notTracked', reason: 'Not an Azure resource id (must start with /subscriptions/): "not an id"' },
    ]);
    expect([...result.keys()][2]).toBe('/not an id');
  });

  it('rows without a string id are ignored', async () => {
    const read: ReadWhole = async () => ({ rows: [{ id: 5 as unknown as string }, { id: sub(A) }], singlePage: true });
    const result = await observeIds(deps(read), [res(A, 'g', 'x')], scope);
    expect(result.get(lower(res(A, 'g', 'x')))).toEqual({ state: 'absent' });
  });
});

describe('packing into one-page queries (ids + witnesses ≤ maxRows)', () => {
  it('fills a query exactly to the limit, then starts the next with its own witness', async () => {
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5'].map((n) => res(A, 'g', n));
    const w = world({ rows: [sub(A)] });
    await observeIds(deps(w.read, 3), ids, scope);
    // Two ids + the subscription witness = 3 rows per query.
    expect(w.reads.map((r) => [r.resources.length, r.containers])).toEqual([
      [2, [sub(A).toLowerCase()]],
      [2, [sub(A).toLowerCase()]],
      [1, [sub(A).toLowerCase()]],
    ]);
  });

  it('targets are sorted first, so a subscription\'s ids share one witness', async () => {
    const ids = [res(B, 'g', 'b1'), res(A, 'g', 'a1'), res(B, 'g', 'b2'), res(A, 'g', 'a2')];
    const w = world({ rows: [sub(A), sub(B)] });
    const result = await observeIds(deps(w.read, 3), ids, scope);
    expect(w.reads).toEqual([
      { resources: [res(A, 'g', 'a1'), res(A, 'g', 'a2')], containers: [lower(sub(A))], subscriptions: [A] },
      { resources: [res(B, 'g', 'b1'), res(B, 'g', 'b2')], containers: [lower(sub(B))], subscriptions: [B] },
    ]);
    expect([...result.values()].every((o) => o.state === 'absent')).toBe(true);
  });

  it('a witness already in the query costs nothing more; a subscription target needs no witness of its own', async () => {
    // sub(A) itself (no witness), then two of its resources (one witness between them): 4 rows.
    const w = world({ rows: [sub(A)] });
    await observeIds(deps(w.read, 4), [sub(A), res(A, 'g', 'x'), res(A, 'g', 'y')], scope);
    expect(w.reads).toHaveLength(1);
    const three = world({ rows: [sub(A)] });
    await observeIds(deps(three.read, 3), [sub(A), res(A, 'g', 'x'), res(A, 'g', 'y')], scope);
    expect(three.reads.map((r) => [r.containers.length, r.resources.length])).toEqual([
      [2, 1],
      [1, 1],
    ]);
    const alone = world({ rows: [sub(A)] });
    await observeIds(deps(alone.read, 1), [sub(A)], scope);
    expect(alone.reads).toEqual([{ resources: [], containers: [sub(A)], subscriptions: [A] }]);
    const two = world({ rows: [sub(A)] });
    await observeIds(deps(two.read, 2), [res(A, 'g', 'x'), res(A, 'g', 'y')], scope);
    expect(two.reads.map((r) => r.resources.length)).toEqual([1, 1]);
  });

  it('a subscription target costs one row: two subscriptions fit a query of two', async () => {
    const w = world({ rows: [sub(A), sub(B)] });
    await observeIds(deps(w.read, 2), [sub(A), sub(B)], scope);
    expect(w.reads).toEqual([{ resources: [], containers: [sub(A), sub(B)], subscriptions: [A, B] }]);
    // ... and its id does not count again as a witness for the next target.
    const mixed = world({ rows: [sub(A), sub(B)] });
    await observeIds(deps(mixed.read, 3), [sub(A), res(B, 'g', 'x')], scope);
    expect(mixed.reads).toHaveLength(1);
  });

  it('a limit below one target and its witness still reads each target on its own (never an empty query)', async () => {
    const w = world({ rows: [sub(A)] });
    const result = await observeIds(deps(w.read, 1), [res(A, 'g', 'x'), res(A, 'g', 'y')], scope);
    expect(w.reads.map((r) => r.resources.length)).toEqual([1, 1]);
    expect([...result.values()]).toEqual([{ state: 'absent' }, { state: 'absent' }]);
  });

  it('group witnesses count toward the limit in the second read too', async () => {
    // Reader on the groups only: every id goes to the second read, each with its own group witness.
    const ids = [res(A, 'g1', 'x'), res(A, 'g2', 'y')];
    const w = world({ rows: [rg(A, 'g1'), rg(A, 'g2')], readable: (id) => id !== sub(A) });
    const result = await observeIds(deps(w.read, 2), ids, scope);
    const second = w.reads.filter((r) => r.containers.some((c) => c.includes('/resourcegroups/')));
    expect(second.map((r) => [r.resources.length, r.containers.length])).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expect(ids.map((id) => result.get(lower(id)))).toEqual([{ state: 'absent' }, { state: 'absent' }]);
  });

  it('the page size is never above 1000, whatever is asked', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => res(A, 'g', `n${i}`));
    const w = world({ rows: [sub(A)] });
    await observeIds(deps(w.read, 5000), ids, scope);
    expect(w.reads.map((r) => r.resources.length + r.containers.length)).toEqual([1000, 2]);
  });
});

describe('a read the service paged', () => {
  it('is read again in halves until each read fits one page; present rows are kept, absence proven', async () => {
    const ids = ['r1', 'r2', 'r3', 'r4'].map((n) => res(A, 'g', n));
    // r1..r3 exist; the service pages anything over 2 rows.
    const w = world({ rows: [...ids.slice(0, 3), sub(A)], pageCap: 2 });
    const result = await observeIds(deps(w.read), ids, scope);
    expect(w.reads.map((r) => r.resources.map((id) => id.split('/').pop()))).toEqual([
      ['r1', 'r2', 'r3', 'r4'],
      ['r3'],
      ['r4'],
    ]);
    expect(ids.map((id) => result.get(lower(id))?.state)).toEqual(['present', 'present', 'present', 'absent']);
  });

  it('splits what is missing into two halves, the larger first', async () => {
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((n) => res(A, 'g', n));
    const w = world({ rows: [...ids, sub(A)], pageCap: 1 });
    const result = await observeIds(deps(w.read), ids, scope);
    const names = w.reads.map((r) => r.resources.map((id) => id.split('/').pop()).join(','));
    expect(names.slice(0, 3)).toEqual(['r1,r2,r3,r4,r5,r6', 'r2,r3,r4', 'r5,r6']);
    expect(ids.every((id) => result.get(lower(id))?.state === 'present')).toBe(true);
  });

  it('one id whose read still pages is inconclusive, with the reason', async () => {
    const w = world({ rows: [sub(A)], singlePage: false });
    const result = await observeIds(deps(w.read), [res(A, 'g', 'x')], scope);
    expect(result.get(lower(res(A, 'g', 'x')))).toEqual({
      state: 'unknown',
      cause: 'inconclusive',
      reason: 'the by-id read paged or its row count changed, so a missing row proves nothing',
    });
    expect(w.reads).toHaveLength(1);
  });

  it('what the re-reads could not prove goes on to the group witnesses', async () => {
    const ids = ['r1', 'r2', 'r3'].map((n) => res(A, 'g', n));
    // Reader on group g only (the subscription row is hidden); r1 exists; the first read pages.
    const rows = [ids[0]!, rg(A, 'g'), sub(A), res(A, 'g', 'pad1'), res(A, 'g', 'pad2')];
    let first = true;
    const reads: Read[] = [];
    const read: ReadWhole = async (query, subscriptions) => {
      reads.push({ resources: namedIn(query, 'resources'), containers: namedIn(query, 'resourcecontainers'), subscriptions });
      const named = new Set([...namedIn(query, 'resources'), ...namedIn(query, 'resourcecontainers')].map(lower));
      const found = rows.filter((id) => id !== sub(A) && named.has(lower(id))).map((id) => ({ id }));
      const paged = first;
      first = false;
      return { rows: paged ? [] : found, singlePage: !paged };
    };
    const result = await observeIds(deps(read), ids, scope);
    expect(ids.map((id) => result.get(lower(id))?.state)).toEqual(['present', 'absent', 'absent']);
    // The last read names the group as witness.
    expect(reads.at(-1)!.containers).toEqual([lower(rg(A, 'g'))]);
  });
});

describe('reads that fail', () => {
  it('a 403 makes every id of that read unknown, with the service\'s message', async () => {
    const w = world({ rows: [], fail: () => new PermanentError('no access', { source: 'resource-graph', status: 403 }) });
    const result = await observeIds(deps(w.read), [res(A, 'g', 'x')], scope);
    expect(result.get(lower(res(A, 'g', 'x')))).toEqual({
      state: 'unknown',
      cause: 'unreadable',
      reason: 'Resource Graph refused every subscription of the read (no access)',
    });
  });

  it('any other failure is thrown (the run is incomplete, nothing is decided)', async () => {
    const other = world({ rows: [], fail: () => new PermanentError('bad request', { source: 'resource-graph', status: 400 }) });
    await expect(observeIds(deps(other.read), [res(A, 'g', 'x')], scope)).rejects.toThrow('bad request');
    const retryable = world({ rows: [], fail: () => new RetryableError('throttled', { source: 'resource-graph', status: 429 }) });
    await expect(observeIds(deps(retryable.read), [res(A, 'g', 'x')], scope)).rejects.toThrow('throttled');
    const plain = world({ rows: [], fail: () => Object.assign(new Error('socket'), { status: 403 }) });
    await expect(observeIds(deps(plain.read), [res(A, 'g', 'x')], scope)).rejects.toThrow('socket');
  });

  it('a resource whose subscription and group both stay silent: unreadable, naming both', async () => {
    const w = world({ rows: [], readable: () => false });
    const result = await observeIds(deps(w.read), [res(A, 'g', 'x')], scope);
    expect(result.get(lower(res(A, 'g', 'x')))).toEqual({
      state: 'unknown',
      cause: 'unreadable',
      reason: `neither subscription ${A} nor the resource group answered in the same read (no Reader role, or the group is gone)`,
    });
    expect(w.reads.map((r) => r.containers)).toEqual([[lower(sub(A))], [lower(rg(A, 'g'))]]);
  });
});
