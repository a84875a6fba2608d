/**
 * One soak scenario through the real transport instead of the simulated queue: Azurite, the host stand-in
 * (test/support/queueHost.ts, host.json's batch size, dequeue count and poison queue) and the function's exported
 * handler. Real clock, so lag, settle time and retry visibility are scaled down (settle 2 s, lag 1 s, retry 1 s).
 */
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgRow } from '../../shared/azure/types.js';
import { createLogger } from '../../shared/log.js';
import { DEFAULT_BLUEPRINT_IDS as ids } from '../../shared/port/blueprints.js';
import { createPortClient } from '../../shared/port/client.js';
import { loadSettings, type Settings } from '../../shared/settings.js';
import { runReconciliation } from '../../shared/sync/reconcile/index.js';
import { resourceEventsHandler, useEventProcessor } from '../../functions/resourceEvents.js';
import { createEmulatorEventProcessor, createEmulatorGraphReader } from '../bench/appWiring.js';
import { diffCatalog, expectedCatalog } from '../bench/emulators.js';
import { resourceEvent, toQueueMessage } from '../bench/eventMessages.js';
import { shuffle } from '../bench/workload.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate, prng } from '../fixtures/estate.js';
import { startAzurite, type AzuriteHandle } from '../support/azurite.js';
import { QueueHost } from '../support/queueHost.js';
import { recase } from './world.js';

const QUEUE = 'soak-events';
let azurite: AzuriteHandle;
let port: PortEmulator;
let arg: ResourceGraphEmulator;
let settings: Settings;
const log: string[] = [];
const logger = createLogger((level, message, fields) => log.push(`${level} ${message} ${JSON.stringify(fields).slice(0, 300)}`), 'warn');

beforeAll(async () => {
  azurite = await startAzurite();
  port = await startPortEmulator({ record: false });
  arg = await startResourceGraphEmulator({
    estate: generateEstate({ subscriptions: 2, resourceGroups: 4, resources: 40, seed: 2026 }),
    quota: { limit: 100_000, windowMs: 1000 },
  });
  settings = loadSettings({
    PORT_CLIENT_ID: port.clientId,
    PORT_CLIENT_SECRET: port.clientSecret,
    PORT_API_URL: port.url,
    AZURE_ARM_ENDPOINT: arg.url,
    AzureWebJobsStorage: azurite.connectionString,
    RESOURCE_EVENTS_QUEUE: QUEUE,
    EVENT_FLUSH_WINDOW: '20ms',
    EVENT_SETTLE_TIME: '2s',
    DELETE_THRESHOLD: '0.9',
  });
  useEventProcessor(await createEmulatorEventProcessor(settings, logger));
}, 60_000);

afterAll(async () => {
  useEventProcessor(undefined);
  await Promise.allSettled([port?.close(), arg?.close(), azurite?.stop()]);
});

async function reconcile() {
  return runReconciliation({
    port: createPortClient(settings.port, logger),
    graph: await createEmulatorGraphReader(settings, logger),
    settings,
    logger,
  });
}

describe('convergence through Azurite and the queue host', () => {
  it('duplicated, dropped and reordered events plus Port faults converge; malformed messages end in the poison queue', async () => {
    const first = await reconcile();
    expect(first.status).toBe('succeeded');

    const random = prng(77);
    const estate = arg.estate();
    const resources = shuffle([...estate.resources], random);
    const events: { kind: 'write' | 'delete'; id: string; copies: number }[] = [];
    const groupToDelete = estate.resourceGroups.find((g) => !resources.slice(0, 8).some((r) => r.id.toLowerCase().startsWith(g.id.toLowerCase() + '/')));

    for (const r of resources.slice(0, 3)) {
      arg.upsertResource({ ...r, tags: { ...(r.tags ?? {}), soak: 'azurite' } });
      events.push({ kind: 'write', id: r.id, copies: 2 });
    }
    for (const r of resources.slice(3, 5)) {
      arg.deleteResource(r.id);
      events.push({ kind: 'delete', id: r.id, copies: 3 });
    }
    const recreated = resources[5]!;
    arg.deleteResource(recreated.id);
    const recasedId = recase(recreated.id);
    arg.upsertResource({ ...recreated, id: recasedId, name: recasedId.slice(recasedId.lastIndexOf('/') + 1) } as ArgRow);
    events.push({ kind: 'delete', id: recreated.id, copies: 1 }, { kind: 'write', id: recasedId, copies: 2 });
    // A dropped event: only the reconciliation can repair this one.
    const dropped = resources[6]!;
    arg.upsertResource({ ...dropped, tags: { soak: 'dropped-event' } });
    events.push({ kind: 'write', id: dropped.id, copies: 0 });
    if (groupToDelete) {
      arg.deleteResourceGroup(groupToDelete.id);
      events.push({ kind: 'delete', id: groupToDelete.id, copies: 2 });
    }
    arg.setLag({ resourcesMs: 1000, changesMs: 1000 });

    const eventTime = new Date();
    const messages = shuffle(
      events.flatMap((e) => Array.from({ length: e.copies }, () => toQueueMessage(resourceEvent({ kind: e.kind, resourceId: e.id, eventTime })))),
      random,
    );
    const malformed = [Buffer.from('not an event').toString('base64'), toQueueMessage(resourceEvent({ kind: 'write', resourceId: 'not-an-arm-id' }))];
    const queue = new QueueClient(azurite.connectionString, QUEUE);
    await queue.createIfNotExists();
    for (const m of [...messages, ...malformed]) await queue.sendMessage(m);

    port.setFaults({ next: [{ status: 503, count: 3 }] });
    port.revokeTokens();
    const host = new QueueHost({ connectionString: azurite.connectionString, queueName: QUEUE, handler: resourceEventsHandler, config: { visibilityTimeoutMs: 1000 } });
    await host.init();
    const drained = await host.drain({ horizonMs: 30_000 });
    expect(drained.timedOut).toBe(false);
    expect(drained.remaining).toBe(0);
    expect(host.invocations.filter((i) => i.outcome === 'poisoned')).toEqual([]);

    const poisoned = await new QueueClient(azurite.connectionString, `${QUEUE}-poison`).peekMessages({ numberOfMessages: 32 });
    expect(poisoned.peekedMessageItems).toHaveLength(malformed.length);
    // One log line per poisoned message, through the invocation's context (what Application Insights would get).
    expect(host.logs.filter((l) => l.message.includes('moved to the poison queue'))).toHaveLength(malformed.length);

    // Faults off, lag passed: one reconciliation makes Port exact (the dropped event's change included).
    port.clearFaults();
    await new Promise((r) => setTimeout(r, 1100));
    const final = await reconcile();
    expect(final.status, final.error ?? final.incompleteReasons.join('; ')).toBe('succeeded');
    expect(diffCatalog(expectedCatalog(arg.estate(), ids), (bp) => port.entities(bp))).toBeUndefined();
  }, 60_000);
});
