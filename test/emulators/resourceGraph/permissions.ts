/**
 * What the caller may read, per subscription: everything (Reader on the subscription), nothing, or only some
 * resource groups (Reader on those groups). Resource Graph filters rows by permission and stays silent about it:
 * "It returns 403 only if none of the listed subscriptions is accessible. Missing access otherwise looks like no
 * resources" (azure-platform.md §5.7, Learn governance/resource-graph/overview). With Reader on a group only, that
 * group's row and its resources are readable; the subscription's own row and every other group are not.
 */
import type { Row } from './kql.js';
import { sortKey } from './kql.js';

export type SubscriptionAccess = 'all' | 'none' | { resourceGroups: string[] };

/** Keeps a row or not. `undefined`: keep everything (the fast path of a fully readable tenant). */
export type RowFilter = ((row: Row) => boolean) | undefined;

export class AccessDenied extends Error {}

export class Permissions {
  /** Access of subscriptions without an override. */
  private defaultAccess: 'all' | 'none' = 'all';
  private readonly overrides = new Map<string, 'all' | 'none' | Set<string>>();

  constructor(readable?: readonly string[], resourceGroupReaders?: Record<string, readonly string[]>) {
    this.setReadable(readable);
    for (const [subscription, groups] of Object.entries(resourceGroupReaders ?? {})) this.grantResourceGroups(subscription, groups);
  }

  /** The legacy switch: exactly these subscriptions readable (undefined: all), other overrides cleared. */
  setReadable(ids: readonly string[] | undefined): void {
    this.overrides.clear();
    this.defaultAccess = ids ? 'none' : 'all';
    for (const id of ids ?? []) this.overrides.set(id.toLowerCase(), 'all');
  }

  revoke(subscriptions: readonly string[]): void {
    for (const s of subscriptions) this.overrides.set(s.toLowerCase(), 'none');
  }

  grant(subscriptions: readonly string[]): void {
    for (const s of subscriptions) this.overrides.set(s.toLowerCase(), 'all');
  }

  /** Reader on these groups only (names, any casing) in the subscription. */
  grantResourceGroups(subscription: string, groups: readonly string[]): void {
    if (groups.length === 0) throw new Error(`grantResourceGroups: name at least one resource group of ${subscription}`);
    this.overrides.set(subscription.toLowerCase(), new Set(groups.map((g) => g.toLowerCase())));
  }

  access(subscription: string): 'all' | 'none' | Set<string> {
    return this.overrides.get(subscription.toLowerCase()) ?? this.defaultAccess;
  }

  /**
   * The row filter for a query over `requested` subscriptions (undefined: tenant scope, every subscription). Throws
   * AccessDenied when subscriptions were named and none of them is readable at all.
   */
  filterFor(requested: readonly string[] | undefined): RowFilter {
    if (requested === undefined) {
      if (this.defaultAccess === 'all' && this.overrides.size === 0) return undefined;
      return (row) => this.allows(row);
    }
    const named = new Set(requested.map((s) => s.toLowerCase()));
    if ([...named].every((s) => this.access(s) === 'none')) {
      throw new AccessDenied('The client does not have authorization to perform action over any of the requested scopes.');
    }
    return (row) => named.has(sortKey(row.subscriptionId)) && this.allows(row);
  }

  private allows(row: Row): boolean {
    const access = this.access(sortKey(row.subscriptionId));
    if (access === 'all') return true;
    if (access === 'none') return false;
    // Group rows and resources carry their group's (lower-case) name; subscription rows carry none.
    return access.has(sortKey(row.resourceGroup));
  }

  describe(): { default: 'all' | 'none'; subscriptions: Record<string, SubscriptionAccess> } {
    const subscriptions: Record<string, SubscriptionAccess> = {};
    for (const [s, a] of this.overrides) subscriptions[s] = typeof a === 'string' ? a : { resourceGroups: [...a].sort() };
    return { default: this.defaultAccess, subscriptions };
  }
}
