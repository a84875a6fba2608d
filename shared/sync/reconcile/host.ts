/**
 * Reconciliation inside the Functions host: one set of clients per worker (built on first use, SDKs imported
 * dynamically so cold start stays cheap), and at most one run per scope across every instance and the CLI.
 *
 * The run lock (runLock.ts: a blob lease in the app's storage account) is taken before any Port or Resource Graph
 * call, renewed while the run lasts and released when it ends, fails or is aborted; a worker that dies leaves a
 * lease that expires within a minute. On top of it, this worker refuses a second run from memory (no I/O at all),
 * and at most one resync request per RESYNC_MIN_INTERVAL is accepted across all instances, so a key holder cannot
 * hammer Port or Azure: the last accepted time is a note on the lock blob (blobLease.ts), read and written under
 * the lease, and this worker also remembers its own to refuse a repeat without any I/O.
 *
 * An accepted resync request is recorded in Port (while holding the lock) before its background run starts, so
 * the timer honours it if the instance that took it is recycled mid-run.
 */
import { randomUUID } from 'node:crypto';
import type { HeldLock, LockHolder, RunLocks } from '../../azure/blobLease.js';
import type { Logger } from '../../log.js';
import type { Settings } from '../../settings.js';
import type { ReconcileDeps } from './context.js';
import type { ReconcileRequest, RunSummary } from './runReconciliation.js';
import { lockHolder, runLockName, runLocksFor } from './runLock.js';
import type { RunMode } from './state.js';

/** What a host run needs beyond a run's deps: the lock, unless the settings say where it lives. */
export type HostReconcileDeps = ReconcileDeps & {
  runLock?: { locks: RunLocks; name: string };
  /** RESYNC_MIN_INTERVAL; the settings' value when absent. */
  resyncMinIntervalMs?: number;
};

/** Builds the deps of a run. The logger is the invocation's; clients may be reused across invocations. */
export type ReconcileDepsFactory = (logger: Logger) => Promise<HostReconcileDeps>;

interface Clients {
  settings: Settings;
  port: ReconcileDeps['port'];
  graph: ReconcileDeps['graph'];
  /** One per worker, so a mapping stored in Port keeps its last good version between runs. */
  mapping: NonNullable<ReconcileDeps['mapping']>;
  /** Where the long-lived clients log: the invocation that is running now. */
  setLogger(logger: Logger): void;
}

/** This worker's run, from the moment it asks for the lock until the run ends. */
interface ActiveRun {
  /** Who holds the lock: this run once it has it, or whoever refused it (known once the lock answered). */
  holder: Promise<LockHolder | undefined>;
  done: Promise<RunSummary | undefined>;
}

interface Slot {
  /** The lock answered: `holder` is who holds it now (this run, or the one in its way). */
  settle(holder: LockHolder | undefined): void;
  finish(summary: RunSummary | undefined): void;
}

let clients: Promise<Clients> | undefined;
let factoryOverride: ReconcileDepsFactory | undefined;
let active: ActiveRun | undefined;
let lastAcceptedResyncAt: number | undefined;

const DEFAULT_RESYNC_MIN_INTERVAL_MS = 60_000;
/** The lock note holding when a resync request was last accepted (ISO time), by any instance. */
export const LAST_RESYNC_NOTE = 'lastresyncat';

/** How long until a resync may be accepted again after one accepted at `lastAt`; 0 when it may now. */
function resyncWaitMs(lastAt: number | undefined, now: number, minIntervalMs: number): number {
  if (lastAt === undefined || !Number.isFinite(lastAt)) return 0;
  const since = now - lastAt;
  // A time further in the future than the interval is not to be trusted (a clock far off): it does not block.
  if (since >= minIntervalMs || since < -minIntervalMs) return 0;
  return Math.min(minIntervalMs, lastAt + minIntervalMs - now);
}

