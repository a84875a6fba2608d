/**
 * Helpers for the reproductions of issue #10 §1. They drive the product through its real entry points
 * (EventProcessor.handle, runReconciliation) against the emulators over HTTP; only the re-check queue and the poison
 * queue are in-memory where a test runs the event path next to a reconciliation (they are dependencies, not what is
 * under test).
 */
import { createResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { PortClient } from '../../shared/port/client.js';
import type { StoredEntity } from '../../shared/port/types.js';
import { EventProcessor } from '../../shared/sync/events/apply.js';
import type { EntityMapping } from '../../shared/sync/converge/mapping.js';
import type { ExtraColumns } from '../../shared/azure/queries.js';
import type { PortEmulator } from '../emulators/port/server.js';
import { CapturingPoison, CapturingScheduler } from '../events/fakes.js';
import type { Harness } from '../reconcile/harness.js';

/**
 * The entity mirroring an Azure id, found by its `resourceId` property (original casing, compared case-insensitively)
 * rather than by identifier, so these tests do not depend on the identifier scheme (issue #10 §1.3 changes it).
 */
export function entityFor(port: PortEmulator, blueprint: string, resourceId: string): StoredEntity | undefined {
  const wanted = resourceId.toLowerCase();
  return port.entities(blueprint).find((e) => String(e.properties?.['resourceId'] ?? '').toLowerCase() === wanted);
}

/**
 * A real-time path next to a reconciliation harness, as in production: its own Port client and Resource Graph
 * reader (another process), the same emulators and the harness's clock.
 */
export function eventPathFor(
  h: Harness,
  settleTimeMs = 90_000,
  mapping?: { entities: EntityMapping; extraColumns: ExtraColumns },
): { processor: EventProcessor; close(): Promise<void> } {
  const port = new PortClient({ ...h.settings.port, logger: h.logger, backoffBaseMs: 5, maxWaitMs: 50 });
  const graph = createResourceGraphReader(h.settings.azure, h.logger, {
    credential: h.arg.credential,
    retry: { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
  if (mapping) graph.useExtraColumns(mapping.extraColumns);
  const processor = new EventProcessor(
    {
      port,
      resourceGraph: graph,
      blueprints: h.settings.port.blueprints,
      ...(mapping ? { mapping: mapping.entities } : {}),
      recheck: new CapturingScheduler(),
      poison: new CapturingPoison(),
      logger: h.logger,
      clock: { now: () => h.arg.now().getTime() },
    },
    { flushWindowMs: 10, settleTimeMs, subscriptionIds: [], includeResourceTypes: [], excludeResourceTypes: [] },
  );
  return {
    processor,
    async close() {
      await processor.drain();
      port.close();
    },
  };
}
