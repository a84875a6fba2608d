/**
 * Deterministic change sets for the windowed-sync and event-burst scenarios, drawn from a generated estate.
 */
import type { ArgRow } from '../../shared/azure/types.js';
import { prng, type GeneratedEstate } from '../fixtures/estate.js';

export type Estate = GeneratedEstate;

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface ChangeSet {
  /** Existing resources with new tags. */
  updates: ArgRow[];
  /** New resources in existing groups. */
  creates: ArgRow[];
  /** Ids of deleted resources (original casing). */
  deletes: string[];
  /** Ids of deleted resource groups; every resource in them goes too. */
  groupDeletes: string[];
  /** Resources that disappear with the deleted groups. */
  cascadedResourceDeletes: number;
}

export interface ChangeMix {
  updates: number;
  creates: number;
  deletes: number;
  groupDeletes: number;
}

/** Splits `total` changes like a busy day: mostly updates and creates, some deletes, a few group deletes. */
export function defaultMix(total: number): ChangeMix {
  const groupDeletes = Math.max(total >= 20 ? 1 : 0, Math.round(total * 0.01));
  const deletes = Math.round(total * 0.29);
  const creates = Math.round(total * 0.3);
  return { groupDeletes, deletes, creates, updates: Math.max(0, total - groupDeletes - deletes - creates) };
}

function resourceGroupKey(row: ArgRow): string {
  return `${String(row.subscriptionId).toLowerCase()}/${String(row.resourceGroup).toLowerCase()}`;
}

function groupKeyOfGroupRow(row: ArgRow): string {
  return `${String(row.subscriptionId).toLowerCase()}/${String(row.name).toLowerCase()}`;
}

/**
 * Picks the changes. Deleted groups are chosen first so updates and deletes never touch a resource that is about
 * to disappear with its group (the expected catalog stays unambiguous).
 */
export function planChanges(estate: Estate, mix: ChangeMix, seed: number, tagValue = `bench-${seed}`): ChangeSet {
  const random = prng(seed);
  const groups = shuffle([...estate.resourceGroups], random);
  const doomedGroups = new Set<string>();
  const groupDeletes: string[] = [];
  for (const g of groups) {
    if (groupDeletes.length >= mix.groupDeletes) break;
    groupDeletes.push(g.id);
    doomedGroups.add(groupKeyOfGroupRow(g));
  }
  const survivors = estate.resources.filter((r) => !doomedGroups.has(resourceGroupKey(r)));
  const cascadedResourceDeletes = estate.resources.length - survivors.length;
  const picked = shuffle([...survivors], random);
  const need = mix.updates + mix.deletes;
  if (picked.length < need) {
    throw new RangeError(`estate too small: ${picked.length} resources outside deleted groups, ${need} changes asked for`);
  }
  const updates = picked.slice(0, mix.updates).map((r) => ({ ...r, tags: { ...(r.tags ?? {}), benchChange: tagValue } }));
  const deletes = picked.slice(mix.updates, need).map((r) => r.id);
  const liveGroups = estate.resourceGroups.filter((g) => !doomedGroups.has(groupKeyOfGroupRow(g)));
  if (mix.creates > 0 && liveGroups.length === 0) throw new RangeError('estate has no resource group left to create resources in');
  const creates: ArgRow[] = [];
  for (let i = 0; i < mix.creates; i++) {
    const g = liveGroups[Math.floor(random() * liveGroups.length)]!;
    const name = `bench${seed}-new-${i}`;
    creates.push({
      id: `${g.id}/providers/Microsoft.Storage/storageAccounts/${name}`,
      name,
      type: 'microsoft.storage/storageaccounts',
      kind: 'StorageV2',
      location: g.location ?? 'westeurope',
      resourceGroup: g.name ?? null,
      subscriptionId: g.subscriptionId ?? null,
      tenantId: g.tenantId ?? null,
      managedBy: null,
      sku: { name: 'Standard_LRS', tier: 'Standard' },
      tags: { benchChange: tagValue },
      provisioningState: 'Succeeded',
    });
  }
  return { updates, creates, deletes, groupDeletes, cascadedResourceDeletes };
}

/** Total changes in a set, counting a group delete once (as Azure's change table does for the group). */
export function changeCount(set: ChangeSet): number {
  return set.updates.length + set.creates.length + set.deletes.length + set.groupDeletes.length;
}
