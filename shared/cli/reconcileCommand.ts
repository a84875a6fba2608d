/**
 * `azure-port-sync reconcile [--mode full|window] [--dry-run] [--wait] [--json]`: the same run the timer does,
 * from a shell.
 *
 * - It takes the same run lock as the Function App (a blob lease in AzureWebJobsStorage) before any Port or Azure
 *   call, so it never runs alongside the timer or a resync of the same scope; when another run holds it, it says
 *   which and exits 3 (or waits with --wait). Without AzureWebJobsStorage a dry run goes ahead unlocked (it only
 *   reads); a real run warns that it is not coordinated with the app.
 * - A run that did not succeed never reads as success: a failed run prints no plan and no summary, only one
 *   `error:` line on stderr (what failed and how to fix it), and the exit code is non-zero.
 */
import { MappingProvider } from '../mapping/source.js';
import type { PortIntegrationApi } from '../port/types.js';
import { randomUUID } from 'node:crypto';
import type { HeldLock, RunLocks } from '../azure/blobLease.js';
import { renderPlan, renderSummary } from '../sync/reconcile/report.js';
import type { RunSummary } from '../sync/reconcile/runReconciliation.js';
import { describeHolder, lockHolder, RUN_LOCK_CONTAINER, runLockName } from '../sync/reconcile/runLock.js';
import type { Settings } from '../settings.js';
import type { Logger } from '../log.js';
import { cliCredential, cliGraph, cliLogger, cliPort, cliSettings, withoutErrorClass } from './context.js';
import { CliExit, EXIT, type CliIo } from './io.js';
import { countingWrites, createProgressReporter, formatDuration } from './progress.js';

export interface ReconcileCommandOptions {
  mode?: 'full' | 'window';
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
  wait?: boolean;
}

/** The run's own log lines that the command prints in its own words (text mode). */
const RENDERED_LOG_MESSAGES = ['reconcile run started', 'reconcile run failed', 'reconcile run finished'];
const DEFAULT_LOCK_POLL_MS = 5_000;
const WAIT_NOTICE_EVERY_MS = 60_000;

export async function reconcileCommand(io: CliIo, options: ReconcileCommandOptions): Promise<number> {
  const settings = cliSettings(io);
  const json = options.json === true;
  const dryRun = options.dryRun === true;
  const logger = cliLogger(io, settings, json, RENDERED_LOG_MESSAGES);
  const runId = randomUUID();
  const lock = await takeRunLock(io, settings, logger, runId, options);
  try {
    const progress = await createProgressReporter(io.stderr, options.progress !== false, { showWrites: !dryRun });
    const credential = await cliCredential(io, settings);
    const port = await cliPort(io, settings, logger);
    const reader = await cliGraph(io, settings, logger, credential, { onTotalRecords: (listing, n) => progress.total(listing, n) });
    // The scope as resolved, to say which configured subscriptions could not be read (the summary does not).
    let unreadable: string[] = [];
    const graph: typeof reader = Object.assign(Object.create(reader) as typeof reader, {
      resolveScope: async (...args: Parameters<typeof reader.resolveScope>) => {
        const scope = await reader.resolveScope(...args);
        unreadable = scope.unreadableSubscriptionIds ?? [];
        return scope;
      },
    });
    const signals = [io.abortSignal, lock?.lost].filter((s): s is AbortSignal => s !== undefined);
    const abortSignal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
    const { runReconciliation } = await import('../sync/reconcile/runReconciliation.js');
    let summary: RunSummary;
    try {
      summary = await runReconciliation(
        {
          port: countingWrites(port, (kind, n) => progress.wrote(kind, n)),
          graph,
          settings,
          logger,
          mapping: new MappingProvider({ settings, logger, ...(isIntegrationApi(port) ? { port } : {}) }),
          ...(io.deps?.now ? { now: io.deps.now } : {}),
          onProgress: (p) => progress.update(p),
        },
        { mode: options.mode ?? 'auto', dryRun, trigger: 'cli', runId, ...(abortSignal ? { abortSignal } : {}) },
      );
    } catch (error) {
      // Only an abort gets here (runReconciliation reports every other failure in its summary).
      const why = lock?.lost.aborted ? withoutErrorClass(String(lock.lost.reason)) : 'interrupted';
      io.stderr.write(`error: reconcile stopped (run ${runId}): ${why}; the sync state is unchanged and the next run repeats the work\n`);
      if (!abortSignal?.aborted) throw error;
      return io.abortSignal?.aborted ? EXIT.interrupted : EXIT.failed;
    } finally {
      progress.stop();
      port.close?.();
    }
    return report(io, summary, json, unreadable);
  } finally {
    await lock?.release();
  }
}

