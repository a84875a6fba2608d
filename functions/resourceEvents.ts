/**
 * Queue trigger for Event Grid resource events (and our own delayed re-checks). Wiring only: the logic is in
 * shared/sync/events. Settings and clients are built once per worker, on the first message, so importing this file
 * (cold start) loads nothing but @azure/functions.
 */
import { app, type InvocationContext } from '@azure/functions';
import type { EventProcessor } from '../shared/sync/events/apply.js';
import type { LogLevel } from '../shared/log.js';

let processor: Promise<EventProcessor> | undefined;
/** host.json's maxDequeueCount, read once per worker: the last allowed attempt poisons a stripped copy itself. */
let maxDequeueCount: number | undefined;
/** LOG_LEVEL, once settings are loaded; per-invocation lines follow it too. */
let logLevel: LogLevel = 'info';

async function createProcessor(): Promise<EventProcessor> {
  const [{ loadSettings }, { createLogger, jsonLineSink }, { createEventProcessor }] = await Promise.all([
    import('../shared/settings.js'),
    import('../shared/log.js'),
    import('../shared/sync/events/runtime.js'),
  ]);
  const settings = loadSettings();
  logLevel = settings.logLevel;
  const logger = createLogger(jsonLineSink((line) => console.log(line)), settings.logLevel, { function: 'resourceEvents' });
  return createEventProcessor(settings, logger);
}

function getProcessor(): Promise<EventProcessor> {
  processor ??= createProcessor().catch((error: unknown) => {
    // Let the next message try again (e.g. after a settings fix) instead of caching the failure.
    processor = undefined;
    throw error;
  });
  return processor;
}

/** Replaces the worker's processor (tests and the bench point it at emulators); undefined restores the default. */
export function useEventProcessor(replacement: EventProcessor | undefined): void {
  processor = replacement ? Promise.resolve(replacement) : undefined;
}

export async function resourceEventsHandler(message: unknown, context: InvocationContext): Promise<void> {
  const [current, { invocationLogger }, { readMaxDequeueCount }] = await Promise.all([
    getProcessor(),
    import('../shared/log.js'),
    import('../shared/sync/events/lastAttempt.js'),
  ]);
  maxDequeueCount ??= readMaxDequeueCount();
  const metadata = context.triggerMetadata ?? {};
  // triggerMetadata.id may hold the event's own id (top-level payload properties are promoted): log it, never key on it.
  const messageId = typeof metadata['id'] === 'string' ? metadata['id'] : undefined;
  const dequeueCount = typeof metadata['dequeueCount'] === 'number' ? metadata['dequeueCount'] : undefined;
  await current.handle(message, {
    ...(messageId ? { messageId } : {}),
    ...(dequeueCount !== undefined ? { dequeueCount } : {}),
    maxDequeueCount,
    logger: invocationLogger(context, logLevel),
  });
}

app.storageQueue('resourceEvents', {
  queueName: '%RESOURCE_EVENTS_QUEUE%',
  connection: 'AzureWebJobsStorage',
  handler: resourceEventsHandler,
});
