/**
 * Paging over a changing estate (test/emulators/README.md, "Paging"): with `offset` paging, rows deleted or
 * inserted before the offset between two pages make the real reader miss or repeat rows, as Microsoft documents
 * for `$skipToken` paging over a changing result. Keyset paging (the default) stays stable under the same churn.
 */
import { describe, expect, it } from 'vitest';
import type { ArgRow } from '../../../shared/azure/types.js';
import { generateEstate } from '../../fixtures/estate.js';
import type { ChurnRule, PageInfo, ResourceGraphEmulator } from '../resourceGraph/server.js';
import { collect, control, emulator, norm, reader } from './support.js';

const estate = generateEstate({ subscriptions: 1, resourceGroups: 2, resources: 12, seed: 21 });
const scope = { subscriptionIds: [String(estate.subscriptions[0]!.subscriptionId)] };
const sorted = estate.resources.map((r) => r.id).sort((a, b) => (norm(a) < norm(b) ? -1 : 1));
const groupOf = (id: string) => id.split('/').slice(0, 5).join('/');
/** Sorts before every seeded resource: same group as the first one, provider namespace "a.a" < "microsoft.*". */
const early = `${groupOf(sorted[0]!)}/providers/a.a/b/000`;

async function listing(emu: ResourceGraphEmulator): Promise<string[]> {
  return (await collect<ArgRow>(reader(emu).listResources(scope))).map((r) => norm(r.id));
}

const deleteFirstAfterPage1: ChurnRule = { afterPage: 1, table: 'resources', changes: [{ op: 'deleteResource', id: sorted[0]! }] };
const insertEarlyAfterPage1: ChurnRule = { afterPage: 1, table: 'resources', changes: [{ op: 'upsertResource', row: { id: early } }] };

describe('offset paging over a changing estate', () => {
  it('a row deleted before the offset between pages makes the next page skip a live row', async () => {
    const emu = await emulator({ estate, paging: { mode: 'offset', maxRowsPerPage: 4, churn: [deleteFirstAfterPage1] } });
    const seen = await listing(emu);
    const live = emu.estate().resources.map((r) => norm(r.id));
    // sorted[4] moved into page 1's range after page 1 was served: nobody ever returns it, yet it exists.
    expect(live).toContain(norm(sorted[4]!));
    expect(seen).not.toContain(norm(sorted[4]!));
    expect(seen).toHaveLength(11);
    expect(emu.paging().pendingChurn).toEqual([]);
  });

  it('a row inserted before the offset between pages makes the next page repeat a row', async () => {
    const emu = await emulator({ estate, paging: { mode: 'offset', maxRowsPerPage: 4, churn: [insertEarlyAfterPage1] } });
    const seen = await listing(emu);
    expect(seen.filter((id) => id === norm(sorted[3]!))).toHaveLength(2);
    expect(new Set(seen).size).toBe(12);
  });

  it('keyset paging (the default) neither skips nor repeats under the same churn', async () => {
    const emu = await emulator({ estate, paging: { maxRowsPerPage: 4, churn: [deleteFirstAfterPage1, insertEarlyAfterPage1] } });
    const seen = await listing(emu);
    expect(new Set(seen).size).toBe(seen.length);
    // sorted[0] was served on page 1 before it went; the early insert lands behind the cursor: neither changes the rest.
    expect(seen.sort()).toEqual(sorted.map(norm).sort());
  });

  it('is switched at run time over HTTP, with churn rules, and refuses bad bodies naming the problem', async () => {
    const emu = await emulator({ estate });
    const set = await control(emu, 'POST', 'paging', { mode: 'offset', maxRowsPerPage: 4, churn: [deleteFirstAfterPage1] });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ mode: 'offset', maxRowsPerPage: 4, pendingChurn: [deleteFirstAfterPage1] });
    expect((await control(emu, 'GET', 'paging')).body).toMatchObject({ mode: 'offset' });
    expect(await listing(emu)).not.toContain(norm(sorted[4]!));

    const bad = await control(emu, 'POST', 'paging', { mode: 'sideways' });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/paging mode must be "keyset" or "offset"/);
    const badChurn = await control(emu, 'POST', 'paging', { churn: [{ afterPage: 1, changes: [{ op: 'explode' }] }] });
    expect(badChurn.status).toBe(400);
    expect(badChurn.body.error?.message).toMatch(/churn\[0\]\.changes\[0\]: unknown change "explode"/);
    // Back to the faithful mode.
    expect((await control(emu, 'POST', 'paging', { mode: 'keyset', maxRowsPerPage: null })).body).toMatchObject({ mode: 'keyset', maxRowsPerPage: null });
  });

  it('seeded churn per page repeats exactly for the same seed, and the listing is not the estate', async () => {
    const run = async () => {
      const emu = await emulator({ estate, paging: { mode: 'offset', maxRowsPerPage: 3, churnPerPage: { inserts: 1, deletes: 1, seed: 5 } } });
      const seen = await listing(emu);
      return { seen, truth: emu.estate().resources.map((r) => norm(r.id)) };
    };
    const [a, b] = [await run(), await run()];
    expect(a.seen).toEqual(b.seen);
    expect(a.truth).toEqual(b.truth);
    // Something live was missed, or something was returned twice.
    const missed = a.truth.filter((id) => !a.seen.includes(id));
    const repeated = a.seen.length - new Set(a.seen).size;
    expect(missed.length + repeated).toBeGreaterThan(0);
  });

  it('the page hook is awaited before each page, so a test can act at an exact point of a listing', async () => {
    const emu = await emulator({ estate, paging: { maxRowsPerPage: 4 } });
    const calls: PageInfo[] = [];
    emu.setPageHook(async (page) => {
      calls.push(page);
      if (page.table === 'resources' && page.page === 3) {
        await new Promise((r) => setTimeout(r, 20));
        emu.deleteResource(sorted[11]!);
      }
    });
    const seen = await listing(emu);
    expect(calls.filter((c) => c.table === 'resources').map((c) => c.page)).toEqual([1, 2, 3]);
    expect(seen).toHaveLength(11);
    expect(seen).not.toContain(norm(sorted[11]!));
  });
});
