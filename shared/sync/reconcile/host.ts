/**
 * Reconciliation inside the Functions host: one set of clients per worker (built on first use, SDKs imported
 * dynamically so cold start stays cheap), one run at a time per worker, and manual resync requests recorded in
 * Port before a background run starts (the timer honours a request whose worker was recycled mid-run).
 *
 * Across workers the timer trigger is a singleton (blob lease), but an HTTP-started run on another worker can
 * overlap it. That is safe: both read the current Azure state and converge (see runReconciliation.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { Settings } from '../../settings.js';
import type { ReconcileDeps } from './context.js';
import type { ReconcileRequest, RunSummary } from './runReconciliation.js';
import type { RunMode } from './state.js';

/** Builds the deps of a run. The logger is the invocation's; clients may be reused across invocations. */
export type ReconcileDepsFactory = (logger: Logger) => Promise<ReconcileDeps>;

interface Clients {
  settings: Settings;
  port: ReconcileDeps['port'];
  graph: ReconcileDeps['graph'];
  /** Where the long-lived clients log: the invocation that is running now. */
  setLogger(logger: Logger): void;
}

let clients: Promise<Clients> | undefined;
let factoryOverride: ReconcileDepsFactory | undefined;
let activeRun: Promise<RunSummary | undefined> | undefined;

async function createClients(): Promise<Clients> {
  const [{ loadSettings }, { createPortClient }, { createResourceGraphReader }] = await Promise.all([
    import('../../settings.js'),
    import('../../port/client.js'),
    import('../../azure/resourceGraph.js'),
  ]);
  const settings = loadSettings();
  let current: Logger | undefined;
  const forward: Logger = {
    debug: (m, f) => current?.debug(m, f),
    info: (m, f) => current?.info(m, f),
    warn: (m, f) => current?.warn(m, f),
    error: (m, f) => current?.error(m, f),
  };
  return {
    settings,
    port: createPortClient(settings.port, forward),
    graph: createResourceGraphReader(settings.azure, forward),
    setLogger: (logger) => {
      current = logger;
    },
  };
}

const defaultFactory: ReconcileDepsFactory = async (logger) => {
  clients ??= createClients().catch((error: unknown) => {
    // A settings fix should take effect on the next tick, not after a restart.
    clients = undefined;
    throw error;
  });
  const c = await clients;
  c.setLogger(logger);
  return { port: c.port, graph: c.graph, settings: c.settings, logger };
};

/** Tests and the bench point the host at emulators; undefined restores production wiring. */
export function useReconcileDepsFactory(factory: ReconcileDepsFactory | undefined): void {
  factoryOverride = factory;
  clients = undefined;
}

function depsFor(logger: Logger): Promise<ReconcileDeps> {
  return (factoryOverride ?? defaultFactory)(logger);
}

/** The run in progress on this worker, if any (tests await it). */
export function currentRun(): Promise<RunSummary | undefined> | undefined {
  return activeRun;
}

function startRun(deps: ReconcileDeps, request: ReconcileRequest): Promise<RunSummary | undefined> {
  const run = (async () => {
    const { runReconciliation } = await import('./runReconciliation.js');
    return runReconciliation(deps, request);
  })().finally(() => {
    if (activeRun === run) activeRun = undefined;
  });
  activeRun = run;
  return run;
}

/** Timer tick: run unless this worker is already running one (a pending resync request is honoured by the run). */
export async function runScheduledReconciliation(logger: Logger): Promise<RunSummary | undefined> {
  if (activeRun) {
    logger.info('reconcile tick skipped: a run is already in progress on this worker');
    return undefined;
  }
  const deps = await depsFor(logger);
  return startRun(deps, { trigger: 'timer' });
}

export interface ResyncAccepted {
  runId: string;
  mode: RunMode;
  /** False when a run was already in progress on this worker; the request then waits for the next tick. */
  started: boolean;
}

/**
 * Records a resync request on the state entity, then starts the run in the background without waiting for it.
 * Throws if the request cannot be recorded (the caller answers 5xx: nothing was accepted).
 */
export async function requestResync(mode: RunMode, logger: Logger): Promise<ResyncAccepted> {
  const deps = await depsFor(logger);
  const [{ SyncStateStore }, { stateIdentifierFor, describeScope }] = await Promise.all([
    import('./state.js'),
    import('./scope.js'),
  ]);
  const runId = randomUUID();
  const store = new SyncStateStore(
    deps.port,
    deps.settings.port.blueprints.state,
    stateIdentifierFor(deps.settings.azure),
    describeScope(deps.settings.azure),
  );
  const requestedAt = (deps.now?.() ?? new Date()).toISOString();
  // The state blueprint must exist before the request can be recorded on it (first call on a fresh account).
  const { defaultBlueprints } = await import('../../port/blueprints.js');
  await deps.port.ensureBlueprints(defaultBlueprints(deps.settings.port.blueprints));
  await store.recordRequest({ mode, runId, requestedAt });
  logger.info('resync requested', { runId, mode, requestedAt });
  if (activeRun) return { runId, mode, started: false };
  const run = startRun(deps, { mode, runId, trigger: 'http' });
  run.catch((error: unknown) => logger.error('background reconcile run failed', { runId, error }));
  return { runId, mode, started: true };
}
