import type { QueryScope, ResourceGraphApi } from '../../azure/types.js';
import type { Logger } from '../../log.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import type { PortApi } from '../../port/types.js';
import type { Settings } from '../../settings.js';
import type { CatalogWriter } from './catalogWriter.js';
import type { BlueprintFields } from './fingerprint.js';

export type ReconcilePhase =
  | 'port-read'
  | 'subscriptions'
  | 'resourceGroups'
  | 'resources'
  | 'changes'
  | 'lookup'
  | 'write'
  | 'delete';

export interface ReconcileProgress {
  phase: ReconcilePhase;
  /** Pages read so far in this phase. */
  pages: number;
  /** Rows or entities processed so far in this phase. */
  items: number;
}

/** Everything a run needs; the Functions host, the CLI and the tests each build one. */
export interface ReconcileDeps {
  port: PortApi;
  graph: ResourceGraphApi;
  settings: {
    port: Pick<Settings['port'], 'blueprints'>;
    azure: Settings['azure'];
    reconcile: Settings['reconcile'];
  };
  logger: Logger;
  /** The run's notion of "now" (the window end). Tests pass the emulator's clock. */
  now?: () => Date;
  onProgress?: (progress: ReconcileProgress) => void;
}

/** What the full and windowed syncs share within one run. */
export interface SyncContext {
  port: PortApi;
  graph: ResourceGraphApi;
  logger: Logger;
  ids: BlueprintIds;
  fields: { subscription: BlueprintFields; resourceGroup: BlueprintFields; resource: BlueprintFields };
  scope: QueryScope;
  writer: CatalogWriter;
  azure: Settings['azure'];
  reconcile: Settings['reconcile'];
  abortSignal: AbortSignal | undefined;
  /** Dry run: keep per-field fingerprints to name changed fields. */
  detailed: boolean;
  progress: (phase: ReconcilePhase, pages: number, items: number) => void;
}

/** What a sync phase reports back to the run. */
export interface SyncOutcome {
  /** Reasons the run must not be treated as complete (deletions skipped, cursor kept). */
  incompleteReasons: string[];
  deletionSkippedReason?: string;
  /** Windowed: Create/Update changes whose target Resource Graph does not show yet (left to the next window). */
  notVisible?: number;
  /** Windowed: change rows ignored as noise (non-resource ids, filtered types). */
  ignoredChanges?: number;
  /** Windowed: distinct targets changed in the window. */
  changes?: number;
}

export function typeAllowed(type: string | undefined | null, azure: Pick<Settings['azure'], 'includeResourceTypes' | 'excludeResourceTypes'>): boolean {
  if (!type) return true;
  const t = type.toLowerCase();
  if (azure.includeResourceTypes.length > 0 && !azure.includeResourceTypes.includes(t)) return false;
  return !azure.excludeResourceTypes.includes(t);
}
