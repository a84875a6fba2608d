/**
 * A stand-in for the Functions host's queue listener, close enough that handler tests and the bench exercise the
 * same contract as production:
 * - receives batches of host.json `batchSize`, fetching again once in-flight work drops to `newBatchThreshold`;
 * - base64-decodes (`messageEncoding`), then converts like the Node worker: string → JSON.parse if it parses;
 * - builds an InvocationContext whose triggerMetadata has the queue fields AND the payload's top-level properties
 *   promoted over them (so an event's `id` clashes with the queue message id, as in the real host);
 * - deletes on success; on a throw makes the message visible again after `visibilityTimeout`, or copies it verbatim
 *   to `<queue>-poison` once `dequeueCount` reached `maxDequeueCount`. A body that is not valid base64 fails the
 *   invocation without calling the handler, like the host's decode step.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import funcs from '@azure/functions';
import type { InvocationContext as InvocationContextType } from '@azure/functions';
import { QueueServiceClient, type QueueClient, type DequeuedMessageItem } from '@azure/storage-queue';

const { InvocationContext } = funcs;

export interface QueuesConfig {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
  messageEncoding: 'base64' | 'none';
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function timeSpanMs(value: unknown, field: string): number {
  if (typeof value !== 'string') throw new Error(`host.json extensions.queues.${field} must be a "hh:mm:ss" string`);
  const match = /^(\d+):(\d{2}):(\d{2})(\.\d+)?$/.exec(value);
  if (!match) throw new Error(`host.json extensions.queues.${field} is not "hh:mm:ss": "${value}"`);
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4] ?? 0)) * 1000;
}

/** extensions.queues from host.json, with the extension's defaults where a value is absent. */
export function readHostQueuesConfig(hostJsonPath = path.join(REPO_ROOT, 'host.json')): QueuesConfig {
  const host = JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { extensions?: { queues?: Record<string, unknown> } };
  const q = host.extensions?.queues ?? {};
  const batchSize = typeof q['batchSize'] === 'number' ? q['batchSize'] : 16;
  return {
    batchSize,
    newBatchThreshold: typeof q['newBatchThreshold'] === 'number' ? q['newBatchThreshold'] : Math.floor(batchSize / 2),
    maxDequeueCount: typeof q['maxDequeueCount'] === 'number' ? q['maxDequeueCount'] : 5,
    visibilityTimeoutMs: q['visibilityTimeout'] === undefined ? 0 : timeSpanMs(q['visibilityTimeout'], 'visibilityTimeout'),
    maxPollingIntervalMs:
      q['maxPollingInterval'] === undefined ? 60_000 : timeSpanMs(q['maxPollingInterval'], 'maxPollingInterval'),
    messageEncoding: q['messageEncoding'] === 'none' ? 'none' : 'base64',
  };
}

export type QueueHandler = (message: unknown, context: InvocationContextType) => Promise<unknown>;

export interface QueueHostOptions {
  connectionString: string;
  queueName: string;
  handler: QueueHandler;
  functionName?: string;
  /** Overrides host.json values (tests shorten visibilityTimeout and polling). */
  config?: Partial<QueuesConfig>;
  hostJsonPath?: string;
  /** Shortest idle poll; the interval doubles up to maxPollingInterval. Default 50 ms. */
  minPollingIntervalMs?: number;
  /** Invisibility while a message is being processed (the real host renews a 10-minute lease). Default 5 min. */
  processingVisibilityMs?: number;
  /** Receives the invocation's log calls. Default: kept in `logs`. */
  logHandler?: (level: string, message: string) => void;
}

export interface InvocationRecord {
  messageId: string;
  dequeueCount: number;
  outcome: 'succeeded' | 'failed' | 'poisoned' | 'decodeFailed';
  error?: unknown;
}

export interface DrainResult {
  /** Messages still in the queue (delayed past the horizon). */
  remaining: number;
  invocations: number;
  timedOut: boolean;
}

function decodeBase64Strict(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}

function tryJsonParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class QueueHost {
  readonly config: QueuesConfig;
  readonly queue: QueueClient;
  readonly poisonQueue: QueueClient;
  readonly invocations: InvocationRecord[] = [];
  readonly logs: { level: string; message: string; messageId: string }[] = [];
  /** Storage errors the listener survived (receive, delete or update failures). */
  readonly errors: unknown[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: QueueHostOptions) {
    this.config = { ...readHostQueuesConfig(options.hostJsonPath), ...options.config };
    const service = QueueServiceClient.fromConnectionString(options.connectionString);
    this.queue = service.getQueueClient(options.queueName);
    this.poisonQueue = service.getQueueClient(`${options.queueName}-poison`);
  }

  async init(): Promise<void> {
    await this.queue.createIfNotExists();
    await this.poisonQueue.createIfNotExists();
  }

  /** Starts listening. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.listen();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Runs until the queue (visible and delayed messages) and in-flight work are empty, or until `horizonMs` has
   * passed; messages delayed beyond the horizon are left in the queue and counted in `remaining`.
   */
  async drain(options: { horizonMs?: number } = {}): Promise<DrainResult> {
    const horizon = Date.now() + (options.horizonMs ?? 15_000);
    const before = this.invocations.length;
    const wasRunning = this.running;
    this.start();
    let remaining = 0;
    let timedOut = false;
    for (;;) {
      await new Promise((r) => setTimeout(r, 25));
      if (this.inFlight.size > 0) continue;
      const props = await this.queue.getProperties();
      remaining = props.approximateMessagesCount ?? 0;
      // Re-check after a beat: a handler may have just enqueued (re-checks) or the listener just received.
      if (remaining === 0 && this.inFlight.size === 0) {
        await new Promise((r) => setTimeout(r, 50));
        const again = await this.queue.getProperties();
        remaining = again.approximateMessagesCount ?? 0;
        if (remaining === 0 && this.inFlight.size === 0) break;
      }
      if (Date.now() >= horizon) {
        timedOut = remaining > 0;
        break;
      }
    }
    if (!wasRunning) await this.stop();
    return { remaining, invocations: this.invocations.length - before, timedOut };
  }

  private async listen(): Promise<void> {
    const minPoll = this.options.minPollingIntervalMs ?? 50;
    let idleDelay = minPoll;
    while (this.running) {
      if (this.inFlight.size > this.config.newBatchThreshold) {
        await Promise.race([...this.inFlight]);
        continue;
      }
      let items: DequeuedMessageItem[] = [];
      try {
        const response = await this.queue.receiveMessages({
          numberOfMessages: this.config.batchSize,
          visibilityTimeout: Math.ceil((this.options.processingVisibilityMs ?? 300_000) / 1000),
        });
        items = response.receivedMessageItems;
      } catch (error) {
        if (!this.running) break;
        // A transient storage failure: the real host logs and keeps polling.
        this.errors.push(error);
        await new Promise((r) => setTimeout(r, idleDelay));
        continue;
      }
      if (items.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idleDelay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        idleDelay = Math.min(idleDelay * 2, this.config.maxPollingIntervalMs);
        continue;
      }
      idleDelay = minPoll;
      for (const item of items) {
        const run = this.process(item).catch((error: unknown) => {
          // Settling the message failed (e.g. the pop receipt expired): it reappears, as with the real host.
          this.errors.push(error);
        });
        this.inFlight.add(run);
        void run.finally(() => this.inFlight.delete(run));
      }
    }
  }

  private context(item: DequeuedMessageItem, payload: unknown): InvocationContextType {
    const promoted =
      typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
    return new InvocationContext({
      invocationId: randomUUID(),
      functionName: this.options.functionName ?? 'resourceEvents',
      triggerMetadata: {
        dequeueCount: item.dequeueCount,
        id: item.messageId,
        popReceipt: item.popReceipt,
        insertionTime: item.insertedOn.toISOString(),
        expirationTime: item.expiresOn.toISOString(),
        nextVisibleTime: item.nextVisibleOn.toISOString(),
        queueTrigger: payload,
        ...promoted,
      },
      logHandler: (level, ...args) => {
        const message = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
        this.logs.push({ level, message, messageId: item.messageId });
        this.options.logHandler?.(level, message);
      },
    });
  }

  private async process(item: DequeuedMessageItem): Promise<void> {
    let text: string | undefined = item.messageText;
    if (this.config.messageEncoding === 'base64') text = decodeBase64Strict(item.messageText);
    if (text === undefined) {
      await this.fail(item, new Error('message is not valid base64 (host.json messageEncoding is base64)'), 'decodeFailed');
      return;
    }
    const payload = tryJsonParse(text);
    try {
      await this.options.handler(payload, this.context(item, payload));
    } catch (error) {
      await this.fail(item, error, 'failed');
      return;
    }
    this.invocations.push({ messageId: item.messageId, dequeueCount: item.dequeueCount, outcome: 'succeeded' });
    try {
      await this.queue.deleteMessage(item.messageId, item.popReceipt);
    } catch (error) {
      // As the real host does: log it; the message reappears after its lease and is handled again (idempotently).
      this.errors.push(error);
    }
  }

  private async fail(item: DequeuedMessageItem, error: unknown, outcome: 'failed' | 'decodeFailed'): Promise<void> {
    if (item.dequeueCount >= this.config.maxDequeueCount) {
      await this.poisonQueue.sendMessage(item.messageText, { messageTimeToLive: -1 });
      await this.queue.deleteMessage(item.messageId, item.popReceipt);
      this.invocations.push({ messageId: item.messageId, dequeueCount: item.dequeueCount, outcome: 'poisoned', error });
      return;
    }
    await this.queue.updateMessage(item.messageId, item.popReceipt, undefined, Math.ceil(this.config.visibilityTimeoutMs / 1000));
    this.invocations.push({ messageId: item.messageId, dequeueCount: item.dequeueCount, outcome, error });
  }
}

/** Creates and initialises a host (queues created). Call start() or drain(). */
export async function createQueueHost(options: QueueHostOptions): Promise<QueueHost> {
  const host = new QueueHost(options);
  await host.init();
  return host;
}
