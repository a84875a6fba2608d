/**
 * Builds the real-time path's collaborators from settings. Everything heavy (Azure SDKs, the Port client, the
 * mapping) is imported dynamically here, so importing the function entry file stays cheap at cold start.
 */
import type { Settings } from '../../settings.js';
import type { Logger } from '../../log.js';
import type { ResourceGraphApi } from '../../azure/types.js';
import type { PortApi, PortIntegrationApi } from '../../port/types.js';
import { createQueueServiceClient } from '../../azure/storageQueue.js';
import { EventProcessor, type Clock } from './apply.js';
import { QueuePoisonMover } from './poison.js';
import { QueueRecheckScheduler, type QueueSender } from './recheck.js';
import type { TokenCredential } from '@azure/core-auth';
import type { Timers } from './watch.js';

export interface EventQueues {
  /** The events queue (re-checks are sent back to it). */
  events: QueueSender;
  /** `<queue>-poison` (created by Bicep; created here only where it is missing and the identity may). */
  poison: QueueSender;
}

/** Queue clients for the configured storage: a connection string, or an identity-based queue service URI. */
export async function createEventQueues(events: Settings['events']): Promise<EventQueues> {
  const service = await createQueueServiceClient(events.storage);
  const eventsQueue = service.getQueueClient(events.queueName);
  const poisonQueue = service.getQueueClient(events.poisonQueueName);
  return {
    events: eventsQueue,
    poison: {
      async sendMessage(text, options) {
        try {
          return await poisonQueue.sendMessage(text, options);
        } catch (error) {
          // Bicep creates both queues (the app's role on them cannot create queues). Only a local or hand-made setup
          // lacks the poison queue; there the connection string may create it.
          if ((error as { statusCode?: number }).statusCode !== 404) throw error;
          await poisonQueue.createIfNotExists();
          return poisonQueue.sendMessage(text, options);
        }
      },
    },
  };
}

export interface EventRuntimeOverrides {
  clock?: Clock;
  /** Replaces the settings-built Resource Graph reader (the bench and soak pass one with an emulator credential). */
  resourceGraph?: ResourceGraphApi;
  port?: PortApi;
  /** Replaces the settings-built queue clients (the bench's in-memory host). */
  queues?: EventQueues;
  /** Replaces the credential of the ARM direct reads (the emulator's static token). */
  armCredential?: TokenCredential;
  timers?: Timers;
}

/** The production EventProcessor: Port client, Resource Graph reader, mapping and queues from settings. */
export async function createEventProcessor(settings: Settings, logger: Logger, overrides: EventRuntimeOverrides = {}): Promise<EventProcessor> {
  const [
    { createPortClient },
    { createResourceGraphReader },
    { ArmReader },
    { ArmReadBudget },
    { createAzureCredential },
    { MappingProvider },
    { entityMappingFromCatalog, extraColumnsOf },
    { defaultBlueprints },
    queues,
  ] = await Promise.all([
    import('../../port/client.js'),
    import('../../azure/resourceGraph.js'),
    import('../../azure/armReader.js'),
    import('../../azure/armBudget.js'),
    import('../../azure/credential.js'),
    import('../../mapping/source.js'),
    import('../converge/catalogMapping.js'),
    import('../../port/blueprints.js'),
    overrides.queues ?? createEventQueues(settings.events),
  ]);
  const clock = overrides.clock;
  // A caller that replaces the Resource Graph reader (an emulator) reads ARM only when it also hands the credential.
  const armWanted = settings.events.armReadsPerSecond > 0 && (overrides.resourceGraph === undefined || overrides.armCredential !== undefined);
  const arm =
    armWanted
      ? new ArmReader({
          endpoint: settings.azure.armEndpoint,
          credential: overrides.armCredential ?? createAzureCredential(settings.azure),
          budget: new ArmReadBudget({ readsPerSecond: settings.events.armReadsPerSecond, ...(clock ? { now: () => clock.now() } : {}) }),
          logger,
        })
      : undefined;
  const port = overrides.port ?? createPortClient(settings.port, logger);
  const provider = new MappingProvider({
    settings,
    logger,
    ...(typeof (port as { getIntegration?: unknown }).getIntegration === 'function' ? { port: port as unknown as PortIntegrationApi } : {}),
  });
  const definitions = defaultBlueprints(settings.port.blueprints);
  const resourceGraph = overrides.resourceGraph ?? createResourceGraphReader(settings.azure, logger);
  const mappingOf = async () => {
    const { mapper } = await provider.mapping();
    const extra = extraColumnsOf(mapper);
    resourceGraph.useExtraColumns?.(extra);
    // ARM rows carry the same columns, or an ARM read maps differently from the Resource Graph row of the resource.
    arm?.useExtraColumns(extra);
    return entityMappingFromCatalog(mapper, settings.port.blueprints, definitions);
  };
  // Loaded once now, so a mapping that cannot load fails the worker's first message, not a later batch; so does a
  // mapping that writes a blueprint Port does not have (named with its entries; the defaults are the reconciliation's).
  const mapping = await mappingOf();
  {
    const [{ missingMappingBlueprints }, { MappingConfigError }] = await Promise.all([import('../../mapping/blueprintCheck.js'), import('../../mapping/config/load.js')]);
    const loaded = await provider.mapping();
    const missing = await missingMappingBlueprints(port, loaded.mapper.entries, settings.port.blueprints);
    if (missing.length > 0) throw new MappingConfigError(loaded.origin, missing);
  }
  return new EventProcessor(
    {
      port,
      mapping,
      mappingSource: mappingOf,
      resourceGraph,
      blueprints: settings.port.blueprints,
      recheck: new QueueRecheckScheduler(queues.events),
      poison: new QueuePoisonMover(queues.poison),
      logger,
      ...(overrides.clock ? { clock: overrides.clock } : {}),
      ...(arm ? { arm } : {}),
      ...(overrides.timers ? { timers: overrides.timers } : {}),
    },
    {
      flushWindowMs: settings.events.flushWindowMs,
      settleTimeMs: settings.events.settleTimeMs,
      subscriptionIds: settings.azure.subscriptionIds,
      includeResourceTypes: settings.azure.includeResourceTypes,
      excludeResourceTypes: settings.azure.excludeResourceTypes,
    },
  );
}
