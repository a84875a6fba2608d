/**
 * What applyLostSubscriptions (shared/sync/reconcile/lostSubscriptions.ts) writes and removes: lost subscriptions
 * still within LOST_SUBSCRIPTION_RETENTION get `notVisibleSince` on their entity (only an entity that exists),
 * expired ones lose their resources, groups and the subscription entity, in that order. Port is an in-memory
 * stand-in answering the two searches the code makes (by identifier, and by identifier prefix); the writer is the
 * dry-run plan writer, so every decision is read back exactly.
 */
import { describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS as BP } from '../../shared/port/blueprints.js';
import type { PortApi, StoredEntity } from '../../shared/port/types.js';
import { createDefaultMapping } from '../../shared/sync/converge/mapping.js';
import { PlanCatalogWriter } from '../../shared/sync/converge/planWriter.js';
import type { SyncContext } from '../../shared/sync/reconcile/context.js';
import { applyLostSubscriptions } from '../../shared/sync/reconcile/lostSubscriptions.js';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const subId = (s: string) => toPortIdentifier(`/subscriptions/${s}`);
const rgId = (s: string, g: string) => toPortIdentifier(`/subscriptions/${s}/resourceGroups/${g}`);
const resId = (s: string, g: string, n: string) => toPortIdentifier(`/subscriptions/${s}/resourceGroups/${g}/providers/Microsoft.Web/sites/${n}`);

interface Search {
  blueprint: string;
  rule: { property: string; operator: string; value: unknown };
  abortSignal?: AbortSignal;
}

/** Port holding `entities` per blueprint; records every search. */
function port(entities: Record<string, string[]>) {
  const searches: Search[] = [];
  const api = {
    searchEntities(blueprint: string, options: { query: { rules: Search['rule'][] }; abortSignal?: AbortSignal }) {
      const rule = options.query.rules[0]!;
      searches.push({ blueprint, rule, ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}) });
      const all = entities[blueprint] ?? [];
      const match =
        rule.operator === 'in'
          ? all.filter((id) => (rule.value as string[]).includes(id))
          : all.filter((id) => id.toLowerCase().startsWith(String(rule.value).toLowerCase()));
      const page: StoredEntity[] = match.map((identifier) => ({ identifier, blueprint, properties: {}, relations: {} }) as StoredEntity);
      return (async function* () {
        yield page;
      })();
    },
  };
  return { api: api as unknown as PortApi, searches };
}

function context(p: PortApi, abortSignal?: AbortSignal) {
  const logs = memorySink();
  const writer = new PlanCatalogWriter();
  const ctx = {
    port: p,
    mapping: createDefaultMapping(BP, { includeResourceTypes: [], excludeResourceTypes: [] }),
    writer,
    logger: createLogger(logs, 'debug'),
    abortSignal,
  } as unknown as SyncContext;
  return { ctx, writer, logs };
}

const catalog = () => ({
  [BP.subscription]: [subId(A), subId(B)],
  [BP.resourceGroup]: [rgId(A, 'g1'), rgId(B, 'g2')],
  [BP.resource]: [resId(A, 'g1', 'x'), resId(A, 'g1', 'y'), resId(B, 'g2', 'z')],
});

