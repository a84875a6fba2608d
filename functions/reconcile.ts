/**
 * Timer-triggered reconciliation (full or windowed, decided from the state kept in Port). Wiring only: the logic
 * is in shared/sync/reconcile. Clients are built on the first tick, so importing this file loads only
 * @azure/functions.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';

export async function reconcileHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const [{ runScheduledReconciliation }, { invocationLogger }] = await Promise.all([
    import('../shared/sync/reconcile/host.js'),
    import('../shared/log.js'),
  ]);
  const logger = invocationLogger(context);
  if (timer.isPastDue) logger.warn('reconcile tick is past due');
  const summary = await runScheduledReconciliation(logger);
  // A failed run must show as a failed invocation; the state in Port already records why.
  if (summary?.status === 'failed') throw new Error(`reconcile run ${summary.runId} failed: ${summary.error ?? 'see logs'}`);
}

app.timer('reconcile', { schedule: '%RECONCILE_SCHEDULE%', handler: reconcileHandler });
