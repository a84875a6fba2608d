/**
 * `azure-port-sync reconcile [--mode full|window] [--dry-run] [--json]`: the same run the timer does, from a shell.
 *
 * A run that did not succeed never reads as success: a failed run prints no plan and no summary, only one
 * `error:` line on stderr (what failed and how to fix it), and the exit code is non-zero.
 */
import { renderPlan, renderSummary } from '../sync/reconcile/report.js';
import type { RunSummary } from '../sync/reconcile/runReconciliation.js';
import { cliCredential, cliGraph, cliLogger, cliPort, cliSettings, withoutErrorClass } from './context.js';
import { EXIT, type CliIo } from './io.js';
import { createProgressReporter } from './progress.js';

export interface ReconcileCommandOptions {
  mode?: 'full' | 'window';
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
}

/** The run's own log lines that the command prints in its own words (text mode). */
const RENDERED_LOG_MESSAGES = ['reconcile run started', 'reconcile run failed', 'reconcile run finished'];

export async function reconcileCommand(io: CliIo, options: ReconcileCommandOptions): Promise<number> {
  const settings = cliSettings(io);
  const json = options.json === true;
  const logger = cliLogger(io, settings, json, RENDERED_LOG_MESSAGES);
  const credential = await cliCredential(io, settings);
  const port = await cliPort(io, settings, logger);
  const graph = await cliGraph(io, settings, logger, credential);
  const progress = await createProgressReporter(io.stderr, options.progress !== false);
  const { runReconciliation } = await import('../sync/reconcile/runReconciliation.js');
  let summary: RunSummary;
  try {
    summary = await runReconciliation(
      {
        port,
        graph,
        settings,
        logger,
        ...(io.deps?.now ? { now: io.deps.now } : {}),
        onProgress: (p) => progress.update(p),
      },
      { mode: options.mode ?? 'auto', dryRun: options.dryRun === true, trigger: 'cli' },
    );
  } finally {
    progress.stop();
    port.close?.();
  }
  return report(io, summary, json);
}

function report(io: CliIo, summary: RunSummary, json: boolean): number {
  const what = summary.dryRun ? 'reconcile --dry-run' : 'reconcile';
  if (summary.status === 'failed') {
    // No plan: an empty plan after a failure would read "no changes".
    if (json) io.stdout.write(JSON.stringify({ ...summary, plan: undefined }, null, 2) + '\n');
    const written = summary.counts.created + summary.counts.updated + summary.counts.deleted;
    const partial = written > 0 ? `; ${written} change(s) were written before it stopped, the next run repeats the rest` : '';
    io.stderr.write(`error: ${what} failed (run ${summary.runId}): ${withoutErrorClass(summary.error ?? 'see the log')}${partial}\n`);
    return EXIT.failed;
  }
  if (json) io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout.write((summary.dryRun ? `${renderPlan(summary)}\n\n${renderSummary(summary)}` : renderSummary(summary)) + '\n');
  if (summary.status === 'partial') {
    const reasons = [...summary.incompleteReasons, ...summary.rejectedReasons];
    io.stderr.write(`error: ${what} finished with problems (run ${summary.runId}): ${reasons.join('; ')}\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
