/**
 * The Functions wiring, called the way the host calls it (handlers exported; @azure/functions in test mode), with
 * the host's clients pointed at the emulators and the run lock on a real Azurite blob service, reached through
 * AzureWebJobsStorage exactly as in production (#11 §1: one reconciliation at a time, across instances).
 *
 * "Another instance" is played by this test holding the lease on the lock blob itself, with another worker's
 * metadata: that is all an instance on another machine shares with this one.
 */
import funcs from '@azure/functions';
import type { Timer } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileHandler } from '../../functions/reconcile.js';
import { resyncHandler } from '../../functions/resync.js';
import { createBlobLeaseLocks } from '../../shared/azure/blobLease.js';
import { createResourceGraphReader, type ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { createLogger, memorySink, type Logger } from '../../shared/log.js';
import { PortClient } from '../../shared/port/client.js';
import * as thisInstance from '../../shared/sync/reconcile/host.js';
import { currentRun, useReconcileDepsFactory, type HostReconcileDeps, type ReconcileDepsFactory } from '../../shared/sync/reconcile/host.js';
import { RUN_LOCK_CONTAINER, runLockName } from '../../shared/sync/reconcile/runLock.js';
import { SyncStateStore } from '../../shared/sync/reconcile/state.js';
import { describeScope, stateIdentifierFor } from '../../shared/sync/reconcile/scope.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { seedSmallEstate, startHarness, MINUTE, type Harness } from './harness.js';

const { HttpRequest, InvocationContext } = funcs;

let h: Harness;
let azurite: AzuriteHandle;
/** Overrides of the host deps for one test (e.g. a rate limit); reset after each. */
let overrides: Partial<HostReconcileDeps> = {};
beforeAll(async () => {
  azurite = await startAzurite();
  // RESYNC_MIN_INTERVAL 0s: these tests send requests back to back; the rate limit has its own test.
  h = await startHarness({ AzureWebJobsStorage: azurite.connectionString, RESYNC_MIN_INTERVAL: '0s' });
  seedSmallEstate(h.arg);
  useReconcileDepsFactory(async (logger) => ({ ...h.deps({ logger }), ...overrides }));
}, 60_000);
afterAll(async () => {
  useReconcileDepsFactory(undefined);
  await h?.close();
  await azurite?.stop();
});
beforeEach(() => {
  useReconcileDepsFactory(async (logger) => ({ ...h.deps({ logger }), ...overrides }));
});
afterEach(async () => {
  await currentRun();
  overrides = {};
});

/** Every log line of the invocations made through context(), as "level message {fields}". */
let logLines: string[] = [];
const context = () =>
  new InvocationContext({ functionName: 'test', logHandler: (level, ...args) => logLines.push(`${level} ${args.join(' ')}`) });
const post = (query: Record<string, string>) => new HttpRequest({ method: 'POST', url: 'http://localhost/api/resync', query });
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', lastUpdated: '', next: '' } };
const lockBlob = () =>
  BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(RUN_LOCK_CONTAINER).getBlockBlobClient(runLockName(h.settings));
const count = (pattern: RegExp) => logLines.filter((l) => pattern.test(l)).length;

/**
 * Forgets when a resync was last accepted (the note every instance reads on the lock blob), so a test of the rate
 * limit does not count the requests of the tests before it. Only while nobody holds the lock.
 */
async function forgetLastResync(): Promise<void> {
  const blob = lockBlob();
  if (await blob.exists()) await blob.setMetadata({});
}

/** A first run, so a test can rely on a cursor whatever ran before it. */
async function ensureSynced(): Promise<void> {
  if (!h.stateEntity()?.properties?.['cursor']) await h.run({ mode: 'full' });
}

/** Takes the lock as a worker on another machine would, and lets it lapse like a dead one (no renewal). */
async function holdLockElsewhere(seconds: number): Promise<string> {
  const blob = lockBlob();
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(RUN_LOCK_CONTAINER).createIfNotExists();
  await blob.upload('', 0).catch(() => undefined);
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(seconds);
  await blob.setMetadata(
    { runid: 'run-on-another-instance', trigger: 'http', startedat: '2026-03-02T07:59:00.000Z', host: 'worker-b' },
    { conditions: { leaseId: lease.leaseId } },
  );
  return lease.leaseId;
}

/** The clients one set of deps was built with, so their Port and Resource Graph calls can be told apart. */
interface Clients {
  port: PortClient;
  graph: ResourceGraphReader;
}
const portCalls = (c: Clients) => c.port.requestCounts().total;

/**
 * A deps factory that builds fresh clients on every call (recorded in `made`), as separate workers have, and,
 * when given, a run lock of its own (its own blob service client and lease).
 */
function clientsPerCall(made: Clients[], runLock?: HostReconcileDeps['runLock']): ReconcileDepsFactory {
  return async (logger) => {
    const port = new PortClient({ ...h.settings.port, logger, backoffBaseMs: 5, maxWaitMs: 50 });
    const graph = createResourceGraphReader(h.settings.azure, logger, { credential: h.arg.credential, retry: { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 20 } });
    made.push({ port, graph });
    return { ...h.deps({ logger }), port, graph, ...(runLock ? { runLock } : {}), ...overrides };
  };
}

type HostModule = typeof thisInstance;

/**
 * Another instance of the Function App: host.ts loaded a second time (its own worker state: run slot, rate-limit
 * memory), with clients of its own and its own blob lease client on the same Azurite account. All it shares with
 * this test's instance is the storage account and Port, as on Azure.
 */
async function otherInstance(): Promise<{ host: HostModule; made: Clients[]; logger: Logger }> {
  const specifier = new URL('../../shared/sync/reconcile/host.ts?instance=other', import.meta.url).href;
  const host = (await import(/* @vite-ignore */ specifier)) as HostModule;
  expect(host.requestResync).not.toBe(thisInstance.requestResync);
  const locks = await createBlobLeaseLocks({ connectionString: azurite.connectionString }, { container: RUN_LOCK_CONTAINER });
  const made: Clients[] = [];
  host.useReconcileDepsFactory(clientsPerCall(made, { locks, name: runLockName(h.settings) }));
  return { host, made, logger: createLogger(memorySink(), 'debug') };
}

describe('POST /api/resync', () => {
  it('rejects a bad mode with 400 naming the parameter, and records nothing', async () => {
    const response = await resyncHandler(post({ mode: 'everything' }), context());
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toMatch(/"mode"/);
    expect(body.error).toMatch(/full.*window/);
    expect(h.stateEntity()).toBeUndefined();
    expect(currentRun()).toBeUndefined();
  });

  it('answers 202 with a run id at once and runs that run in the background, holding the lock until it ends', async () => {
    const response = await resyncHandler(post({ mode: 'full' }), context());
    expect(response.status).toBe(202);
    const body = (await response.json()) as { runId: string; mode: string; status: string };
    expect(body).toMatchObject({ mode: 'full', status: 'accepted' });
    expect(body.runId).toMatch(/^[0-9a-f-]{36}$/);
    const run = currentRun();
    expect(run).toBeDefined();
    expect((await lockBlob().getProperties()).leaseState).toBe('leased');
    const summary = await run!;
    expect(summary).toMatchObject({ runId: body.runId, mode: 'full', status: 'succeeded', trigger: 'http' });
    const state = h.stateEntity()!.properties!;
    expect(state.lastRunId).toBe(body.runId);
    // The request was honoured, so it is no longer pending.
    expect(state.requestedRunId ?? null).toBeNull();
    expect(h.catalog()).toEqual(h.expected());
    expect((await lockBlob().getProperties()).leaseState).toBe('available');
  });

  it('takes window mode too', async () => {
    await ensureSynced();
    h.arg.advance(MINUTE);
    const response = await resyncHandler(post({ mode: 'window' }), context());
    expect(response.status).toBe(202);
    const summary = await currentRun()!;
    expect(summary?.mode).toBe('window');
  });

  it('rate-limits accepted requests with 429 and Retry-After, without any Port call', async () => {
    await ensureSynced();
    await forgetLastResync();
    overrides = { resyncMinIntervalMs: 60_000 };
    useReconcileDepsFactory(async (logger) => ({ ...h.deps({ logger }), ...overrides }));
    h.arg.advance(MINUTE);
    expect((await resyncHandler(post({ mode: 'window' }), context())).status).toBe(202);
    await currentRun();
    h.port.clearRequests();
    const limited = await resyncHandler(post({ mode: 'full' }), context());
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { retryAfterSeconds: number }).retryAfterSeconds).toBe(retryAfter);
    expect(h.port.requests).toEqual([]);
    expect(currentRun()).toBeUndefined();
  });

  it('answers 503 with an error id and no internal message when the lock storage cannot be reached', async () => {
    const unreachable = await startHarnessSettingsWithStorage('DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;');
    overrides = { settings: unreachable };
    h.port.clearRequests();
    const ctx = context();
    const response = await resyncHandler(post({ mode: 'full' }), ctx);
    expect(response.status).toBe(503);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ error: 'the resync could not be started; try again later', errorId: ctx.invocationId });
    expect(logLines.some((l) => l.startsWith('error resync request failed') && l.includes(ctx.invocationId) && l.includes('127.0.0.1:1'))).toBe(true);
    expect(h.port.requests).toEqual([]);
    expect(currentRun()).toBeUndefined();
  }, 30_000);
});