/** The run lock for this scope, or undefined when there is no storage to hold it (see the file comment). */
async function takeRunLock(
  io: CliIo,
  settings: Settings,
  logger: Logger,
  runId: string,
  options: ReconcileCommandOptions,
): Promise<HeldLock | undefined> {
  const storage = settings.runLock.storage;
  let locks: RunLocks;
  if (io.deps?.runLocks) locks = io.deps.runLocks;
  else if (storage) {
    const { createBlobLeaseLocks } = await import('../azure/blobLease.js');
    locks = await createBlobLeaseLocks(storage, { container: RUN_LOCK_CONTAINER, logger });
  } else {
    if (options.dryRun !== true) {
      io.stderr.write(
        'warning: AzureWebJobsStorage is not set, so this run does not take the run lock and may overlap a run of the Function App; set it (or AzureWebJobsStorage__blobServiceUri) to the app\'s storage account\n',
      );
    }
    return undefined;
  }
  const name = runLockName(settings);
  const pollMs = io.deps?.lockPollMs ?? DEFAULT_LOCK_POLL_MS;
  const started = Date.now();
  let noticedAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    io.abortSignal?.throwIfAborted();
    let attempt;
    try {
      attempt = await locks.tryAcquire(name, lockHolder('cli', runId), io.abortSignal ? { abortSignal: io.abortSignal } : {});
    } catch (error) {
      throw new CliExit(EXIT.failed, `error: the run lock could not be taken: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (attempt.acquired) return attempt.lock;
    const holder = describeHolder(attempt.holder);
    if (options.wait !== true) {
      throw new CliExit(EXIT.busy, `error: another reconciliation of this scope holds the run lock: ${holder}. Try again when it has finished, or pass --wait`);
    }
    if (Date.now() - noticedAt >= WAIT_NOTICE_EVERY_MS) {
      noticedAt = Date.now();
      io.stderr.write(`waiting for the run lock (${formatDuration(Date.now() - started)} so far): held by ${holder}\n`);
    }
    await sleep(pollMs, io.abortSignal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function report(io: CliIo, summary: RunSummary, json: boolean, unreadable: string[]): number {
  const what = summary.dryRun ? 'reconcile --dry-run' : 'reconcile';
  if (summary.status === 'failed') {
    // No plan: an empty plan after a failure would read "no changes".
    if (json) io.stdout.write(JSON.stringify({ ...summary, plan: undefined }, null, 2) + '\n');
    const written = summary.counts.created + summary.counts.updated + summary.counts.deleted;
    const partial = written > 0 ? `; ${written} change(s) were written before it stopped, the next run repeats the rest` : '';
    io.stderr.write(`error: ${what} failed (run ${summary.runId}): ${withoutErrorClass(summary.error ?? 'see the log')}${partial}\n`);
    return EXIT.failed;
  }
  if (json) io.stdout.write(JSON.stringify({ ...summary, unreadableSubscriptionIds: unreadable }, null, 2) + '\n');
  else {
    const plan = summary.dryRun ? `${renderPlan(summary, { unreadableSubscriptionIds: unreadable })}\n\n` : '';
    io.stdout.write(`${plan}${renderSummary(summary)}\n`);
  }
  if (unreadable.length > 0) {
    io.stderr.write(
      `warning: ${unreadable.length} configured subscription(s) could not be read and were left alone: ${unreadable.join(', ')}; grant the identity Reader on them (AZURE_SUBSCRIPTION_IDS)\n`,
    );
  }
  if (summary.status === 'partial') {
    const reasons = [...summary.incompleteReasons, ...summary.rejectedReasons];
    io.stderr.write(`error: ${what} finished with problems (run ${summary.runId}): ${reasons.join('; ')}\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** The CLI's Port client reads a Port-stored mapping when it can (tests may hand in a narrower one). */
function isIntegrationApi(port: object): port is PortIntegrationApi {
  return typeof (port as Partial<PortIntegrationApi>).getIntegration === 'function';
}
