/**
 * Windowed reconciliation: apply what changed in [cursor − overlap, now) according to Resource Graph's change
 * tables. Cost follows the number of changes, never the estate size.
 *
 * A change row only says "look at this id": every changed id goes through the convergence core, which reads the
 * current state and decides (converge/plan.ts). Create/Update is a write hint (never a delete); Delete is a delete
 * hint, applied only when the same read proves the id absent; a deleted resource group or subscription also takes
 * what Port holds under it, each child proven absent on its own. Containers are converged before resources, so
 * relation targets exist first.
 */
import type { ChangeRow } from '../../azure/types.js';
import { parseResourceId } from '../../azure/resourceId.js';
import { converge, type ConvergeRequest } from '../converge/converge.js';
import { runProblems, typeAllowed, type SyncContext, type SyncOutcome } from './context.js';

type Level = 'subscription' | 'resourceGroup' | 'resource';

interface LatestChange {
  normalizedId: string;
  level: Level;
  changeType: ChangeRow['changeType'];
  changeTime: number;
}

/** Changed ids per convergence pass: bounded memory, and Resource Graph reads of ≤ 1000 rows each. */
const CONVERGE_BATCH = 1000;
const LEVEL_ORDER: Record<Level, number> = { subscription: 0, resourceGroup: 1, resource: 2 };

export async function runWindowedSync(ctx: SyncContext, window: { since: Date; until: Date }): Promise<SyncOutcome> {
  const { latest, ignored } = await collectChanges(ctx, window);
  const changes = [...latest.values()].sort(
    (a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || (a.normalizedId < b.normalizedId ? -1 : a.normalizedId > b.normalizedId ? 1 : 0),
  );
  const tally = { notVisible: 0, unmapped: 0, inconclusive: 0, unreadable: 0, protected: 0 };
  for (let i = 0; i < changes.length; i += CONVERGE_BATCH) {
    ctx.abortSignal?.throwIfAborted();
    const batch = changes.slice(i, i + CONVERGE_BATCH);
    const requests: ConvergeRequest[] = batch.map((c) => ({
      id: c.normalizedId,
      hint: c.changeType === 'Delete' ? 'delete' : 'write',
      ...(c.changeType === 'Delete' && c.level !== 'resource' ? { includeChildren: true } : {}),
    }));
    const result = await converge(
      { graph: ctx.graph, port: ctx.port, mapping: ctx.mapping, writer: ctx.writer, scope: ctx.scope },
      requests,
      {
        ...(ctx.abortSignal ? { abortSignal: ctx.abortSignal } : {}),
        detailed: ctx.detailed,
        // No updated-since protection here: a Delete record is itself news of the deletion, and a re-creation
        // after it shows as a newer Create record or as present in the proof read.
        onObserved: () => ctx.progress('lookup', Math.floor(i / CONVERGE_BATCH) + 1, Math.min(i + CONVERGE_BATCH, changes.length), changes.length),
      },
    );
    for (const { verdict } of result.results.values()) {
      if (verdict.status === 'notVisible') tally.notVisible += 1;
      else if (verdict.status === 'unmappable') tally.unmapped += 1;
      else if (verdict.status === 'protected') tally.protected += 1;
      else if (verdict.status === 'unknown' && verdict.cause === 'inconclusive') tally.inconclusive += 1;
      else if (verdict.status === 'unknown' && verdict.cause === 'unreadable') tally.unreadable += 1;
    }
    ctx.progress('write', 0, Math.min(i + CONVERGE_BATCH, changes.length), changes.length);
  }

  if (tally.notVisible > 0 || tally.unreadable > 0 || tally.protected > 0) {
    ctx.logger.warn('reconcile window left some changes to a later run', {
      notVisible: tally.notVisible,
      unreadable: tally.unreadable,
      updatedDuringRun: tally.protected,
      hint: 'not yet visible in Resource Graph, not provably absent, or written by a live event during the run: the next window (overlap) or full sync looks again',
    });
  }
  const problems = runProblems(ctx.writer, tally.unmapped);
  if (tally.inconclusive > 0) {
    problems.incompleteReasons.push(`${tally.inconclusive} changed id(s) could not be proven present or absent (an inconclusive Resource Graph read)`);
  }
  return { ...problems, notVisible: tally.notVisible, ignoredChanges: ignored, changes: latest.size };
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
      const previous = latest.get(change.normalizedId);
      if (!previous || change.changeTime >= previous.changeTime) latest.set(change.normalizedId, change);
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
    normalizedId: parsed.normalized,
    level,
    changeType: row.changeType,
    changeTime: Number.isNaN(changeTime) ? 0 : changeTime,
  };
}

