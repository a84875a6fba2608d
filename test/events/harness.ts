/**
 * End-to-end rig for the real-time path: Azurite (queue), the Port emulator, the Resource Graph emulator, the real
 * Port client and Resource Graph reader, the real EventProcessor, and the exported function handler driven by
 * test/support/queueHost.ts. One rig per test file; each test gets its own queue.
 */
import { randomUUID } from 'node:crypto';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { createPortClient, type PortClient } from '../../shared/port/client.js';
import { DEFAULT_BLUEPRINT_IDS, defaultBlueprints } from '../../shared/port/blueprints.js';
import { createLogger, memorySink } from '../../shared/log.js';
import { EventProcessor, type Clock } from '../../shared/sync/events/apply.js';
import { QueuePoisonMover } from '../../shared/sync/events/poison.js';
import { QueueRecheckScheduler, encodeQueueMessage, type RecheckMessage, type RecheckScheduler } from '../../shared/sync/events/recheck.js';
import { resourceEventsHandler, useEventProcessor } from '../../functions/resourceEvents.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { createQueueHost, type QueueHost, type QueuesConfig } from '../support/queueHost.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator, type ResourceGraphEmulatorOptions } from '../emulators/resourceGraph/server.js';

export const BP = DEFAULT_BLUEPRINT_IDS;

export interface Services {
  azurite: AzuriteHandle;
  port: PortEmulator;
  arg: ResourceGraphEmulator;
  close(): Promise<void>;
}

export async function startServices(argOptions: ResourceGraphEmulatorOptions = {}): Promise<Services> {
  const [azurite, arg] = await Promise.all([startAzurite(), startResourceGraphEmulator(argOptions)]);
  // One clock for both services, as in production (Port's updatedAt is compared with a run's start).
  const port = await startPortEmulator({ clock: () => arg.now() });
  return {
    azurite,
    port,
    arg,
    async close() {
      await Promise.allSettled([azurite.stop(), port.close(), arg.close()]);
    },
  };
}

/**
 * Holds re-checks in memory against a virtual clock instead of the queue's real-time visibility delay, then
 * releases due ones into the real queue. Lets a test with a 60 s Resource Graph lag run in well under a second.
 */
export class VirtualDelayScheduler implements RecheckScheduler {
  readonly held: { message: RecheckMessage; dueAt: number }[] = [];
  constructor(
    private readonly clock: Clock,
    private readonly queue: QueueClient,
  ) {}
  async schedule(message: RecheckMessage, delayMs: number): Promise<void> {
    this.held.push({ message, dueAt: this.clock.now() + Math.max(1_000, Math.ceil(delayMs / 1000) * 1000) });
  }
  /** The earliest due time held, if any. */
  nextDue(): number | undefined {
    return this.held.reduce<number | undefined>((min, h) => (min === undefined || h.dueAt < min ? h.dueAt : min), undefined);
  }
  /** Sends every held re-check that is due by the virtual clock; returns how many. */
  async release(): Promise<number> {
    const now = this.clock.now();
    const due = this.held.filter((h) => h.dueAt <= now);
    for (const h of due) {
      this.held.splice(this.held.indexOf(h), 1);
      await this.queue.sendMessage(encodeQueueMessage(h.message));
    }
    return due.length;
  }
}

export interface RigOptions {
  settleTimeMs?: number;
  flushWindowMs?: number;
  subscriptionIds?: string[];
  /** 'queue' (default): real delayed queue messages. 'virtual': VirtualDelayScheduler on the ARG emulator clock. */
  recheck?: 'queue' | 'virtual';
  /** Port client attempts per call (default 2, so injected faults surface quickly). */
  portRetryMaxAttempts?: number;
  host?: Partial<QueuesConfig>;
}

export interface Rig {
  queueName: string;
  queue: QueueClient;
  poison: QueueClient;
  host: QueueHost;
  processor: EventProcessor;
  portClient: PortClient;
  reader: ResourceGraphReader;
  sink: ReturnType<typeof memorySink>;
  virtual: VirtualDelayScheduler | undefined;
  clock: Clock;
  /** Enqueue a body as Event Grid does (base64 JSON). */
  send(body: unknown): Promise<string>;
  /** Enqueue raw message text (for malformed input). */
  sendText(text: string): Promise<string>;
  poisonBodies(): Promise<string[]>;
  close(): Promise<void>;
}

export async function createRig(services: Services, options: RigOptions = {}): Promise<Rig> {
  const queueName = `events-${randomUUID().slice(0, 8)}`;
  const service = QueueServiceClient.fromConnectionString(services.azurite.connectionString);
  const queue = service.getQueueClient(queueName);
  const poison = service.getQueueClient(`${queueName}-poison`);
  await queue.createIfNotExists();
  const sink = memorySink();
  const logger = createLogger(sink, 'debug');
  const clock: Clock = { now: () => services.arg.now().getTime() };

  const portClient = createPortClient(
    {
      apiUrl: services.port.url,
      clientId: services.port.clientId,
      clientSecret: services.port.clientSecret,
      blueprints: BP,
      createMissingRelatedEntities: true,
      maxConcurrency: 8,
      requestTimeoutMs: 10_000,
      retryMaxAttempts: options.portRetryMaxAttempts ?? 2,
    },
    logger,
  );
  await portClient.ensureBlueprints(defaultBlueprints(BP));
  const reader = new ResourceGraphReader({
    endpoint: services.arg.url,
    credential: services.arg.credential,
    subscriptionIds: options.subscriptionIds ?? [],
    logger,
    retry: { maxRetries: 1, retryDelayInMs: 20, maxRetryDelayInMs: 50 },
  });
  const virtual = options.recheck === 'virtual' ? new VirtualDelayScheduler(clock, queue) : undefined;
  const processor = new EventProcessor(
    {
      port: portClient,
      resourceGraph: reader,
      blueprints: BP,
      recheck: virtual ?? new QueueRecheckScheduler(queue),
      poison: new QueuePoisonMover(poison),
      logger,
      clock,
    },
    {
      flushWindowMs: options.flushWindowMs ?? 50,
      settleTimeMs: options.settleTimeMs ?? 3_000,
      subscriptionIds: options.subscriptionIds ?? [],
      includeResourceTypes: [],
      excludeResourceTypes: [],
    },
  );
  useEventProcessor(processor);
  const host = await createQueueHost({
    connectionString: services.azurite.connectionString,
    queueName,
    handler: resourceEventsHandler,
    config: { visibilityTimeoutMs: 1_000, maxPollingIntervalMs: 200, ...options.host },
  });

  const send = async (body: unknown) => (await queue.sendMessage(encodeQueueMessage(body))).messageId;
  return {
    queueName,
    queue,
    poison,
    host,
    processor,
    portClient,
    reader,
    sink,
    virtual,
    clock,
    send,
    sendText: async (text) => (await queue.sendMessage(text)).messageId,
    async poisonBodies() {
      const out: string[] = [];
      const peeked = await poison.peekMessages({ numberOfMessages: 32 });
      for (const m of peeked.peekedMessageItems) out.push(Buffer.from(m.messageText, 'base64').toString('utf8'));
      return out;
    },
    async close() {
      await host.stop();
      await processor.drain();
      useEventProcessor(undefined);
    },
  };
}
