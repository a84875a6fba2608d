/**
 * The core's graphQuery lookups without emulators: an id the user query does not return is that entry's entity to
 * delete only with a witness in the same single-page read; otherwise (no witness, a paged read, two rows for one id)
 * the id is unmappable for the pass, so nothing of it is written or deleted.
 */
import { describe, expect, it } from 'vitest';
import type { ArgRow, Observation, ResourceGraphApi } from '../../shared/azure/types.js';
import { graphQueryContributions, withGraphQueryRows } from '../../shared/sync/converge/graphQueryRows.js';
import type { EntityMapping } from '../../shared/sync/converge/mapping.js';

const SUB = '/subscriptions/11111111-1111-4111-8111-111111111111';
const RG = `${SUB}/resourcegroups/rg`;
const A = `${RG}/providers/microsoft.storage/storageaccounts/a`;
const B = `${RG}/providers/microsoft.storage/storageaccounts/b`;

const mapping: EntityMapping = {
  blueprints: [],
  mapRow: () => ({ entities: [], unselected: [] }),
  refsOfId: () => [],
  graphQueries: [{ entry: 3, level: 'resource', query: 'resources' }],
  mapGraphQueryRows: (_entry, rows) => rows.map((r) => ({ entities: [{ blueprint: 'bp', level: 'resource', entity: { identifier: String(r.id), properties: {}, relations: {} } }], unselected: [] })),
  refsOfIdForEntry: (_entry, id) => [{ blueprint: 'bp', level: 'resource', identifier: id }],
};

function graph(rows: ArgRow[], singlePage = true): ResourceGraphApi & { calls: { ids: readonly string[]; witnesses: readonly string[] }[] } {
  const calls: { ids: readonly string[]; witnesses: readonly string[] }[] = [];
  return {
    calls,
    lookupUserQuery: async (_q: string, ids: readonly string[], witnesses: readonly string[]) => {
      calls.push({ ids, witnesses });
      return { rows, singlePage };
    },
  } as unknown as ResourceGraphApi & { calls: typeof calls };
}

const present = (...ids: string[]) => new Map<string, Observation>(ids.map((id) => [id, { state: 'present', row: { id } }]));

describe('graphQuery lookups in the convergence core', () => {
  it('maps returned rows; an id not returned with its subscription witnessed is unselected (deleted)', async () => {
    const g = graph([{ id: A.toUpperCase() }, { id: SUB }]);
    const out = await graphQueryContributions(g, mapping, present(A, B), {});
    expect(g.calls).toEqual([{ ids: [A, B], witnesses: [SUB, RG] }]);
    expect(out!.get(A)).toMatchObject({ entities: [{ blueprint: 'bp' }], unselected: [], errors: [] });
    expect(out!.get(B)).toMatchObject({ entities: [], unselected: [{ blueprint: 'bp', identifier: B }], errors: [] });
    const merged = withGraphQueryRows(mapping, out).mapRow({ id: B });
    expect(merged).toEqual({ entities: [], unselected: [{ blueprint: 'bp', level: 'resource', identifier: B }] });
  });

  it('no witness in the same read: not proof, the id is unmappable (nothing deleted)', async () => {
    const out = await graphQueryContributions(graph([{ id: A }]), mapping, present(A, B), {});
    expect(out!.get(B)!.unselected).toEqual([]);
    expect(withGraphQueryRows(mapping, out).mapRow({ id: B }).error).toMatch(/resources\[3\]\.selector\.graphQuery: did not return this id, and neither its subscription nor its resource group answered/);
  });

  it('a read that paged proves nothing; two rows for one id are refused', async () => {
    const paged = await graphQueryContributions(graph([{ id: SUB }], false), mapping, present(B), {});
    expect(withGraphQueryRows(mapping, paged).mapRow({ id: B }).error).toMatch(/paged/);
    const twice = await graphQueryContributions(graph([{ id: A }, { id: A }, { id: SUB }]), mapping, present(A), {});
    expect(withGraphQueryRows(mapping, twice).mapRow({ id: A }).error).toMatch(/returned 2 rows for this id/);
  });

  it('absent and unknown ids are not looked up (absence is proven by observe; refsOfId names graphQuery entities)', async () => {
    const g = graph([]);
    const observations = new Map<string, Observation>([[A, { state: 'absent' }], [B, { state: 'unknown', cause: 'unreadable', reason: 'x' }]]);
    expect(await graphQueryContributions(g, mapping, observations, {})).toEqual(new Map());
    expect(g.calls).toEqual([]);
  });
});
