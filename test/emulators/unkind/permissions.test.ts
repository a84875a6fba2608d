/**
 * Partial permissions (test/emulators/README.md, "Permissions"): a subscription that lost Reader is silently left
 * out of multi-subscription queries (403 only when no requested subscription is readable); Reader on one resource
 * group shows that group and its resources only. Switchable per subscription at run time.
 */
import { describe, expect, it } from 'vitest';
import type { ArgRow, ChangeRow } from '../../../shared/azure/types.js';
import { PermanentError } from '../../../shared/errors.js';
import { generateEstate } from '../../fixtures/estate.js';
import { T0, collect, control, emulator, norm, reader } from './support.js';

const estate = generateEstate({ subscriptions: 2, resourceGroups: 4, resources: 24, seed: 17 });
const [A, B] = estate.subscriptions.map((s) => String(s.subscriptionId).toLowerCase()) as [string, string];
const both = { subscriptionIds: [A, B] };
const ofSub = (rows: { id: string }[], sub: string) => rows.filter((r) => r.id.toLowerCase().startsWith(`/subscriptions/${sub}/`));
const groupsOfB = estate.resourceGroups.filter((g) => String(g.subscriptionId).toLowerCase() === B);
const keptGroup = groupsOfB[0]!;
const keptName = String(keptGroup.name);
const inGroup = (id: string, group: ArgRow) => norm(id).startsWith(`${norm(group.id)}/`);

describe('partial permissions', () => {
  it('a revoked subscription is silently left out of a query that names a readable one too; alone it is a 403', async () => {
    const emu = await emulator({ estate });
    const r = reader(emu);
    expect(ofSub(await collect<ArgRow>(r.listResources(both)), B).length).toBeGreaterThan(0);

    const revoked = await control(emu, 'POST', 'permissions', { revoke: [B.toUpperCase()] });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ default: 'all', subscriptions: { [B]: 'none' } });
    const rows = await collect<ArgRow>(r.listResources(both));
    expect(ofSub(rows, B)).toEqual([]);
    expect(ofSub(rows, A).length).toBe(ofSub(estate.resources, A).length);
    const someB = ofSub(estate.resources, B)[0]!.id;
    const someA = ofSub(estate.resources, A)[0]!.id;
    expect([...(await r.lookupByIds([someA, someB], both)).keys()]).toEqual([norm(someA)]);
    await expect(r.lookupByIds([someB], { subscriptionIds: [B] })).rejects.toSatisfy((e) => e instanceof PermanentError && e.status === 403);

    await control(emu, 'POST', 'permissions', { grant: [B] });
    expect(ofSub(await collect<ArgRow>(r.listResources(both)), B).length).toBe(ofSub(estate.resources, B).length);
  });

  it('Reader on one resource group: that group and its resources only, not the subscription row or other groups', async () => {
    const emu = await emulator({ estate, resourceGroupReaders: { [B]: [keptName.toUpperCase()] } });
    const r = reader(emu);
    const subs = await collect<ArgRow>(r.listSubscriptions(both));
    expect(subs.map((s) => String(s.subscriptionId).toLowerCase())).toEqual([A]);
    const groups = ofSub(await collect<ArgRow>(r.listResourceGroups(both)), B);
    expect(groups.map((g) => norm(g.id))).toEqual([norm(keptGroup.id)]);
    const resources = ofSub(await collect<ArgRow>(r.listResources({ subscriptionIds: [B] })), B);
    const expected = ofSub(estate.resources, B).filter((x) => inGroup(x.id, keptGroup));
    expect(resources.map((x) => norm(x.id)).sort()).toEqual(expected.map((x) => norm(x.id)).sort());
    const hidden = ofSub(estate.resources, B).find((x) => !inGroup(x.id, keptGroup))!;
    expect((await r.lookupByIds([hidden.id, expected[0]!.id], both)).size).toBe(1);
    // resolveScope counts the subscription as readable (its own row is hidden, but the query is not refused).
    expect(emu.permissions()).toEqual({ default: 'all', subscriptions: { [B]: { resourceGroups: [keptName.toLowerCase()] } } });
  });

  it('change records follow the same permissions', async () => {
    const emu = await emulator({ estate });
    const hidden = groupsOfB.find((g) => g !== keptGroup)!;
    emu.upsertResource({ id: `${keptGroup.id}/providers/Microsoft.Web/sites/seen` });
    emu.upsertResource({ id: `${hidden.id}/providers/Microsoft.Web/sites/unseen` });
    emu.grantResourceGroups(B, [keptName]);
    const window = { since: new Date(T0.getTime() - 1), until: new Date(T0.getTime() + 1) };
    const changes = await collect<ChangeRow>(reader(emu).listChanges(both, window));
    expect(changes.map((c) => c.targetResourceId)).toEqual([`${keptGroup.id}/providers/Microsoft.Web/sites/seen`]);
  });

  it('refuses malformed permission bodies, naming the field', async () => {
    const emu = await emulator({ estate });
    const bad = await control(emu, 'POST', 'permissions', { resourceGroupReaders: { [B]: [] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/resourceGroupReaders\..* must be a non-empty array/);
    expect((await control(emu, 'POST', 'permissions', { revoke: 'all' })).body.error?.message).toMatch(/revoke must be an array/);
    expect((await control(emu, 'GET', 'permissions')).body).toEqual({ default: 'all', subscriptions: {} });
    expect((await control(emu, 'POST', 'permissions', { readable: [A] })).body).toEqual({ default: 'none', subscriptions: { [A]: 'all' } });
  });
});
