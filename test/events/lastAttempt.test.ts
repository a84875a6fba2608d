/**
 * Issue #11 §2: after maxDequeueCount failed attempts the Functions host copies the original message, claims and
 * all, to `<queue>-poison`. The handler takes over the last allowed attempt: a failure there stores the stripped
 * copy with the reason and completes the message, so the host's own poison route is never taken.
 * Real Azurite and test/support/queueHost.ts (the host's retry and poison semantics, host.json's maxDequeueCount).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPortIdentifier } from '../../shared/azure/resourceId.js';
import { RetryableError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS } from '../../shared/port/blueprints.js';
import { EventProcessor } from '../../shared/sync/events/apply.js';
import { findHostJson, isLastAttempt, readMaxDequeueCount } from '../../shared/sync/events/lastAttempt.js';
import { parseQueueMessage } from '../../shared/sync/events/message.js';
import { readHostQueuesConfig } from '../support/queueHost.js';
import { CapturingScheduler, FakePort, FakeResourceGraph } from './fakes.js';
import { BP, createRig, startServices, type Services } from './harness.js';
import { personalDataIn } from './layers.js';
import { deleteEvent, writeEvent } from './samples.js';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-last`;
const ACCOUNT = `${RG}/providers/Microsoft.Storage/storageAccounts/lastacct`;

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

let services: Services;

beforeAll(async () => {
  services = await startServices();
  services.arg.upsertSubscription({ id: `/subscriptions/${SUB}` });
  services.arg.upsertResourceGroup({ id: RG, location: 'westeurope' });
  services.arg.upsertResource({ id: ACCOUNT, location: 'westeurope' });
}, 60_000);

afterAll(async () => {
  await services?.close();
});

describe('the last allowed attempt', () => {
  // The delete sample carries claims, authorization and httpRequest; sent as Event Grid does (base64 JSON), as a
  // JSON string inside base64 (what a replay of a hand-made message looks like), and as base64 JSON inside the
  // host's base64 (a message already base64-encoded by its sender, then again by a queue client that encodes).
  const event = deleteEvent({ resourceId: ACCOUNT, eventTime: new Date(Date.now() - 10 * 60_000) });
  const encodings: [string, string][] = [
    ['base64 JSON', b64(JSON.stringify(event))],
    ['a JSON string in base64', b64(JSON.stringify(JSON.stringify(event)))],
    ['base64 of base64 JSON', b64(b64(JSON.stringify(event)))],
  ];

  for (const [label, queueText] of encodings) {
    it(`${label}: fails four times, then is poisoned by the handler, stripped, with the reason, and completed`, async () => {
      const rig = await createRig(services, { subscriptionIds: [SUB], host: { visibilityTimeoutMs: 0 } });
      try {
        // Port is down for every attempt (the resource is still listed, so the settled delete becomes an upsert).
        services.port.setFaults({ serverErrorRate: 1, serverErrorStatus: 503 });
        expect(personalDataIn(queueText)).not.toEqual([]);
        const messageId = await rig.sendText(queueText);
        await rig.host.drain({ horizonMs: 20_000 });
        const attempts = rig.host.invocations.filter((i) => i.messageId === messageId);
        expect(attempts.map((a) => [a.dequeueCount, a.outcome])).toEqual([
          [1, 'failed'],
          [2, 'failed'],
          [3, 'failed'],
          [4, 'failed'],
          [5, 'succeeded'],
        ]);
        const poisoned = await rig.poison.peekMessages({ numberOfMessages: 32 });
        expect(poisoned.peekedMessageItems).toHaveLength(1);
        const text = poisoned.peekedMessageItems[0]!.messageText;
        expect(personalDataIn(text)).toEqual([]);
        const envelope = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>;
        // The body keeps its encoding below the host's layer (so it replays as it came), stripped at every layer.
        expect(typeof envelope['body']).toBe(label === 'base64 JSON' ? 'object' : 'string');
        expect(envelope).toMatchObject({ azurePortSyncPoisoned: 1, reason: expect.stringMatching(/last allowed attempt \(5 of 5\)/) });
        expect(envelope['reason']).toMatch(/503/);
        // The stored body replays as the event it was.
        expect(await parseQueueMessage(envelope)).toMatchObject({ kind: 'event', event: { id: event['id'], resourceUri: ACCOUNT } });
        const line = rig.host.logs.find((l) => l.messageId === messageId && l.level === 'error');
        expect(line?.message).toMatch(/moved to the poison queue/);
        expect(rig.processor.counters.get('poisoned')).toBe(1);
      } finally {
        services.port.setFaults({});
        await rig.close();
      }
    }, 60_000);
  }

  it('an attempt before the last one that fails is left to the host to retry, and a later success applies it', async () => {
    const rig = await createRig(services, { subscriptionIds: [SUB], host: { visibilityTimeoutMs: 0 } });
    try {
      // Two attempts' worth of failures (the reader tries twice per attempt), then Resource Graph answers.
      services.arg.failNext(4, 503, { retryAfterSeconds: 0 });
      const messageId = await rig.send(writeEvent({ resourceId: ACCOUNT, eventTime: new Date(Date.now() - 10 * 60_000) }));
      await rig.host.drain({ horizonMs: 20_000 });
      expect(rig.host.invocations.filter((i) => i.messageId === messageId).map((a) => a.outcome)).toEqual(['failed', 'failed', 'succeeded']);
      expect(services.port.entity(BP.resource, toPortIdentifier(ACCOUNT))).toBeDefined();
      expect((await rig.poison.peekMessages()).peekedMessageItems).toEqual([]);
    } finally {
      await rig.close();
    }
  }, 60_000);
});

describe('maxDequeueCount comes from host.json only', () => {
  it('is the value the host (and its stand-in) uses', () => {
    expect(findHostJson()).toBe(path.resolve(import.meta.dirname, '..', '..', 'host.json'));
    expect(readMaxDequeueCount()).toBe(readHostQueuesConfig().maxDequeueCount);
    expect(readMaxDequeueCount()).toBe(5);
  });

  it('uses the extension default when unset and names a bad value', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hostjson-'));
    const file = path.join(dir, 'host.json');
    writeFileSync(file, JSON.stringify({ version: '2.0' }));
    expect(readMaxDequeueCount(file)).toBe(5);
    writeFileSync(file, JSON.stringify({ extensions: { queues: { maxDequeueCount: '5' } } }));
    expect(() => readMaxDequeueCount(file)).toThrow(/maxDequeueCount must be a whole number ≥ 1, got "5"/);
    expect(isLastAttempt(5, 5)).toBe(true);
    expect(isLastAttempt(4, 5)).toBe(false);
    expect(isLastAttempt(undefined, 5)).toBe(false);
  });
});

describe('when the poison queue itself fails on the last attempt', () => {
  it('the failure is thrown, so the message is not lost (the host route is all that is left)', async () => {
    const arg = new FakeResourceGraph();
    const ACCT = `${RG}/providers/Microsoft.Storage/storageAccounts/acct`;
    arg.failNext = new RetryableError('Resource Graph 503', { source: 'resource-graph', status: 503 });
    const processor = new EventProcessor(
      {
        port: new FakePort(),
        resourceGraph: arg,
        blueprints: DEFAULT_BLUEPRINT_IDS,
        recheck: new CapturingScheduler(),
        poison: {
          moveToPoison: async () => {
            throw new RetryableError('poison queue unavailable', { source: 'queue', status: 503 });
          },
        },
        logger: silentLogger,
      },
      { flushWindowMs: 1, settleTimeMs: 1_000, subscriptionIds: [], includeResourceTypes: [], excludeResourceTypes: [] },
    );
    const message = writeEvent({ resourceId: ACCT, eventTime: new Date(Date.now() - 60_000) });
    await expect(processor.handle(message, { dequeueCount: 5, maxDequeueCount: 5 })).rejects.toThrow(/poison queue unavailable/);
    expect(processor.counters.get('poisoned')).toBe(0);
  });
});
