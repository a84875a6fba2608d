/**
 * Human-readable output of a run: the one-paragraph summary and, for a dry run, the drift report.
 */
import type { RunSummary } from './runReconciliation.js';

/** How many identifiers a text plan lists per section before it says "… and N more" (JSON output lists all). */
const LISTED_PER_SECTION = 50;

export function renderSummary(summary: RunSummary): string {
  const c = summary.counts;
  const lines = [
    `run ${summary.runId}: ${summary.mode} (${summary.modeReason}) → ${summary.status}`,
    `window: ${summary.window.start ?? '(full)'} → ${summary.window.end}`,
    `created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, deleted ${c.deleted}, failed ${c.failed}`,
    `Resource Graph queries ${summary.argQueries}, Port requests ${summary.portRequests}, ${summary.durationMs} ms`,
  ];
  if (summary.changes !== undefined) {
    lines.push(`changes in window ${summary.changes}, ignored ${summary.ignoredChanges ?? 0}, not yet visible ${summary.notVisible ?? 0}`);
  }
  if (summary.deletionSkippedReason) lines.push(`deletion skipped: ${summary.deletionSkippedReason}`);
  if (summary.error) lines.push(`error: ${summary.error}`);
  else {
    if (summary.incompleteReasons.length > 0) lines.push(`incomplete (the next run repeats it): ${summary.incompleteReasons.join('; ')}`);
    if (summary.rejectedReasons.length > 0) lines.push(`rejected (the cursor moved on): ${summary.rejectedReasons.join('; ')}`);
  }
  for (const f of summary.failures.slice(0, 10)) {
    lines.push(`  failed ${f.operation} ${f.blueprint} ${f.identifier}: ${f.message}${f.traceId ? ` (trace id ${f.traceId})` : ''}`);
  }
  return lines.join('\n');
}

/**
 * The drift report of a dry run: per blueprint, what would be created, updated (which fields) and deleted.
 * `unreadableSubscriptionIds`: configured subscriptions the run could not read, so "no changes" covers the rest only.
 */
export function renderPlan(summary: RunSummary, options: { unreadableSubscriptionIds?: string[] } = {}): string {
  const lines = [`dry run (${summary.mode}: ${summary.modeReason}); nothing was written`];
  const plan = summary.plan ?? {};
  const blueprints = Object.keys(plan).sort();
  const unreadable = options.unreadableSubscriptionIds ?? [];
  if (blueprints.length === 0) {
    lines.push(
      unreadable.length > 0
        ? `no changes in the readable subscriptions; ${unreadable.length} configured subscription(s) could not be read and were not compared: ${unreadable.join(', ')}`
        : 'no changes: Port matches Azure',
    );
  }
  for (const bp of blueprints) {
    const p = plan[bp]!;
    lines.push(`${bp}: create ${p.create.length}, update ${p.update.length}, delete ${p.delete.length}`);
    const section = (label: string, items: string[]) => {
      for (const item of items.slice(0, LISTED_PER_SECTION)) lines.push(`  ${label} ${item}`);
      if (items.length > LISTED_PER_SECTION) lines.push(`  … and ${items.length - LISTED_PER_SECTION} more to ${label}`);
    };
    section('create', p.create);
    section(
      'update',
      p.update.map((u) => `${u.identifier} (${u.fields.join(', ') || 'fields unknown'})`),
    );
    section('delete', p.delete);
  }
  if (summary.deletionSkippedReason) lines.push(`deletion would be skipped: ${summary.deletionSkippedReason}`);
  return lines.join('\n');
}
