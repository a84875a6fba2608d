/**
 * Windowed reconciliation: apply what changed in [cursor − overlap, now) according to Resource Graph's change
 * tables. Cost follows the number of changes, never the estate size.
 *
 * A change row only says "something happened at this id"; the current state is read back (lookupByIds) and wins:
 *  - present in Resource Graph → upsert if it differs from Port (whatever the change type said, so a delete
 *    followed by a re-create converges on the resource existing);
 *  - absent and the latest change is a Delete → delete the entity; a deleted resource group or subscription also
 *    takes every entity under it (Port search on the identifier prefix), children first;
 *  - absent after a Create/Update → Resource Graph has not caught up; counted as notVisible and picked up by the
 *    next window's overlap or the next full sync.
 * Ids are normalised once (toPortIdentifier), so a change row whose casing differs from the entity still matches.
 */
import type { ChangeRow } from '../../azure/types.js';
import { parseResourceId, toPortIdentifier } from '../../azure/resourceId.js';
import type { PortEntity } from '../../port/types.js';
import { changedFields, fingerprint, withExplicitNulls } from '../converge/fingerprint.js';
import { fingerprintsOf, identifiersUnder } from './portSnapshot.js';
import { mapRowCounted, runProblems, typeAllowed, type SyncContext, type SyncOutcome } from './context.js';

type Level = 'subscription' | 'resourceGroup' | 'resource';

interface LatestChange {
  targetId: string;
  normalizedId: string;
  identifier: string;
  level: Level;
  changeType: ChangeRow['changeType'];
  changeTime: number;
}

const LOOKUP_BATCH = 1000;

export async function runWindowedSync(ctx: SyncContext, window: { since: Date; until: Date }): Promise<SyncOutcome> {
  const options = ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {};
  const { latest, ignored } = await collectChanges(ctx, window);

  const upserts: Record<Level, PortEntity[]> = { subscription: [], resourceGroup: [], resource: [] };
  const deletes: Record<Level, string[]> = { subscription: [], resourceGroup: [], resource: [] };
  const presentInAzure = new Set<string>();
  let notVisible = 0;
  const unmapped = { count: 0 };

  const changes = [...latest.values()];
  for (let i = 0; i < changes.length; i += LOOKUP_BATCH) {
    const batch = changes.slice(i, i + LOOKUP_BATCH);
    const current = await ctx.graph.lookupByIds(
      batch.map((c) => c.targetId),
      ctx.scope,
      options,
    );
    ctx.progress('lookup', Math.floor(i / LOOKUP_BATCH) + 1, Math.min(i + LOOKUP_BATCH, changes.length));
    for (const change of batch) {
      const row = current.get(change.normalizedId);
      if (row) {
        presentInAzure.add(change.identifier);
        if (change.level === 'resource' && !typeAllowed(row.type, ctx.azure)) continue;
        const mapped = mapRowCounted(ctx, row, unmapped);
        if (!mapped) continue;
        const level = levelOfBlueprint(ctx, mapped.blueprint);
        if (level) {
          upserts[level].push(mapped.entity);
          presentInAzure.add(mapped.entity.identifier);
        }
      } else if (change.changeType === 'Delete') {
        deletes[change.level].push(change.identifier);
      } else {
        notVisible += 1;
      }
    }
  }

  // Upserts, relation targets first.
  for (const level of ['subscription', 'resourceGroup', 'resource'] as const) {
    const fields = ctx.fields[level];
    const entities = dedupe(upserts[level]);
    if (entities.length === 0) continue;
    const existing = await fingerprintsOf(
      ctx.port,
      fields,
      entities.map((e) => e.identifier),
      { ...options, detailed: ctx.detailed },
    );
    for (const entity of entities) {
      const after = fingerprint(entity, fields, ctx.detailed);
      const before = existing.get(entity.identifier);
      if (before === after) {
        ctx.writer.unchanged(fields.blueprint);
        continue;
      }
      await ctx.writer.upsert(
        fields.blueprint,
        withExplicitNulls(entity, fields),
        before === undefined
          ? { kind: 'create' }
          : { kind: 'update', ...(ctx.detailed ? { fields: changedFields(before, after, fields) } : {}) },
      );
    }
    await ctx.writer.flush();
    ctx.progress('write', 0, entities.length);
  }

  // Deletes, children first. A deleted container takes everything Port still has under it.
  const resourceDeletes = new Set(deletes.resource);
  const groupDeletes = new Set(deletes.resourceGroup);
  for (const container of [...deletes.resourceGroup, ...deletes.subscription]) {
    for (const id of await identifiersUnder(ctx.port, ctx.fields.resource.blueprint, container, options)) {
      if (!presentInAzure.has(id)) resourceDeletes.add(id);
    }
  }
  for (const subscription of deletes.subscription) {
    for (const id of await identifiersUnder(ctx.port, ctx.fields.resourceGroup.blueprint, subscription, options)) {
      if (!presentInAzure.has(id)) groupDeletes.add(id);
    }
  }
  const plannedDeletes: [Level, string[]][] = [
    ['resource', [...resourceDeletes]],
    ['resourceGroup', [...groupDeletes]],
    ['subscription', dedupeIds(deletes.subscription)],
  ];
  for (const [level, identifiers] of plannedDeletes) {
    if (identifiers.length === 0) continue;
    // Only what Port actually has: the overlap re-reads old Delete rows, and those must not count (or write) twice.
    const existing = await fingerprintsOf(ctx.port, ctx.fields[level], identifiers, options);
    const toDelete = identifiers.filter((id) => existing.has(id));
    await ctx.writer.delete(ctx.fields[level].blueprint, toDelete);
    ctx.progress('delete', 0, toDelete.length);
  }

  if (notVisible > 0) {
    ctx.logger.warn('reconcile changes not yet visible in Resource Graph', {
      notVisible,
      hint: 'picked up by the next window (overlap) or the next full sync',
    });
  }
  return { ...runProblems(ctx.writer, unmapped.count), notVisible, ignoredChanges: ignored, changes: latest.size };
}

