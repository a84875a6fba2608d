/**
 * S6's virtual time. Freshness is dominated by waits of seconds to minutes (Resource Graph lag, Event Grid delivery,
 * re-check delays, the settle time), so S6 runs on a clock that flows with real time while anything is in flight
 * (HTTP to the emulators, the handler's batches: their real cost counts) and jumps ahead when everything is idle,
 * waiting only for the next scheduled thing. The application code is the real one; only its clock, the queue and
 * the emulators' clocks are this one.
 *
 * SimQueue is the events queue with the Functions host's semantics (concurrency, visibility delays, dequeueCount,
 * retry after visibilityTimeout, poison after maxDequeueCount) on the virtual clock, delivering to the real handler.
 */
import { randomUUID } from 'node:crypto';
import funcs from '@azure/functions';
import type { InvocationContext as InvocationContextType } from '@azure/functions';
import type { QueueSender } from '../../../shared/sync/events/recheck.js';
import type { QueuesConfig } from '../../support/queueHost.js';
import type { Timers } from '../../../shared/sync/events/watch.js';

const { InvocationContext } = funcs;

export class SimClock {
  private offset = 0;
  /** Virtual ms: real time plus every jump so far. */
  now(): number {
    return Date.now() + this.offset;
  }
  jump(ms: number): void {
    if (ms > 0) this.offset += ms;
  }
}

/** setTimeout on the virtual clock: the driver fires what is due and jumps to the next one when idle. */
export class SimTimers implements Timers {
  private readonly entries = new Map<number, { at: number; callback: () => void }>();
  private next = 1;
  constructor(private readonly clock: SimClock) {}
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.entries.set(id, { at: this.clock.now() + Math.max(0, ms), callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.entries.delete(handle as number);
  }
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const e of this.entries.values()) if (min === undefined || e.at < min) min = e.at;
    return min;
  }
  fireDue(): void {
    const now = this.clock.now();
    for (const [id, e] of [...this.entries]) {
      if (e.at > now) continue;
      this.entries.delete(id);
      e.callback();
    }
  }
}

interface SimMessage {
  id: string;
  text: string;
  visibleAt: number;
  dequeueCount: number;
}

export type Handler = (message: unknown, context: InvocationContextType) => Promise<unknown>;

export class SimQueue {
  private messages: SimMessage[] = [];
  private readonly running = new Set<Promise<void>>();
  readonly outcomes = { succeeded: 0, failed: 0, poisoned: 0 };
  readonly poison: string[] = [];
  /** Messages sent by the application (re-checks), with their delays. */
  readonly sent: { delayMs: number }[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly config: QueuesConfig,
    private readonly clock: SimClock,
    private readonly onSettled: () => void,
  ) {}

  add(text: string, delayMs = 0): void {
    this.messages.push({ id: randomUUID(), text, visibleAt: this.clock.now() + delayMs, dequeueCount: 0 });
  }

  sender(): QueueSender {
    return {
      sendMessage: async (text, options) => {
        const delayMs = (options?.visibilityTimeout ?? 0) * 1000;
        this.sent.push({ delayMs });
        this.add(text, delayMs);
        return { messageId: randomUUID(), popReceipt: randomUUID() };
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

  get idle(): boolean {
    return this.running.size === 0;
  }

  get empty(): boolean {
    return this.messages.length === 0;
  }

  nextVisibleAt(): number | undefined {
    let min: number | undefined;
    for (const m of this.messages) if (min === undefined || m.visibleAt < min) min = m.visibleAt;
    return min;
  }

  /** Starts invocations for the visible messages, up to the host's concurrency. */
  startVisible(): void {
    const concurrency = this.config.batchSize + this.config.newBatchThreshold;
    const now = this.clock.now();
    if (this.running.size >= concurrency) return;
    const visible: SimMessage[] = [];
    const rest: SimMessage[] = [];
    for (const m of this.messages) (m.visibleAt <= now && this.running.size + visible.length < concurrency ? visible : rest).push(m);
    this.messages = rest;
    for (const m of visible) {
      const run = this.invoke(m).finally(() => {
        this.running.delete(run);
        this.onSettled();
      });
      this.running.add(run);
    }
  }

  /** Resolves when any running invocation finishes. */
  async anySettled(): Promise<void> {
    if (this.running.size > 0) await Promise.race(this.running);
  }

  private async invoke(message: SimMessage): Promise<void> {
    message.dequeueCount++;
    const text = Buffer.from(message.text, 'base64').toString('utf8');
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
        this.poison.push(message.text);
      } else {
        this.outcomes.failed++;
        message.visibleAt = this.clock.now() + this.config.visibilityTimeoutMs;
        this.messages.push(message);
      }
    }
  }
}

/** Nearest-rank percentiles; null where the rank falls on a change that never reached its final state. */
export function percentiles(values: number[], unreached: number): { p50: number | null; p95: number | null; p99: number | null; max: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  const total = sorted.length + unreached;
  const at = (p: number): number | null => {
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    return rank <= sorted.length ? Math.round(sorted[rank - 1]!) : null;
  };
  return { p50: at(50), p95: at(95), p99: at(99), max: unreached > 0 ? null : at(100) };
}