/** The harness settings with another AzureWebJobsStorage (the run lock follows it). */
async function startHarnessSettingsWithStorage(connectionString: string): Promise<HostReconcileDeps['settings']> {
  const { loadSettings } = await import('../../shared/settings.js');
  return loadSettings({ ...h.env, AzureWebJobsStorage: connectionString });
}

describe('one reconciliation at a time (run lock on Azurite)', () => {
  it('two concurrent resync requests and a timer tick make exactly one run; the refused requests get 409', async () => {
    await ensureSynced();
    for (const order of ['requests first', 'timer first'] as const) {
      h.arg.advance(MINUTE);
      logLines = [];
      const made: Clients[] = [];
      useReconcileDepsFactory(clientsPerCall(made));
      h.port.clearRequests();
      const requests = () => [resyncHandler(post({ mode: 'full' }), context()), resyncHandler(post({ mode: 'full' }), context())];
      const tick = async () => {
        // Requests first: let them claim this worker's slot (after building their deps) before the tick arrives.
        if (order === 'requests first') await new Promise((r) => setTimeout(r, 5));
        await reconcileHandler(timer, context());
      };
      // Whoever asks first wins; which one that is depends on the order the calls reach the lock.
      const [a, b] = (order === 'timer first' ? await Promise.all([tick(), ...requests()]).then((r) => r.slice(1)) : await Promise.all([...requests(), tick()])) as Awaited<
        ReturnType<typeof resyncHandler>
      >[];
      await currentRun();
      expect(count(/reconcile run started/), order).toBe(1);
      const accepted = [a!, b!].filter((r) => r.status === 202);
      const refused = [a!, b!].filter((r) => r.status === 409);
      expect(accepted.length + refused.length, order).toBe(2);
      const timerRan = count(/reconcile tick skipped/) === 0;
      expect(accepted.length + (timerRan ? 1 : 0), order).toBe(1);
      const winner = accepted[0] ? ((await accepted[0].json()) as { runId: string }).runId : undefined;
      for (const r of refused) {
        expect(await r.json(), order).toMatchObject({ status: 'already running', trigger: winner ? 'http' : 'timer', ...(winner ? { runId: winner } : {}) });
      }
      if (winner) expect(h.stateEntity()!.properties!.lastRunId).toBe(winner);
      expect(timerRan, order).toBe(order === 'timer first');
      // The refused ones made no Port or Resource Graph call: every Port request came from the one run's clients.
      const busy = made.filter((c) => portCalls(c) > 0 || c.graph.queryCount() > 0);
      expect(busy, order).toHaveLength(1);
      expect(h.port.requests.length, order).toBe(portCalls(busy[0]!));
    }
  });

  it('two instances, each with its own lease client, race for the lock: exactly one runs, the other answers 409 without any Port call', async () => {
    await ensureSynced();
    const other = await otherInstance();
    const made: Clients[] = [];
    for (const round of ['resync here and there', 'timer here, resync there', 'resync here, timer there'] as const) {
      h.arg.advance(MINUTE);
      useReconcileDepsFactory(clientsPerCall(made));
      made.length = 0;
      other.made.length = 0;
      logLines = [];
      h.port.clearRequests();
      const argBefore = h.arg.queryCount();
      const here = round === 'timer here, resync there' ? reconcileHandler(timer, context()).then(() => undefined) : resyncHandler(post({ mode: 'full' }), context());
      const there = round === 'resync here, timer there' ? other.host.runScheduledReconciliation(other.logger).then(() => undefined) : other.host.requestResync('full', other.logger);
      const [responseHere, outcomeThere] = await Promise.all([here, there]);
      await Promise.all([currentRun(), other.host.currentRun()]);

      // Exactly one run started, on one of the two instances.
      const runsHere = count(/reconcile run started/);
      const clients = [...made, ...other.made];
      const busy = clients.filter((c) => portCalls(c) > 0 || c.graph.queryCount() > 0);
      expect(busy, round).toHaveLength(1);
      expect(h.port.requests.length, round).toBe(portCalls(busy[0]!));
      expect(h.arg.queryCount() - argBefore, round).toBe(busy[0]!.graph.queryCount());
      const ranHere = made.includes(busy[0]!);
      expect(runsHere, round).toBe(ranHere ? 1 : 0);
      // The loser says so: 409 (or "running") for a request, a skipped tick for the timer.
      if (responseHere) expect(responseHere.status, round).toBe(ranHere ? 202 : 409);
      if (outcomeThere) expect(outcomeThere.status, round).toBe(ranHere ? 'running' : 'accepted');
      if (!responseHere && ranHere) expect(count(/reconcile tick skipped/), round).toBe(0);
      if (!responseHere && !ranHere) expect(count(/reconcile tick skipped: another run holds the run lock/), round).toBe(1);
      expect((await lockBlob().getProperties()).leaseState, round).toBe('available');
    }
    other.host.useReconcileDepsFactory(undefined);
  });

  it('the resync rate limit holds across instances: a request accepted on one makes the next on another 429, without any Port call', async () => {
    await ensureSynced();
    await forgetLastResync();
    const other = await otherInstance();
    overrides = { resyncMinIntervalMs: 60_000 };
    const made: Clients[] = [];
    useReconcileDepsFactory(clientsPerCall(made));
    h.arg.advance(MINUTE);
    expect((await resyncHandler(post({ mode: 'window' }), context())).status).toBe(202);
    await currentRun();
    h.port.clearRequests();
    other.made.length = 0;
    const limited = await other.host.requestResync('full', other.logger);
    await other.host.currentRun();
    expect(limited.status).toBe('rate-limited');
    const retryAfterMs = limited.status === 'rate-limited' ? limited.retryAfterMs : 0;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(h.port.requests).toEqual([]);
    expect(other.made.every((c) => portCalls(c) === 0 && c.graph.queryCount() === 0)).toBe(true);
    expect(other.host.currentRun()).toBeUndefined();
    // The refusal leaves the lock free for the timer.
    expect((await lockBlob().getProperties()).leaseState).toBe('available');
    other.host.useReconcileDepsFactory(undefined);
  });

  it('a run holding the lock on another instance: requests get 409 and the tick skips, with no Port or Resource Graph call', async () => {
    await ensureSynced();
    const leaseId = await holdLockElsewhere(60);
    try {
      h.port.clearRequests();
      const argBefore = h.arg.queryCount();
      logLines = [];
      const responses = await Promise.all([resyncHandler(post({ mode: 'full' }), context()), resyncHandler(post({ mode: 'window' }), context())]);
      await reconcileHandler(timer, context());
      for (const r of responses) {
        expect(r.status).toBe(409);
        const body = (await r.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ status: 'already running', runId: 'run-on-another-instance', trigger: 'http' });
        // Who holds the lock, not where: the host name stays in the logs.
        expect(JSON.stringify(body)).not.toContain('worker-b');
      }
      expect(count(/reconcile tick skipped: another run holds the run lock/)).toBe(1);
      expect(h.port.requests).toEqual([]);
      expect(h.arg.queryCount()).toBe(argBefore);
    } finally {
      await lockBlob().getBlobLeaseClient(leaseId).releaseLease();
    }
  });

  it('a lease left by a dead worker expires and the next run proceeds', async () => {
    await ensureSynced();
    await holdLockElsewhere(15);
    logLines = [];
    await reconcileHandler(timer, context());
    expect(count(/reconcile tick skipped/)).toBe(1);
    // Nobody renews it: Azure (and Azurite) end a 15 s lease on their own.
    await new Promise((r) => setTimeout(r, 16_000));
    h.arg.advance(MINUTE);
    await reconcileHandler(timer, context());
    expect(count(/reconcile run started/)).toBe(1);
    expect(h.stateEntity()!.properties!.lastRunStatus).toBe('succeeded');
  }, 40_000);

  it('releases the lock when the run fails, so the next request runs at once', async () => {
    await ensureSynced();
    h.arg.advance(MINUTE);
    h.arg.failNext(1, 400, { code: 'BadRequest' });
    await expect(reconcileHandler(timer, context())).rejects.toThrow(/reconcile run .* failed/);
    expect((await lockBlob().getProperties()).leaseState).toBe('available');
    expect((await resyncHandler(post({ mode: 'window' }), context())).status).toBe(202);
    expect((await currentRun())?.status).toBe('succeeded');
  });
});

