/**
 * The Functions wiring, called the way the host calls it (handlers exported; @azure/functions in test mode), with
 * the host's clients pointed at the emulators.
 */
import funcs from '@azure/functions';
import type { Timer } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reconcileHandler } from '../../functions/reconcile.js';
import { resyncHandler } from '../../functions/resync.js';
import { currentRun, useReconcileDepsFactory } from '../../shared/sync/reconcile/host.js';
import { SyncStateStore } from '../../shared/sync/reconcile/state.js';
import { describeScope, stateIdentifierFor } from '../../shared/sync/reconcile/scope.js';
import { seedSmallEstate, startHarness, MINUTE, type Harness } from './harness.js';

const { HttpRequest, InvocationContext } = funcs;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  seedSmallEstate(h.arg);
  useReconcileDepsFactory(async (logger) => h.deps({ logger }));
});
afterAll(async () => {
  useReconcileDepsFactory(undefined);
  await h?.close();
});
afterEach(async () => {
  await currentRun();
});

const context = () => new InvocationContext({ functionName: 'test', logHandler: () => {} });
const post = (query: Record<string, string>) =>
  new HttpRequest({ method: 'POST', url: 'http://localhost/api/resync', query });
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', lastUpdated: '', next: '' } };

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

  it('answers 202 with a run id at once and runs that run in the background', async () => {
    const response = await resyncHandler(post({ mode: 'full' }), context());
    expect(response.status).toBe(202);
    const body = (await response.json()) as { runId: string; mode: string; status: string };
    expect(body).toMatchObject({ mode: 'full', status: 'accepted' });
    expect(body.runId).toMatch(/^[0-9a-f-]{36}$/);
    const run = currentRun();
    expect(run).toBeDefined();
    const summary = await run!;
    expect(summary).toMatchObject({ runId: body.runId, mode: 'full', status: 'succeeded', trigger: 'http' });
    const state = h.stateEntity()!.properties!;
    expect(state.lastRunId).toBe(body.runId);
    // The request was honoured, so it is no longer pending.
    expect(state.requestedRunId ?? null).toBeNull();
    expect(h.catalog()).toEqual(h.expected());
  });

  it('takes window mode too', async () => {
    h.arg.advance(MINUTE);
    const response = await resyncHandler(post({ mode: 'window' }), context());
    expect(response.status).toBe(202);
    const summary = await currentRun()!;
    expect(summary?.mode).toBe('window');
  });
});

describe('reconcile timer', () => {
  it('honours a resync request left pending by a recycled instance', async () => {
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
    h.arg.advance(MINUTE);
    await reconcileHandler(timer, context());
    expect(h.stateEntity()!.properties!.lastRunMode).toBe('window');

    h.arg.advance(MINUTE);
    h.arg.failNext(1, 400, { code: 'BadRequest' });
    await expect(reconcileHandler(timer, context())).rejects.toThrow(/reconcile run .* failed/);
    expect(h.stateEntity()!.properties!.lastRunStatus).toBe('failed');
  });
});
