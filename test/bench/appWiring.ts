/**
 * The application as production builds it, with the one substitution the emulators need: the Resource Graph
 * reader gets the emulator's static test credential instead of DefaultAzureCredential (no Entra ID offline).
 * Used by the bench's child process and by the soak.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/log.js';
import type { Settings } from '../../shared/settings.js';
import type { ResourceGraphApi } from '../../shared/azure/types.js';
import type { EventProcessor } from '../../shared/sync/events/apply.js';
import type { EventQueues, EventRuntimeOverrides } from '../../shared/sync/events/runtime.js';
import type { EventsJob } from './jobs.js';

export async function createEmulatorGraphReader(settings: Settings, logger: Logger): Promise<ResourceGraphApi> {
  const [{ createResourceGraphReader }, { staticTestCredential }] = await Promise.all([
    import('../../shared/azure/resourceGraph.js'),
    import('../emulators/resourceGraph/credential.js'),
  ]);
  return createResourceGraphReader(settings.azure, logger, { credential: staticTestCredential() });
}

/** The production event processor (runtime.ts) with the emulator reader, and optionally other queues. */
export async function createEmulatorEventProcessor(
  settings: Settings,
  logger: Logger,
  queues?: EventQueues,
  overrides: Omit<EventRuntimeOverrides, 'resourceGraph' | 'queues'> = {},
): Promise<EventProcessor> {
  const [{ createEventProcessor }, { staticTestCredential }] = await Promise.all([
    import('../../shared/sync/events/runtime.js'),
    import('../emulators/resourceGraph/credential.js'),
  ]);
  return createEventProcessor(settings, logger, {
    armCredential: staticTestCredential(),
    ...overrides,
    resourceGraph: await createEmulatorGraphReader(settings, logger),
    ...(queues ? { queues } : {}),
  });
}

/** S4 over an in-memory queue with the host's semantics (memoryHost.ts), to separate our cost from Azurite's. */
export async function drainInMemory(job: EventsJob): Promise<Record<string, unknown>> {
  if (!job.burst) throw new Error('the memory transport needs the burst in the job');
  const [{ loadSettings }, { createLogger, jsonLineSink }, handlerModule, { readHostQueuesConfig }, { MemoryHost }, { resourceEvent, toQueueMessage }, { shuffle }, { prng }] =
    await Promise.all([
      import('../../shared/settings.js'),
      import('../../shared/log.js'),
      import('../../functions/resourceEvents.js'),
      import('../support/queueHost.js'),
      import('./memoryHost.js'),
      import('./eventMessages.js'),
      import('./workload.js'),
      import('../fixtures/estate.js'),
    ]);
  const settings = loadSettings(job.env);
  const logger = createLogger(jsonLineSink((line) => process.stderr.write(line + '\n')), settings.logLevel);
  const config = { ...readHostQueuesConfig(job.hostJsonPath), ...job.hostQueues };
  const host = new MemoryHost(handlerModule.resourceEventsHandler, config);
  const processor = await createEmulatorEventProcessor(settings, logger, { events: host.sender(), poison: host.poisonSender() });
  handlerModule.useEventProcessor(processor);
  const eventTime = new Date(job.burst.eventTime);
  const deliveries = shuffle(
    job.burst.events.flatMap((e, i) => Array.from({ length: job.burst!.duplication }, () => i)),
    prng(job.burst.seed),
  );
  const ids = job.burst.events.map(() => randomUUID());
  for (const i of deliveries) {
    const e = job.burst.events[i]!;
    host.add(() => toQueueMessage(resourceEvent({ kind: e.kind, resourceId: e.resourceId, eventTime, id: ids[i]! })));
  }
  await host.drain();
  await processor.drain();
  return { invocations: host.outcomes, poisoned: host.poison.length, hostQueues: config, counters: processor.counters.snapshot() };
}

/** S4's application side: the queue host stand-in feeding the real handler until the queue is empty. */
export async function drainWithHost(job: EventsJob): Promise<Record<string, unknown>> {
  const [{ loadSettings }, { createLogger, jsonLineSink }, handlerModule, { QueueHost }] = await Promise.all([
    import('../../shared/settings.js'),
    import('../../shared/log.js'),
    import('../../functions/resourceEvents.js'),
    import('../support/queueHost.js'),
  ]);
  const settings = loadSettings(job.env);
  const logger = createLogger(jsonLineSink((line) => process.stderr.write(line + '\n')), settings.logLevel);
  const processor = await createEmulatorEventProcessor(settings, logger);
  handlerModule.useEventProcessor(processor);
  const host = new QueueHost({
    connectionString: job.connectionString,
    queueName: job.queueName,
    hostJsonPath: job.hostJsonPath,
    ...(job.hostQueues ? { config: job.hostQueues } : {}),
    handler: handlerModule.resourceEventsHandler,
  });
  await host.init();
  const drained = await host.drain({ horizonMs: job.drainTimeoutMs });
  await processor.drain();
  const outcomes: Record<string, number> = {};
  for (const i of host.invocations) outcomes[i.outcome] = (outcomes[i.outcome] ?? 0) + 1;
  return { drain: drained, invocations: outcomes, hostQueues: host.config, counters: processor.counters.snapshot() };
}