describe('applyLostSubscriptions', () => {
  it('a lost subscription within the retention: its entity is flagged with notVisibleSince, nothing is removed', async () => {
    const { api } = port(catalog());
    const { ctx, writer } = context(api);
    const removed = await applyLostSubscriptions(ctx, { lost: { [A]: '2026-03-01T00:00:00.000Z' }, expired: [] });
    expect(removed).toBe(0);
    expect(writer.plan()).toEqual({ [BP.subscription]: { create: [], update: [{ identifier: subId(A), fields: [] }], delete: [] } });
    expect(writer.counts()).toMatchObject({ updated: 1, deleted: 0 });
  });

  it('the flag is a partial update of notVisibleSince alone', async () => {
    const { api } = port(catalog());
    const { ctx, writer } = context(api);
    const upserts: unknown[] = [];
    writer.upsert = async (...args: Parameters<typeof writer.upsert>) => {
      upserts.push(args);
    };
    await applyLostSubscriptions(ctx, { lost: { [A]: '2026-03-01T00:00:00.000Z' }, expired: [] });
    expect(upserts).toEqual([
      [BP.subscription, { identifier: subId(A), properties: { notVisibleSince: '2026-03-01T00:00:00.000Z' }, relations: {} }, { kind: 'update', partial: true }],
    ]);
  });

  it('only subscription-level blueprints that have notVisibleSince are flagged', async () => {
    const { api } = port({ ...catalog(), other: [subId(A)] });
    const { ctx, writer } = context(api);
    const base = createDefaultMapping(BP, { includeResourceTypes: [], excludeResourceTypes: [] });
    const sub = base.blueprints.find((b) => b.level === 'subscription')!;
    const res = base.blueprints.find((b) => b.level === 'resource')!;
    // A resource-level blueprint with the property, and a subscription-level one without it.
    (ctx as { mapping: unknown }).mapping = {
      ...base,
      blueprints: [
        { level: 'resource', fields: { ...res.fields, blueprint: 'other', fields: [...res.fields.fields, 'properties.notVisibleSince'] } },
        { level: 'subscription', fields: { ...sub.fields, fields: sub.fields.fields.filter((f) => f !== 'properties.notVisibleSince') } },
      ],
    };
    await applyLostSubscriptions(ctx, { lost: { [A]: '2026-03-01T00:00:00.000Z' }, expired: [] });
    expect(writer.plan()).toEqual({});
  });

  it('a lost subscription with no entity in Port is not created by the flag', async () => {
    const { api } = port({ [BP.subscription]: [subId(B)] });
    const { ctx, writer } = context(api);
    await applyLostSubscriptions(ctx, { lost: { [A]: '2026-03-01T00:00:00.000Z' }, expired: [] });
    expect(writer.plan()).toEqual({});
  });

  it('an expired subscription loses its resources, then its groups, then itself; others are untouched', async () => {
    const { api } = port(catalog());
    const { ctx, writer, logs } = context(api);
    const deleted: string[] = [];
    const original = writer.delete.bind(writer);
    writer.delete = async (blueprint: string, identifiers: string[]) => {
      deleted.push(`${blueprint}:${identifiers.join(',')}`);
      return original(blueprint, identifiers);
    };
    const removed = await applyLostSubscriptions(ctx, { lost: { [A]: '2026-01-01T00:00:00.000Z' }, expired: [A] });
    expect(removed).toBe(4);
    expect(deleted).toEqual([`${BP.resource}:${resId(A, 'g1', 'x')},${resId(A, 'g1', 'y')}`, `${BP.resourceGroup}:${rgId(A, 'g1')}`, `${BP.subscription}:${subId(A)}`]);
    // An expired subscription is not flagged first.
    expect(writer.plan()[BP.subscription]!.update).toEqual([]);
    expect(logs.records.filter((r) => r.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: 'removed the entities of a subscription Resource Graph has not shown for longer than LOST_SUBSCRIPTION_RETENTION',
        fields: { subscriptionId: A },
      },
    ]);
  });

  it('an expired subscription without its own entity: the children still go, no delete of a missing entity', async () => {
    const { api } = port({ [BP.resource]: [resId(A, 'g1', 'x')], [BP.subscription]: [subId(B)] });
    const { ctx, writer } = context(api);
    expect(await applyLostSubscriptions(ctx, { lost: { [A]: '2026-01-01T00:00:00.000Z' }, expired: [A] })).toBe(1);
    expect(writer.plan()).toEqual({ [BP.resource]: { create: [], update: [], delete: [resId(A, 'g1', 'x')] } });
  });

  it('flags some and removes others in one call; passes the run\'s abort signal to every Port read', async () => {
    const { api, searches } = port(catalog());
    const signal = new AbortController().signal;
    const { ctx, writer } = context(api, signal);
    const removed = await applyLostSubscriptions(ctx, { lost: { [A]: '2026-01-01T00:00:00.000Z', [B]: '2026-03-01T00:00:00.000Z' }, expired: [A] });
    expect(removed).toBe(4);
    expect(writer.plan()[BP.subscription]).toEqual({ create: [], update: [{ identifier: subId(B), fields: [] }], delete: [subId(A)] });
    expect(searches.length).toBeGreaterThan(0);
    expect(searches.every((s) => s.abortSignal === signal)).toBe(true);
    const { api: api2, searches: plain } = port(catalog());
    await applyLostSubscriptions(context(api2).ctx, { lost: { [A]: '2026-01-01T00:00:00.000Z' }, expired: [A] });
    expect(plain.every((s) => s.abortSignal === undefined)).toBe(true);
  });

  it('searches children by the subscription\'s identifier prefix', async () => {
    const { api, searches } = port(catalog());
    await applyLostSubscriptions(context(api).ctx, { lost: {}, expired: [A] });
    expect(searches.filter((s) => s.rule.operator === 'beginsWith').map((s) => [s.blueprint, s.rule.value])).toEqual([
      [BP.resource, `${subId(A)}/`],
      [BP.resourceGroup, `${subId(A)}/`],
    ]);
  });
});
