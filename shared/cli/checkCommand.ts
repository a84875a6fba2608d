/**
 * `azure-port-sync check [--json]`: can this configuration work? Each check prints pass or fail with its reason;
 * the exit code is non-zero if any failed.
 *
 * Checks answer fast and say why: every request is tried once with a short timeout, so an unreachable host is
 * reported in seconds as "refused", "cannot resolve" or "no answer in time", never after minutes of retries.
 * What a first run creates (the blueprints on a fresh Port) is reported as such, not as a failure.
 */
import { armScopeFor } from '../azure/credential.js';
import { blueprintExists, customBlueprints, missingBlueprintMessage } from '../mapping/blueprintCheck.js';
import type { LoadedMapping } from '../mapping/config/load.js';
import type { Logger } from '../log.js';
import { defaultBlueprints } from '../port/blueprints.js';
import type { PortApi, PortIntegrationApi } from '../port/types.js';
import type { Settings } from '../settings.js';
import { RUN_LOCK_CONTAINER } from '../sync/reconcile/runLock.js';
import { cliCredential, cliGraph, cliLogger, cliPort, cliSettings, SETTINGS_SOURCE, withoutErrorClass } from './context.js';
import { EXIT, type CliIo } from './io.js';

export type CheckStatus = 'pass' | 'fail' | 'skip';
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

const TIMEOUT_MS = 15_000;
/** Per request to Port during a check (the run's own PORT_REQUEST_TIMEOUT may be longer). */
const PORT_REQUEST_TIMEOUT_MS = 10_000;

export async function checkCommand(io: CliIo, options: { json?: boolean }): Promise<number> {
  const results: CheckResult[] = [];
  const report = (r: CheckResult) => {
    results.push(r);
    if (!options.json) io.stdout.write(`${r.status.toUpperCase().padEnd(4)}  ${r.name}: ${r.detail}\n`);
  };
  const attempt = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    try {
      report({ name, status: 'pass', detail: await withTimeout(fn()) });
      return true;
    } catch (error) {
      report({ name, status: 'fail', detail: reason(error) });
      return false;
    }
  };

  let settings: Settings;
  try {
    settings = cliSettings(io);
    report({ name: 'settings', status: 'pass', detail: `all app settings are valid; they come from ${SETTINGS_SOURCE}` });
  } catch (error) {
    report({ name: 'settings', status: 'fail', detail: `${reason(error)} (settings come from ${SETTINGS_SOURCE})` });
    return finish(io, results, options.json === true);
  }
  const logger = cliLogger(io, settings, options.json === true);
  const credential = await cliCredential(io, settings);

  const azureAuth = await attempt('azure authentication', async () => {
    const token = await credential.getToken(armScopeFor(settings.azure.armEndpoint));
    if (!token) throw new Error('the credential returned no token');
    return `got a token for ${armScopeFor(settings.azure.armEndpoint)} (AZURE_CREDENTIAL=${settings.azure.credential ?? 'default'})`;
  });
  if (azureAuth) {
    await attempt('resource graph', async () => {
      const graph = await cliGraph(io, settings, logger, credential, { retry: { maxRetries: 0 } });
      const scope = await graph.resolveScope();
      let rows = 0;
      for await (const page of graph.listSubscriptions(scope)) {
        rows += page.length;
        break;
      }
      const unreadable = scope.unreadableSubscriptionIds ?? [];
      if (unreadable.length > 0) {
        throw new Error(`${unreadable.length} configured subscription(s) not readable: ${unreadable.join(', ')}; grant the identity Reader on them`);
      }
      return `${scope.subscriptionIds.length} subscription(s) in scope, ${rows} readable`;
    });
  } else {
    report({ name: 'resource graph', status: 'skip', detail: 'no Azure token' });
  }

  const quick = { ...settings, port: { ...settings.port, retryMaxAttempts: 1, requestTimeoutMs: Math.min(settings.port.requestTimeoutMs, PORT_REQUEST_TIMEOUT_MS) } };
  const port = await cliPort(io, quick, logger);
  try {
    const portAuth = await attempt('port authentication', async () => {
      // Any authenticated read proves the credentials; a missing blueprint is the next check's business.
      await port.getEntity(settings.port.blueprints.state, 'azure-port-sync-check').catch((error: unknown) => {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      });
      return `authenticated to ${settings.port.apiUrl}`;
    });
    if (portAuth) {
      for (const blueprint of defaultBlueprints(settings.port.blueprints)) {
        await attempt(`port blueprint ${blueprint.identifier}`, async () => {
          try {
            for await (const _page of port.searchEntities(blueprint.identifier, { include: ['$identifier'], limit: 1 })) break;
          } catch (error) {
            if ((error as { status?: number }).status === 404) return 'not created yet: the first run creates it';
            throw error;
          }
          return 'exists and is readable';
        });
      }
      await checkMappingBlueprints(settings, port, logger, attempt, report);
    } else {
      report({ name: 'port blueprints', status: 'skip', detail: 'not authenticated to Port' });
    }
  } finally {
    port.close?.();
  }

  await checkRunLock(settings, report);
  await checkQueue(io, settings, report);
  return finish(io, results, options.json === true);
}

