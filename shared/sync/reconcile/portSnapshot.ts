/**
 * Reads what Port holds, keeping only identifier → fingerprint (never whole entities), so memory stays bounded at
 * 100k+ entities.
 */
import type { PortApi } from '../../port/types.js';
import { fingerprint, type BlueprintFields } from '../converge/fingerprint.js';
import { subscriptionOfIdentifier } from './scope.js';

export interface PortSnapshot {
  blueprint: string;
  fingerprints: Map<string, string>;
  /** Entities in scope per (lower-cased) subscription id. */
  countBySubscription: Map<string, number>;
  /** Subscriptions Port has entities under that are outside the scope (their entities are never touched). */
  outOfScopeSubscriptions: Set<string>;
}

export interface SnapshotOptions {
  abortSignal?: AbortSignal;
  /** Per-field fingerprints (dry run: name the changed fields). */
  detailed?: boolean;
  onPage?: (entities: number) => void;
}

/**
 * Port pages a search with an opaque `next` cursor, so one search is a sequential walk (about 100 pages at 100k
 * entities). Every identifier we manage starts with `/subscriptions/<guid>`, so one cursor per leading hex digit
 * splits the walk into independent searches that run concurrently (the client bounds how many at once). Upper-case
 * digits are listed too: entities written by other tools may keep Azure's original casing.
 */
const SNAPSHOT_PARTITIONS = [...'0123456789abcdefABCDEF'].map((digit) => `/subscriptions/${digit}`);

/** Every entity of the blueprint that lives under a subscription in scope. */
export async function loadPortSnapshot(
  port: PortApi,
  fields: BlueprintFields,
  subscriptionsInScope: ReadonlySet<string>,
  options: SnapshotOptions = {},
): Promise<PortSnapshot> {
  const fingerprints = new Map<string, string>();
  const countBySubscription = new Map<string, number>();
  const outOfScopeSubscriptions = new Set<string>();
  const readPartition = async (prefix: string) => {
    const search = port.searchEntities(fields.blueprint, {
      query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'beginsWith', value: prefix }] },
      include: fields.include,
      limit: 1000,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    for await (const page of search) {
      for (const entity of page) {
        const subscription = subscriptionOfIdentifier(entity.identifier);
        if (!subscription) continue;
        if (!subscriptionsInScope.has(subscription)) {
          outOfScopeSubscriptions.add(subscription);
          continue;
        }
        fingerprints.set(entity.identifier, fingerprint(entity, fields, options.detailed));
        countBySubscription.set(subscription, (countBySubscription.get(subscription) ?? 0) + 1);
      }
      options.onPage?.(page.length);
    }
  };
  await Promise.all(SNAPSHOT_PARTITIONS.map(readPartition));
  return { blueprint: fields.blueprint, fingerprints, countBySubscription, outOfScopeSubscriptions };
}
