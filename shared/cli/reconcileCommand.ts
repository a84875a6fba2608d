/**
 * `azure-port-sync reconcile [--mode full|window] [--dry-run] [--json]`: the same run the timer does, from a shell.
 */
import { renderPlan, renderSummary } from '../sync/reconcile/report.js';
import type { RunSummary } from '../sync/reconcile/runReconciliation.js';
import { cliCredential, cliGraph, cliLogger, cliPort, cliSettings } from './context.js';
import { EXIT, type CliIo } from './io.js';
import { createProgressReporter } from './progress.js';

export interface ReconcileCommandOptions {
  mode?: 'full' | 'window';
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
}

export async function reconcileCommand(io: CliIo, options: ReconcileCommandOptions): Promise<number> {
  const settings = cliSettings(io);
  const json = options.json === true;
  const logger = cliLogger(io, settings, json);
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
  if (json) io.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else io.stdout.write((summary.dryRun ? `${renderPlan(summary)}\n\n${renderSummary(summary)}` : renderSummary(summary)) + '\n');
  return summary.status === 'succeeded' || summary.status === 'planned' ? EXIT.ok : EXIT.failed;
}
