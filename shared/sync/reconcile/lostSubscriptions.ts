/**
 * The lifecycle of a subscription Resource Graph no longer shows. It may be a lost Reader role (fixable), or a
 * cancelled subscription or one moved to another tenant (gone for good): from here the two look the same. So its
 * entities are kept and flagged (`notVisibleSince` on the subscription entity, `lostSubscriptions` on the state
 * entity) and removed only once LOST_SUBSCRIPTION_RETENTION has passed since it was first missed. A subscription
 * that shows up again is simply synced, which clears the flag.
 *
 * Only subscriptions this deployment is responsible for count: configured ones (AZURE_SUBSCRIPTION_IDS), and with
 * "every readable subscription" or management groups the ones a previous full sync synced (`knownSubscriptions`),
 * so another deployment's subscriptions sharing the blueprints are never touched.
 */
import { toPortIdentifier } from '../../azure/resourceId.js';
import { identifiersUnder, readStored } from '../converge/portState.js';
import type { SyncContext } from './context.js';

export interface LostSubscriptionInput {
  /** The state's map: subscription → first time it was missed (ISO-8601). */
  previous: Record<string, string> | undefined;
  /** Subscriptions this deployment is responsible for (configured, or synced by an earlier full sync). */
  responsible: readonly string[];
  /** Subscriptions Resource Graph shows now, with at least one row. */
  visible: ReadonlySet<string>;
  now: Date;
  retentionMs: number;
}

export interface LostSubscriptionDecision {
  /** Every missing subscription → since when (the expired ones included). */
  lost: Record<string, string>;
  /** Missing for longer than the retention: their entities go. */
  expired: string[];
}

/** Pure: which subscriptions are lost since when, and which have been lost too long. */
export function trackLostSubscriptions(input: LostSubscriptionInput): LostSubscriptionDecision {
  const lost: Record<string, string> = {};
  const expired: string[] = [];
  for (const subscription of [...new Set(input.responsible.map((s) => s.toLowerCase()))].sort()) {
    if (input.visible.has(subscription)) continue;
    const previous = input.previous?.[subscription];
    const since = previous && !Number.isNaN(Date.parse(previous)) ? previous : input.now.toISOString();
    lost[subscription] = since;
    if (input.now.getTime() - Date.parse(since) >= input.retentionMs) expired.push(subscription);
  }
  return { lost, expired };
}

/**
 * Flags the lost subscriptions' entities and removes the expired ones' (resources, then groups, then the
 * subscription). Returns how many entities were removed.
 */
export async function applyLostSubscriptions(ctx: SyncContext, decision: LostSubscriptionDecision): Promise<number> {
  const signal = ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
  const subscriptionLevel = ctx.mapping.blueprints.filter((b) => b.level === 'subscription');
  for (const { fields } of subscriptionLevel) {
    const flagged = Object.entries(decision.lost).filter(([s]) => !decision.expired.includes(s));
    const refs = flagged.map(([s]) =>({ blueprint: fields.blueprint, level: 'subscription' as const, identifier: toPortIdentifier(`/subscriptions/${s}`) }));
    if (refs.length === 0 || !fields.fields.includes('properties.notVisibleSince')) continue;
    // Only entities that exist: an upsert would create a bare one.
    const existing = await readStored(ctx.port, refs, () => fields, signal);
    for (const [subscription, since] of flagged) {
      const identifier = toPortIdentifier(`/subscriptions/${subscription}`);
      if (!existing.has(`${fields.blueprint}\u0000${identifier}`)) continue;
      await ctx.writer.upsert(fields.blueprint, { identifier, properties: { notVisibleSince: since }, relations: {} }, { kind: 'update', partial: true });
    }
  }
  await ctx.writer.flush();

  let removed = 0;
  for (const subscription of decision.expired) {
    const prefix = toPortIdentifier(`/subscriptions/${subscription}`);
    for (const level of ['resource', 'resourceGroup', 'subscription'] as const) {
      for (const { fields } of ctx.mapping.blueprints.filter((b) => b.level === level)) {
        const identifiers = level === 'subscription' ? [prefix] : await identifiersUnder(ctx.port, fields.blueprint, prefix, signal);
        if (level === 'subscription') {
          const found = await readStored(ctx.port, [{ blueprint: fields.blueprint, level, identifier: prefix }], () => fields, signal);
          if (found.size === 0) continue;
        }
        if (identifiers.length === 0) continue;
        await ctx.writer.delete(fields.blueprint, identifiers);
        removed += identifiers.length;
      }
    }
    ctx.logger.warn('removed the entities of a subscription Resource Graph has not shown for longer than LOST_SUBSCRIPTION_RETENTION', {
      subscriptionId: subscription,
    });
  }
  return removed;
}
