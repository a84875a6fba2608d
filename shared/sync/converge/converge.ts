/**
 * The one convergence core: "given these Azure ids and hints, make Port match Azure's current state". The real-time
 * path, the windowed sync and the full sync's deletion phase all call it, so a rule fixed here is fixed everywhere.
 *
 *   expand containers (the entities Port holds under a deleted or refreshed group or subscription)
 *   → observe every id in Resource Graph (present | proven absent | unknown)   observe.ts
 *   → run graphQuery entries' own KQL for the present ids (with a witness)     graphQueryRows.ts
 *   → map, read what Port holds for the affected entities, decide             plan.ts (pure)
 *   → write in bulk: relation targets first, dependents deleted first         writer.ts
 */
import type { Observation, QueryScope, ResourceGraphApi } from '../../azure/types.js';
import { toPortIdentifier } from '../../azure/resourceId.js';
import type { PermanentError, RetryableError } from '../../errors.js';
import type { PortApi } from '../../port/types.js';
import type { BlueprintFields } from './fingerprint.js';
import { azureIdOfIdentifier } from './identifiers.js';
import { LEVELS, levelOfId, type EntityMapping, type Level } from './mapping.js';
import { byLevel, decide, holdContainersWithLiveChildren, mapObservations, refKey, type ConvergeTarget, type Plan, type Verdict } from './plan.js';
import { graphQueryContributions, withGraphQueryRows } from './graphQueryRows.js';
import { identifiersUnder, readStored } from './portState.js';
import type { CatalogWriter, WriteResult } from './writer.js';

export interface ConvergeRequest extends ConvergeTarget {
  /** A container: also converge every entity Port holds under it (a deleted group, resources moved out of it). */
  includeChildren?: boolean;
}

export interface ConvergeDeps {
  graph: ResourceGraphApi;
  port: PortApi;
  mapping: EntityMapping;
  writer: CatalogWriter;
  scope: QueryScope;
}

export interface ConvergeOptions {
  abortSignal?: AbortSignal;
  /** Dry run: name changed fields. */
  detailed?: boolean;
  /** Never delete an entity Port shows as updated at or after this instant (ms): the run's start. */
  protectUpdatedSince?: number;
  /** Called after Resource Graph answered, before Port is read (progress). */
  onObserved?: (count: number) => void;
}

export interface TargetResult {
  verdict: Verdict;
  /** Writes of this target that failed (its entities keep their previous state). */
  failures: { identifier: string; error: PermanentError | RetryableError }[];
}

export interface ConvergeResult {
  results: Map<string, TargetResult>;
  /** Entities found under expanded containers (normalised ids), per container. */
  expanded: Map<string, string[]>;
  plan: Plan;
}