/**
 * The mapping the settings select loads, and every blueprint it writes beyond the three defaults exists in Port
 * (the app creates only those three; a run stops naming any other that is missing).
 */
async function checkMappingBlueprints(
  settings: Settings,
  port: PortApi,
  logger: Logger,
  attempt: (name: string, fn: () => Promise<string>) => Promise<boolean>,
  report: (r: CheckResult) => void,
): Promise<void> {
  const { MappingProvider } = await import('../mapping/source.js');
  let loaded: LoadedMapping | undefined;
  const ok = await attempt('mapping', async () => {
    const integrations = typeof (port as { getIntegration?: unknown }).getIntegration === 'function' ? { port: port as unknown as PortIntegrationApi } : {};
    loaded = await new MappingProvider({ settings, logger, ...integrations }).mapping({ fresh: true });
    return `${loaded.mapper.entries.length} entr${loaded.mapper.entries.length === 1 ? 'y' : 'ies'} from ${loaded.origin}`;
  });
  if (!ok || !loaded) {
    report({ name: 'mapping blueprints', status: 'skip', detail: 'the mapping did not load' });
    return;
  }
  const mapper = loaded.mapper;
  for (const [blueprint, entries] of customBlueprints(mapper.entries, settings.port.blueprints)) {
    await attempt(`port blueprint ${blueprint} (written by ${entries.map((i) => `resources[${i}]`).join(', ')})`, async () => {
      if (!(await blueprintExists(port, blueprint))) throw new Error(missingBlueprintMessage(blueprint));
      return 'exists and is readable';
    });
  }
}

/** The run lock's container: reachable, and a lease can be taken and released (on a probe blob, not the lock). */
async function checkRunLock(settings: Settings, report: (r: CheckResult) => void): Promise<void> {
  const name = `run lock (container ${RUN_LOCK_CONTAINER})`;
  const storage = settings.runLock.storage;
  if (!storage) {
    report({ name, status: 'skip', detail: 'AzureWebJobsStorage is not set: reconcile runs from here are not coordinated with the Function App' });
    return;
  }
  try {
    const { createBlobLeaseLocks } = await import('../azure/blobLease.js');
    const locks = await createBlobLeaseLocks(storage, { container: RUN_LOCK_CONTAINER });
    const probe = await withTimeout(locks.tryAcquire('check-probe', { trigger: 'check', startedAt: new Date().toISOString() }));
    if (probe.acquired) await probe.lock.release();
    report({ name, status: 'pass', detail: 'reachable; a lease can be taken and released' });
  } catch (error) {
    report({ name, status: 'fail', detail: reason(error) });
  }
}

async function checkQueue(io: CliIo, settings: Settings, report: (r: CheckResult) => void): Promise<void> {
  const configured = ['AzureWebJobsStorage', 'AzureWebJobsStorage__queueServiceUri', 'AzureWebJobsStorage__accountName'].some(
    (k) => (io.env[k] ?? '').trim() !== '',
  );
  const name = `queue ${settings.events.queueName}`;
  if (!configured) {
    report({ name, status: 'skip', detail: 'AzureWebJobsStorage is not set (only the Function App needs it)' });
    return;
  }
  try {
    const { createQueueServiceClient } = await import('../azure/storageQueue.js');
    const service = await createQueueServiceClient(settings.events.storage, io.deps?.credential);
    const props = await withTimeout(service.getQueueClient(settings.events.queueName).getProperties());
    report({ name, status: 'pass', detail: `reachable, about ${props.approximateMessagesCount ?? 0} message(s) waiting` });
  } catch (error) {
    report({ name, status: 'fail', detail: reason(error) });
  }
}

function finish(io: CliIo, results: CheckResult[], json: boolean): number {
  const failed = results.filter((r) => r.status === 'fail').length;
  if (json) io.stdout.write(JSON.stringify({ ok: failed === 0, checks: results }, null, 2) + '\n');
  else io.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    const e = error as Error & { status?: number; traceId?: string; statusCode?: number };
    const status = e.status ?? e.statusCode;
    const message = withoutErrorClass(e.message.split('\n')[0] ?? e.message);
    return `${message}${status && !message.includes(String(status)) ? ` (HTTP ${status})` : ''}${e.traceId && !message.includes(e.traceId) ? ` (trace id ${e.traceId})` : ''}`;
  }
  return String(error);
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s (timeout)`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