async function createClients(): Promise<Clients> {
  const [{ loadSettings }, { createPortClient }, { createResourceGraphReader }, { MappingProvider }] = await Promise.all([
    import('../../settings.js'),
    import('../../port/client.js'),
    import('../../azure/resourceGraph.js'),
    import('../../mapping/source.js'),
  ]);
  const settings = loadSettings();
  let current: Logger | undefined;
  const forward: Logger = {
    debug: (m, f) => current?.debug(m, f),
    info: (m, f) => current?.info(m, f),
    warn: (m, f) => current?.warn(m, f),
    error: (m, f) => current?.error(m, f),
  };
  const port = createPortClient(settings.port, forward);
  return {
    settings,
    port,
    graph: createResourceGraphReader(settings.azure, forward),
    mapping: new MappingProvider({ settings, logger: forward, port }),
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
  return { port: c.port, graph: c.graph, settings: c.settings, logger, mapping: c.mapping };
};

/** Tests, the sandbox and the bench point the host at emulators; undefined restores production wiring. */
export function useReconcileDepsFactory(factory: ReconcileDepsFactory | undefined): void {
  factoryOverride = factory;
  clients = undefined;
  lastAcceptedResyncAt = undefined;
}

/** The lock service outlives invocations; its renewal warnings go to the invocation that is running now. */
let lockLogTarget: Logger | undefined;
const lockLogger: Logger = {
  debug: (m, f) => lockLogTarget?.debug(m, f),
  info: (m, f) => lockLogTarget?.info(m, f),
  warn: (m, f) => lockLogTarget?.warn(m, f),
  error: (m, f) => lockLogTarget?.error(m, f),
};

function depsFor(logger: Logger): Promise<HostReconcileDeps> {
  lockLogTarget = logger;
  return (factoryOverride ?? defaultFactory)(logger);
}

/** Full settings (the production factory and the sandbox pass them), as opposed to a run's narrower view. */
function fullSettings(deps: HostReconcileDeps): Settings | undefined {
  const s = deps.settings as Partial<Settings>;
  return s.runLock && s.port && 'apiUrl' in s.port ? (s as Settings) : undefined;
}

async function runLockOf(deps: HostReconcileDeps): Promise<{ locks: RunLocks; name: string }> {
  if (deps.runLock) return deps.runLock;
  const settings = fullSettings(deps);
  const storage = settings?.runLock.storage;
  if (!settings || !storage) {
    throw new Error(
      'no storage for the run lock: set AzureWebJobsStorage (or AzureWebJobsStorage__blobServiceUri / __accountName); the app never runs a reconciliation without it',
    );
  }
  return { locks: await runLocksFor(storage, lockLogger), name: runLockName(settings) };
}

/**
 * Claims this worker's run slot synchronously, so a concurrent call on this worker is refused without any I/O of
 * its own (it waits only for this call's lock answer, to name the right holder).
 */
function claimSlot(): Slot {
  let settle!: (holder: LockHolder | undefined) => void;
  let finish!: (summary: RunSummary | undefined) => void;
  const holder = new Promise<LockHolder | undefined>((resolve) => (settle = resolve));
  const done = new Promise<RunSummary | undefined>((resolve) => (finish = resolve));
  const slot: ActiveRun = { holder, done };
  active = slot;
  return {
    settle,
    finish: (summary) => {
      if (active === slot) active = undefined;
      settle(undefined);
      finish(summary);
    },
  };
}

/** Read through a function: TypeScript cannot know an await let another call claim the slot. */
function activeSlot(): ActiveRun | undefined {
  return active;
}

/** The run in progress on this worker, if any (tests and the sandbox await it); undefined when none. */
export function currentRun(): Promise<RunSummary | undefined> | undefined {
  return active?.done;
}

/** Runs while holding the lock; the lock is released however the run ends. A lost lock aborts the run. */
async function runHoldingLock(deps: ReconcileDeps, lock: HeldLock, request: ReconcileRequest): Promise<RunSummary> {
  try {
    const { runReconciliation } = await import('./runReconciliation.js');
    return await runReconciliation(deps, { ...request, abortSignal: lock.lost });
  } finally {
    await lock.release();
  }
}

/**
 * Timer tick: runs unless a run holds the lock (here or on any instance), in which case it logs and skips (a
 * pending resync request is honoured by whichever run comes next).
 */
export async function runScheduledReconciliation(logger: Logger): Promise<RunSummary | undefined> {
  if (active) {
    logger.info('reconcile tick skipped: a run is already in progress on this worker', { holder: await active.holder });
    return undefined;
  }
  const slot = claimSlot();
  let summary: RunSummary | undefined;
  try {
    const deps = await depsFor(logger);
    const { locks, name } = await runLockOf(deps);
    const holder = lockHolder('timer');
    const attempt = await locks.tryAcquire(name, holder);
    slot.settle(attempt.acquired ? holder : attempt.holder);
    if (!attempt.acquired) {
      logger.info('reconcile tick skipped: another run holds the run lock', { lock: name, holder: attempt.holder });
      return undefined;
    }
    summary = await runHoldingLock(deps, attempt.lock, { trigger: 'timer' });
    return summary;
  } finally {
    slot.finish(summary);
  }
}

export type ResyncOutcome =
  | { status: 'accepted'; runId: string; mode: RunMode }
  /** A run holds the lock (on this worker or another): nothing was recorded and no Port call was made. */
  | { status: 'running'; holder: LockHolder | undefined }
  /** A request was accepted less than RESYNC_MIN_INTERVAL ago, on this worker or any other: no Port call made. */
  | { status: 'rate-limited'; retryAfterMs: number };

/**
 * Takes the run lock, records the request on the state entity, then starts the run in the background without
 * waiting for it. Throws if the lock storage or Port cannot be reached (the caller answers 5xx: nothing was
 * accepted, and the lock is released).
 */
export async function requestResync(mode: RunMode, logger: Logger): Promise<ResyncOutcome> {
  if (active) return { status: 'running', holder: await active.holder };
  const deps = await depsFor(logger);
  const minIntervalMs = deps.resyncMinIntervalMs ?? fullSettings(deps)?.runLock.resyncMinIntervalMs ?? DEFAULT_RESYNC_MIN_INTERVAL_MS;
  const now = Date.now();
  // This worker's own last acceptance answers without any I/O; the lock's note (below) covers every instance.
  const localWait = resyncWaitMs(lastAcceptedResyncAt, now, minIntervalMs);
  if (localWait > 0) return { status: 'rate-limited', retryAfterMs: localWait };
  // Building deps awaited: another request on this worker may have claimed the slot meanwhile.
  const claimed = activeSlot();
  if (claimed) return { status: 'running', holder: await claimed.holder };
  const runId = randomUUID();
  const slot = claimSlot();
  let lock: HeldLock | undefined;
  try {
    const { locks, name } = await runLockOf(deps);
    const holder = lockHolder('http', runId);
    const attempt = await locks.tryAcquire(name, holder);
    slot.settle(attempt.acquired ? holder : attempt.holder);
    if (!attempt.acquired) {
      slot.finish(undefined);
      return { status: 'running', holder: attempt.holder };
    }
    lock = attempt.lock;
    const globalWait = resyncWaitMs(Date.parse(lock.notes[LAST_RESYNC_NOTE] ?? ''), Date.now(), minIntervalMs);
    if (globalWait > 0) {
      // Accepted on some instance less than RESYNC_MIN_INTERVAL ago: give the lock back, nothing was recorded.
      await lock.release();
      lock = undefined;
      slot.finish(undefined);
      return { status: 'rate-limited', retryAfterMs: globalWait };
    }
    try {
      await lock.note(LAST_RESYNC_NOTE, new Date(now).toISOString());
    } catch (error) {
      // The run may go ahead (it holds the lock); only the global rate limit misses this one acceptance.
      logger.warn('resync accepted, but its time could not be noted on the run lock', { runId, error: String(error) });
    }
    lastAcceptedResyncAt = now;
    await recordRequest(deps, { mode, runId, requestedAt: (deps.now?.() ?? new Date()).toISOString() });
    logger.info('resync requested', { runId, mode });
  } catch (error) {
    await lock?.release();
    slot.finish(undefined);
    throw error;
  }
  runHoldingLock(deps, lock, { mode, runId, trigger: 'http' }).then(
    (summary) => slot.finish(summary),
    (error: unknown) => {
      logger.error('background reconcile run failed', { runId, error });
      slot.finish(undefined);
    },
  );
  return { status: 'accepted', runId, mode };
}

async function recordRequest(deps: ReconcileDeps, request: { mode: RunMode; runId: string; requestedAt: string }): Promise<void> {
  const [{ SyncStateStore }, { stateIdentifierFor, describeScope }, { defaultBlueprints }] = await Promise.all([
    import('./state.js'),
    import('./scope.js'),
    import('../../port/blueprints.js'),
  ]);
  const store = new SyncStateStore(
    deps.port,
    deps.settings.port.blueprints.state,
    stateIdentifierFor(deps.settings.azure),
    describeScope(deps.settings.azure),
  );
  // The state blueprint must exist before the request can be recorded on it (first call on a fresh account).
  await deps.port.ensureBlueprints(defaultBlueprints(deps.settings.port.blueprints));
  await store.recordRequest(request);
}