export async function converge(deps: ConvergeDeps, requests: readonly ConvergeRequest[], options: ConvergeOptions = {}): Promise<ConvergeResult> {
  const signal = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  const targets = new Map<string, ConvergeTarget>();
  for (const r of requests) targets.set(r.id, { id: r.id, hint: r.hint, ...(r.holdIfPresent ? { holdIfPresent: true } : {}), ...(r.stale ? { stale: r.stale } : {}) });

  const expanded = await expandContainers(deps, requests, signal);
  for (const ids of expanded.values()) {
    for (const id of ids) if (!targets.has(id)) targets.set(id, { id, hint: 'delete' });
  }

  const list = [...targets.values()];
  const observations: Map<string, Observation> = list.length > 0 ? await deps.graph.observe(list.map((t) => t.id), deps.scope, signal) : new Map();
  options.onObserved?.(list.length);
  // Entries with their own KQL read their rows for the ids Resource Graph showed present (graphQueryRows.ts).
  const contributions = await graphQueryContributions(deps.graph, deps.mapping, observations, signal);
  const { mapped, refsToRead } = mapObservations(list, observations, withGraphQueryRows(deps.mapping, contributions));
  const fieldsOf = fieldsLookup(deps.mapping);
  const stored = refsToRead.length > 0 ? await readStored(deps.port, refsToRead, fieldsOf, { ...signal, detailed: options.detailed ?? false }) : new Map();
  const decided = decide(mapped, stored, {
    fieldsOf,
    ...(options.protectUpdatedSince !== undefined ? { protectUpdatedSince: options.protectUpdatedSince } : {}),
    ...(options.detailed ? { detailed: true } : {}),
  });
  const holdable = new Set(requests.filter((r) => r.holdIfPresent).map((r) => r.id));
  const plan = holdContainersWithLiveChildren(decided, expanded, holdable);

  const results = new Map<string, TargetResult>();
  for (const [id, verdict] of plan.verdicts) results.set(id, { verdict, failures: [] });
  const ownerOf = new Map<string, string>();
  for (const u of plan.upserts) ownerOf.set(`upsert\u0000${refKey(u.ref)}`, u.target);
  for (const d of plan.deletes) ownerOf.set(`delete\u0000${refKey(d.ref)}`, d.target);
  const unsubscribe = deps.writer.subscribe((r: WriteResult) => {
    if (r.ok) return;
    const owner = ownerOf.get(`${r.operation}\u0000${refKey(r)}`);
    if (owner) results.get(owner)?.failures.push({ identifier: r.identifier, error: r.error });
  });
  try {
    await execute(deps.writer, plan);
  } finally {
    unsubscribe();
  }
  return { results, expanded, plan };
}

/** Writes the plan: upserts level by level (relation targets first), then deletes dependents first. */
async function execute(writer: CatalogWriter, plan: Plan): Promise<void> {
  for (const level of byLevel(plan.upserts, LEVELS)) {
    for (const u of level) await writer.upsert(u.ref.blueprint, u.entity, u.change);
    await writer.flush();
  }
  for (const level of byLevel(plan.deletes, [...LEVELS].reverse())) {
    const byBlueprint = new Map<string, string[]>();
    for (const d of level) byBlueprint.set(d.ref.blueprint, [...(byBlueprint.get(d.ref.blueprint) ?? []), d.ref.identifier]);
    for (const [blueprint, identifiers] of byBlueprint) await writer.delete(blueprint, identifiers);
  }
  for (const [blueprint, count] of plan.unchanged) writer.unchanged(blueprint, count);
}

function fieldsLookup(mapping: EntityMapping): (blueprint: string) => BlueprintFields {
  const byBlueprint = new Map(mapping.blueprints.map((b) => [b.fields.blueprint, b.fields]));
  return (blueprint) => {
    const fields = byBlueprint.get(blueprint);
    if (!fields) throw new Error(`the mapping writes no blueprint "${blueprint}"`);
    return fields;
  };
}

const DEPTH: Record<Level, number> = { subscription: 0, resourceGroup: 1, resource: 2 };

/** For each container request with includeChildren: the Azure ids of every entity Port holds under it. */
async function expandContainers(
  deps: ConvergeDeps,
  requests: readonly ConvergeRequest[],
  signal: { abortSignal?: AbortSignal },
): Promise<Map<string, string[]>> {
  const expanded = new Map<string, string[]>();
  await Promise.all(
    requests
      .filter((r) => r.includeChildren)
      .map(async (r) => {
        const level = levelOfId(r.id);
        if (level !== 'subscription' && level !== 'resourceGroup') return;
        const prefix = toPortIdentifier(r.id);
        const below = deps.mapping.blueprints.filter((b) => DEPTH[b.level] > DEPTH[level]);
        const ids = new Set<string>();
        for (const b of below) {
          for (const identifier of await identifiersUnder(deps.port, b.fields.blueprint, prefix, signal)) {
            const id = azureIdOfIdentifier(identifier);
            if (id) ids.add(id);
          }
        }
        expanded.set(r.id, [...ids]);
      }),
  );
  return expanded;
}
