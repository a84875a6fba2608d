/**
 * An in-memory queue with the Functions host's queue semantics (concurrency batchSize + newBatchThreshold,
 * visibility delays, dequeueCount, retry after visibilityTimeout, poison after maxDequeueCount), for measuring
 * the event path without Azurite. Azurite's in-memory queue slows down as it grows (measured: about 150 messages/s
 * with 1,500 queued, a few per second with 27,000, Azurite at full CPU while the app idled), so at 30,000 messages
 * the bench through Azurite measures Azurite; this host shows what our code does with a queue that keeps up
 * (Azure Storage's published target for one queue is up to 2,000 1-KiB messages per second).
 */
import { randomUUID } from 'node:crypto';
import funcs from '@azure/functions';
import type { InvocationContext as InvocationContextType } from '@azure/functions';
import type { QueueSender } from '../../shared/sync/events/recheck.js';
import type { QueuesConfig } from '../support/queueHost.js';

const { InvocationContext } = funcs;

interface Message {
  id: string;
  /** Built when delivered, so the queue's contents do not count in the app's RSS (Azurite holds them elsewhere). */
  text: string | (() => string);
  visibleAt: number;
  dequeueCount: number;
}

export type Handler = (message: unknown, context: InvocationContextType) => Promise<unknown>;

export class MemoryHost {
  private queue: Message[] = [];
  readonly outcomes: Record<'succeeded' | 'failed' | 'poisoned', number> = { succeeded: 0, failed: 0, poisoned: 0 };
  readonly poison: string[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly config: QueuesConfig,
  ) {}

  add(text: string | (() => string), delayMs = 0): void {
    this.queue.push({ id: randomUUID(), text, visibleAt: Date.now() + delayMs, dequeueCount: 0 });
  }

  /** Where the processor sends its re-checks (visibilityTimeout in seconds, like the storage SDK). */
  sender(): QueueSender {
    return {
      sendMessage: async (text, options) => {
        this.add(text, (options?.visibilityTimeout ?? 0) * 1000);
        return {};
      },
    };
  }

  poisonSender(): QueueSender {
    return {
      sendMessage: async (text) => {
        this.poison.push(text);
        return {};
      },
    };
  }

  /** Runs until the queue (delayed messages included) and in-flight work are empty. */
  async drain(): Promise<void> {
    const concurrency = this.config.batchSize + this.config.newBatchThreshold;
    const running = new Set<Promise<void>>();
    for (;;) {
      const now = Date.now();
      while (running.size < concurrency) {
        const index = this.queue.findIndex((m) => m.visibleAt <= now);
        if (index < 0) break;
        const [message] = this.queue.splice(index, 1);
        const run = this.invoke(message!).finally(() => running.delete(run));
        running.add(run);
      }
      if (running.size > 0) {
        await Promise.race(running);
        continue;
      }
      if (this.queue.length === 0) return;
      const next = Math.min(...this.queue.map((m) => m.visibleAt));
      await new Promise((r) => setTimeout(r, Math.max(1, next - Date.now())));
    }
  }

  private async invoke(message: Message): Promise<void> {
    message.dequeueCount++;
    const body = typeof message.text === 'function' ? message.text() : message.text;
    const text = Buffer.from(body, 'base64').toString('utf8');
    let payload: unknown = text;
    try {
      payload = JSON.parse(text);
    } catch {
      // the host hands non-JSON text over as a string
    }
    const promoted = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: 'resourceEvents',
      triggerMetadata: { dequeueCount: message.dequeueCount, id: message.id, queueTrigger: payload, ...promoted },
      logHandler: () => {},
    });
    try {
      await this.handler(payload, context);
      this.outcomes.succeeded++;
    } catch {
      if (message.dequeueCount >= this.config.maxDequeueCount) {
        this.outcomes.poisoned++;
        this.poison.push(body);
      } else {
        this.outcomes.failed++;
        message.visibleAt = Date.now() + this.config.visibilityTimeoutMs;
        this.queue.push(message);
      }
    }
  }
}
