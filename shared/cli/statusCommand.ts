/**
 * `azure-port-sync status [--json]`: the sync state entity for the configured scope, as Port holds it.
 */
import { describeScope, stateIdentifierFor } from '../sync/reconcile/scope.js';
import { SyncStateStore } from '../sync/reconcile/state.js';
import { cliLogger, cliPort, cliSettings } from './context.js';
import { EXIT, type CliIo } from './io.js';

export async function statusCommand(io: CliIo, options: { json?: boolean }): Promise<number> {
  const settings = cliSettings(io);
  const logger = cliLogger(io, settings, options.json === true);
  const port = await cliPort(io, settings, logger);
  const identifier = stateIdentifierFor(settings.azure);
  try {
    const store = new SyncStateStore(port, settings.port.blueprints.state, identifier, describeScope(settings.azure));
    const state = await store.read();
    if (options.json) {
      io.stdout.write(JSON.stringify({ identifier, blueprint: settings.port.blueprints.state, state: state ?? null }, null, 2) + '\n');
    } else if (!state) {
      io.stdout.write(`no sync state "${identifier}" in blueprint ${settings.port.blueprints.state}: no run has finished yet\n`);
    } else {
      const run = state.lastRun;
      const lines = [
        `state:            ${identifier} (${state.scope})`,
        `cursor:           ${state.cursor ?? '(none)'}`,
        `last full sync:   ${state.lastFullSyncAt ?? '(never)'}`,
      ];
      if (run) {
        const c = run.counts;
        lines.push(
          `last run:         ${run.runId} ${run.mode} ${run.status} at ${run.finishedAt} (${run.durationMs} ms)`,
          `  window:         ${run.windowStart ?? '(full)'} → ${run.windowEnd}`,
          `  counts:         created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, deleted ${c.deleted}, failed ${c.failed}`,
          `  requests:       Resource Graph ${run.argQueries}, Port ${run.portRequests}`,
        );
      }
      if (state.deletionSkippedReason) lines.push(`deletion skipped: ${state.deletionSkippedReason}`);
      if (state.lastError) lines.push(`last error:       ${state.lastError}`);
      if (state.pendingRequest) {
        lines.push(`pending resync:   ${state.pendingRequest.mode} ${state.pendingRequest.runId} requested ${state.pendingRequest.requestedAt}`);
      }
      io.stdout.write(lines.join('\n') + '\n');
    }
    return state ? EXIT.ok : EXIT.failed;
  } finally {
    port.close?.();
  }
}