describe('reconcile timer', () => {
  it('honours a resync request left pending by a recycled instance', async () => {
    await ensureSynced();
    const store = new SyncStateStore(
      h.deps().port,
      h.settings.port.blueprints.state,
      stateIdentifierFor(h.settings.azure),
      describeScope(h.settings.azure),
    );
    await store.recordRequest({ mode: 'full', runId: 'pending-run-1', requestedAt: h.arg.now().toISOString() });
    h.arg.advance(MINUTE);
    await reconcileHandler(timer, context());
    const state = h.stateEntity()!.properties!;
    expect(state.lastRunId).toBe('pending-run-1');
    expect(state.lastRunMode).toBe('full');
    expect(state.requestedRunId ?? null).toBeNull();
  });

  it('runs windowed on an ordinary tick and fails the invocation when the run fails', async () => {
    await ensureSynced();
    h.arg.advance(MINUTE);
    await reconcileHandler(timer, context());
    expect(h.stateEntity()!.properties!.lastRunMode).toBe('window');

    h.arg.advance(MINUTE);
    h.arg.failNext(1, 400, { code: 'BadRequest' });
    await expect(reconcileHandler(timer, context())).rejects.toThrow(/reconcile run .* failed/);
    expect(h.stateEntity()!.properties!.lastRunStatus).toBe('failed');
  });
});
