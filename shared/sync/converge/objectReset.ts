/**
 * Port replaces an object-valued property as a whole under `merge=true` (documented), but a Port that deep-merges
 * objects would keep a key that Azure removed (a deleted tag) forever, and every run would rewrite the entity. For
 * an update whose stored object has keys the new value lacks, the writer first clears that property (null), then
 * writes the new value: the result is the new value under either behaviour, and never `{"removedTag": null}`.
 */
import type { PortEntity } from '../../port/types.js';

function plainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** True when merging `next` into `stored` key by key would keep something `next` does not have. */
export function deepMergeWouldKeepStale(stored: unknown, next: unknown): boolean {
  if (!plainObject(stored) || !plainObject(next)) return false;
  for (const [key, value] of Object.entries(stored)) {
    if (value === null || value === undefined) continue;
    const replacement = next[key];
    if (replacement === undefined || replacement === null) return true;
    if (deepMergeWouldKeepStale(value, replacement)) return true;
  }
  return false;
}

/** The clearing write for `entity`, or undefined when none is needed. */
export function objectResetFor(entity: PortEntity, storedObjects: Record<string, unknown> | undefined, objectProperties: readonly string[]): PortEntity | undefined {
  if (!storedObjects) return undefined;
  const cleared: Record<string, null> = {};
  for (const p of objectProperties) {
    // A partial entity (a flag written on its own) leaves its other properties alone.
    if (!(p in entity.properties)) continue;
    if (deepMergeWouldKeepStale(storedObjects[p], entity.properties[p])) cleared[p] = null;
  }
  return Object.keys(cleared).length > 0 ? { identifier: entity.identifier, properties: cleared, relations: {} } : undefined;
}
