/**
 * A SyncContext for calling runFullSync and runWindowedSync on their own (not through runReconciliation), built like
 * runReconciliation builds one: the harness's real Port client and Resource Graph reader against the emulators, the
 * default mapping, and by default a PlanCatalogWriter, so a test reads the sync's decisions (what it would create,
 * update and delete) without the writes changing what the next decision sees.
 */
import { defaultBlueprints } from '../../shared/port/blueprints.js';
import { blueprintFields } from '../../shared/sync/converge/fingerprint.js';
import { createDefaultMapping } from '../../shared/sync/converge/mapping.js';
import { PlanCatalogWriter } from '../../shared/sync/converge/planWriter.js';
import type { CatalogWriter } from '../../shared/sync/converge/writer.js';
import type { ReconcilePhase, SyncContext } from '../../shared/sync/reconcile/context.js';
import { expect } from 'vitest';
import { seedSmallEstate, startHarness, type Harness } from './harness.js';

/** A harness whose Port already mirrors the small estate (one full run); the caller closes it. */
export async function startMirrored(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness(env);
  seedSmallEstate(h.arg);
  expect(await h.run()).toMatchObject({ mode: 'full', status: 'succeeded' });
  // (The expected catalog is the whole estate: only without a narrower scope.)
  if (Object.keys(env).length === 0) expect(h.catalog()).toEqual(h.expected());
  return h;
}

export async function syncContext(
  h: Harness,
  options: { writer?: CatalogWriter; protectUpdatedSince?: number; progress?: (phase: ReconcilePhase, pages: number, items: number) => void } = {},
): Promise<SyncContext> {
  const deps = h.deps();
  const ids = h.settings.port.blueprints;
  const byId = new Map(defaultBlueprints(ids).map((d) => [d.identifier, blueprintFields(d)]));
  const fields = { subscription: byId.get(ids.subscription)!, resourceGroup: byId.get(ids.resourceGroup)!, resource: byId.get(ids.resource)! };
  const now = h.arg.now();
  return {
    port: deps.port,
    graph: deps.graph,
    logger: deps.logger,
    ids,
    fields,
    mapping: createDefaultMapping(ids, h.settings.azure),
    protectUpdatedSince: options.protectUpdatedSince ?? now.getTime() - 30_000,
    runStartedAt: now,
    scope: await deps.graph.resolveScope(),
    writer: options.writer ?? new PlanCatalogWriter(),
    azure: h.settings.azure,
    reconcile: h.settings.reconcile,
    abortSignal: undefined,
    detailed: false,
    progress: options.progress ?? (() => {}),
  };
}
