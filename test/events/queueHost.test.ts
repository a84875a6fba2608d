/**
 * The queue host stand-in must behave like the Functions host where our handler can tell the difference; the
 * benchmark relies on it too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationContext } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { createQueueHost, readHostQueuesConfig } from '../support/queueHost.js';

let azurite: AzuriteHandle;
beforeAll(async () => {
  azurite = await startAzurite();
}, 30_000);
afterAll(async () => azurite?.stop());

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');

describe('readHostQueuesConfig', () => {
  it('reads the repo host.json', () => {
    expect(readHostQueuesConfig()).toEqual({
      batchSize: 32,
      newBatchThreshold: 480,
      maxDequeueCount: 5,
      visibilityTimeoutMs: 30_000,
      maxPollingIntervalMs: 2_000,
      messageEncoding: 'base64',
    });
  });
});

describe('QueueHost', () => {
  it('decodes base64, parses JSON, and promotes payload properties over the queue metadata (the id clash)', async () => {
    const seen: { message: unknown; metadata: Record<string, unknown> }[] = [];
    const host = await createQueueHost({
      connectionString: azurite.connectionString,
      queueName: 'host-meta',
      handler: async (message: unknown, context: InvocationContext) => {
        seen.push({ message, metadata: context.triggerMetadata as Record<string, unknown> });
      },
    });
    const sent = await host.queue.sendMessage(b64({ id: 'event-id', eventType: 'x' }));
    await host.queue.sendMessage(b64('plain text'));
    await host.drain();
    const json = seen.find((s) => typeof s.message === 'object')!;
    expect(json.message).toEqual({ id: 'event-id', eventType: 'x' });
    expect(json.metadata).toMatchObject({ id: 'event-id', eventType: 'x', dequeueCount: 1, queueTrigger: { id: 'event-id', eventType: 'x' } });
    expect(json.metadata['id']).not.toBe(sent.messageId);
    expect(typeof json.metadata['popReceipt']).toBe('string');
    expect(seen.find((s) => typeof s.message === 'string')?.message).toBe('plain text');
  });

  it('retries a throwing handler after visibilityTimeout and poisons it verbatim at maxDequeueCount', async () => {
    let calls = 0;
    const host = await createQueueHost({
      connectionString: azurite.connectionString,
      queueName: 'host-retry',
      config: { maxDequeueCount: 3, visibilityTimeoutMs: 0 },
      handler: async (message: unknown) => {
        calls += 1;
        if (message === 'flaky' && calls < 2) throw new Error('transient');
        if (message === 'always') throw new Error('permanent');
      },
    });
    const flaky = await host.queue.sendMessage(b64('flaky'));
    const always = await host.queue.sendMessage(b64('always'));
    await host.drain();
    const outcomes = (id: string) => host.invocations.filter((i) => i.messageId === id).map((i) => [i.outcome, i.dequeueCount]);
    expect(outcomes(flaky.messageId)).toEqual([
      ['failed', 1],
      ['succeeded', 2],
    ]);
    expect(outcomes(always.messageId)).toEqual([
      ['failed', 1],
      ['failed', 2],
      ['poisoned', 3],
    ]);
    const poison = await QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('host-retry-poison').peekMessages();
    expect(poison.peekedMessageItems.map((m) => m.messageText)).toEqual([b64('always')]);
  });

  it('never runs more than batchSize + newBatchThreshold invocations at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const host = await createQueueHost({
      connectionString: azurite.connectionString,
      queueName: 'host-concurrency',
      config: { batchSize: 4, newBatchThreshold: 2 },
      handler: async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight -= 1;
      },
    });
    for (let i = 0; i < 20; i++) await host.queue.sendMessage(b64({ n: i }));
    const result = await host.drain();
    expect(result.invocations).toBe(20);
    expect(peak).toBeGreaterThan(2);
    expect(peak).toBeLessThanOrEqual(6);
  });
});
