/**
 * Blueprints named by the mapping must exist in Port. The app creates its three default blueprints itself (every
 * run's ensureBlueprints); any other blueprint a mapping writes (azureStorageAccount, say) is the user's to create,
 * and a run, `check` and the real-time worker name the ones that are missing, with the entries that write them,
 * instead of failing entity by entity.
 */
import type { BlueprintIds } from '../port/blueprints.js';
import type { PortApi } from '../port/types.js';
import type { ConfigProblem } from './config/schema.js';

/** Whether Port knows a blueprint: a one-row search, 404 when it does not exist. */
export async function blueprintExists(port: Pick<PortApi, 'searchEntities'>, blueprint: string, options: { abortSignal?: AbortSignal } = {}): Promise<boolean> {
  try {
    for await (const _page of port.searchEntities(blueprint, { include: ['$identifier'], limit: 1, ...options })) break;
    return true;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

/** The mapping's blueprints other than the app's defaults, with the entries that write each. */
export function customBlueprints(entries: readonly { index: number; blueprint: string }[], ids: Pick<BlueprintIds, 'subscription' | 'resourceGroup' | 'resource'>): Map<string, number[]> {
  const defaults = new Set([ids.subscription, ids.resourceGroup, ids.resource]);
  const out = new Map<string, number[]>();
  for (const e of entries) if (!defaults.has(e.blueprint)) out.set(e.blueprint, [...(out.get(e.blueprint) ?? []), e.index]);
  return out;
}

export function missingBlueprintMessage(blueprint: string): string {
  return `blueprint ${JSON.stringify(blueprint)} does not exist in Port: create it first (the app creates only its three default blueprints; examples/blueprints.json has the example mapping's)`;
}

/** One problem per entry that writes a missing blueprint, e.g. `resources[3].port.entity.mappings.blueprint: …`. */
export async function missingMappingBlueprints(
  port: Pick<PortApi, 'searchEntities'>,
  entries: readonly { index: number; blueprint: string }[],
  ids: Pick<BlueprintIds, 'subscription' | 'resourceGroup' | 'resource'>,
  options: { abortSignal?: AbortSignal } = {},
): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const [blueprint, indexes] of customBlueprints(entries, ids)) {
    if (await blueprintExists(port, blueprint, options)) continue;
    for (const i of indexes) problems.push({ path: `resources[${i}].port.entity.mappings.blueprint`, message: missingBlueprintMessage(blueprint) });
  }
  return problems;
}
