/**
 * Reads of Port that the convergence core needs: the current state of specific entities (fingerprint, last update,
 * object-typed values), and the entities Port holds under a container (for a deleted or emptied group).
 */
import type { PortApi, StoredEntity } from '../../port/types.js';
import { fingerprint, type BlueprintFields } from './fingerprint.js';
import { refKey, type StoredInfo } from './plan.js';
import type { EntityRef } from './mapping.js';

/** Identifiers per `$identifier in [...]` search; the client bounds how many searches run at once. */
const IDENTIFIERS_PER_SEARCH = 200;

export interface PortReadOptions {
  abortSignal?: AbortSignal;
  /** Per-field fingerprints (dry run: name the changed fields). */
  detailed?: boolean;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function storedInfo(entity: StoredEntity, fields: BlueprintFields, detailed = false): StoredInfo {
  const objects: Record<string, unknown> = {};
  for (const p of fields.objectProperties) {
    const value = entity.properties?.[p];
    if (value !== undefined && value !== null) objects[p] = value;
  }
  const updatedAt = entity.updatedAt ? Date.parse(entity.updatedAt) : Number.NaN;
  return {
    fingerprint: fingerprint(entity, fields, detailed),
    ...(Number.isNaN(updatedAt) ? {} : { updatedAt }),
    objects,
  };
}

/** What Port holds for the given entities; absent ones are absent from the map (keyed by refKey). */
export async function readStored(
  port: PortApi,
  refs: readonly EntityRef[],
  fieldsOf: (blueprint: string) => BlueprintFields,
  options: PortReadOptions = {},
): Promise<Map<string, StoredInfo>> {
  const found = new Map<string, StoredInfo>();
  const byBlueprint = new Map<string, string[]>();
  for (const ref of refs) {
    const list = byBlueprint.get(ref.blueprint) ?? [];
    list.push(ref.identifier);
    byBlueprint.set(ref.blueprint, list);
  }
  const searches: Promise<void>[] = [];
  for (const [blueprint, identifiers] of byBlueprint) {
    const fields = fieldsOf(blueprint);
    for (const part of chunk([...new Set(identifiers)], IDENTIFIERS_PER_SEARCH)) {
      searches.push(
        (async () => {
          const search = port.searchEntities(blueprint, {
            query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'in', value: part }] },
            include: [...fields.include, '$updatedAt'],
            limit: 1000,
            ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
          });
          for await (const page of search) {
            for (const entity of page) found.set(refKey({ blueprint, identifier: entity.identifier }), storedInfo(entity, fields, options.detailed));
          }
        })(),
      );
    }
  }
  await Promise.all(searches);
  return found;
}

/** Identifiers of the blueprint's entities strictly under `prefix/` (a resource group's or subscription's children). */
export async function identifiersUnder(
  port: PortApi,
  blueprint: string,
  prefix: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<string[]> {
  const out: string[] = [];
  const search = port.searchEntities(blueprint, {
    query: { combinator: 'and', rules: [{ property: '$identifier', operator: 'beginsWith', value: `${prefix}/` }] },
    include: ['$identifier'],
    limit: 1000,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  // Port's beginsWith may ignore case; our identifiers are lower-case, so check exactly.
  for await (const page of search) for (const entity of page) if (entity.identifier.startsWith(`${prefix}/`)) out.push(entity.identifier);
  return out;
}