async function collectChanges(
  ctx: SyncContext,
  window: { since: Date; until: Date },
): Promise<{ latest: Map<string, LatestChange>; ignored: number }> {
  const latest = new Map<string, LatestChange>();
  const inScope = new Set(ctx.scope.subscriptionIds.map((s) => s.toLowerCase()));
  let ignored = 0;
  let pages = 0;
  let rows = 0;
  const stream = ctx.graph.listChanges(ctx.scope, {
    since: window.since,
    until: window.until,
    ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
  });
  for await (const page of stream) {
    ctx.abortSignal?.throwIfAborted();
    pages += 1;
    for (const row of page) {
      rows += 1;
      const change = toLatestChange(ctx, inScope, row);
      if (!change) {
        ignored += 1;
        continue;
      }
      const previous = latest.get(change.identifier);
      if (!previous || change.changeTime >= previous.changeTime) latest.set(change.identifier, change);
    }
    ctx.progress('changes', pages, rows);
  }
  return { latest, ignored };
}

function toLatestChange(ctx: SyncContext, inScope: ReadonlySet<string>, row: ChangeRow): LatestChange | undefined {
  let parsed;
  try {
    parsed = parseResourceId(row.targetResourceId);
  } catch {
    return undefined;
  }
  let level: Level;
  switch (parsed.kind) {
    case 'subscription':
      level = 'subscription';
      break;
    case 'resourceGroup':
      level = 'resourceGroup';
      break;
    case 'resource':
    case 'childResource':
      if (!typeAllowed(parsed.type, ctx.azure)) return undefined;
      level = 'resource';
      break;
    default:
      return undefined;
  }
  if (!inScope.has(parsed.subscriptionId.toLowerCase())) return undefined;
  const changeTime = Date.parse(row.changeTime);
  return {
    targetId: row.targetResourceId,
    normalizedId: parsed.normalized,
    identifier: toPortIdentifier(row.targetResourceId),
    level,
    changeType: row.changeType,
    changeTime: Number.isNaN(changeTime) ? 0 : changeTime,
  };
}

function levelOfBlueprint(ctx: SyncContext, blueprint: string): Level | undefined {
  if (blueprint === ctx.fields.subscription.blueprint) return 'subscription';
  if (blueprint === ctx.fields.resourceGroup.blueprint) return 'resourceGroup';
  if (blueprint === ctx.fields.resource.blueprint) return 'resource';
  return undefined;
}

function dedupe(entities: PortEntity[]): PortEntity[] {
  const byId = new Map<string, PortEntity>();
  for (const e of entities) byId.set(e.identifier, e);
  return [...byId.values()];
}

function dedupeIds(ids: string[]): string[] {
  return [...new Set(ids)];
}
