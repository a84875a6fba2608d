import type { QueryScope, ResourceGraphApi } from '../../azure/types.js';
import type { Logger } from '../../log.js';
import type { BlueprintIds } from '../../port/blueprints.js';
import type { PortApi } from '../../port/types.js';
import type { Settings } from '../../settings.js';
import type { EntityMapping } from '../converge/mapping.js';
import type { MappingProvider } from '../../mapping/source.js';
import type { CatalogWriter } from '../converge/writer.js';
import type { BlueprintFields } from '../converge/fingerprint.js';

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
  /** How many items the phase will process, when the run knows it up front (delete candidates, a window's changes). */
  total?: number;
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
  /**
   * Where the mapping comes from (PORT_APP_CONFIG_SOURCE, shared/mapping/source.ts), read fresh at each run's start.
   * Absent: the built-in mapping (shared/mapping/index.ts), which the shipped default file reproduces exactly.
   */
  mapping?: Pick<MappingProvider, 'mapping' | 'status'>;
}

/** What the full and windowed syncs share within one run. */
export interface SyncContext {
  port: PortApi;
  graph: ResourceGraphApi;
  logger: Logger;
  ids: BlueprintIds;
  fields: { subscription: BlueprintFields; resourceGroup: BlueprintFields; resource: BlueprintFields };
  /** The mapping every path shares (converge/mapping.ts). */
  mapping: EntityMapping;
  /**
   * Entities Port shows as updated at or after this instant (ms) are never deleted by this run: a live event may
   * have re-created them after the run's reads (the run's start, minus a margin for clock skew between us and Port).
   */
  protectUpdatedSince: number;
  /** The run's "now" (the window end; the emulator's clock in tests). */
  runStartedAt: Date;
  scope: QueryScope;
  writer: CatalogWriter;
  azure: Settings['azure'];
  reconcile: Settings['reconcile'];
  abortSignal: AbortSignal | undefined;
  /** Dry run: keep per-field fingerprints to name changed fields. */
  detailed: boolean;
  progress: (phase: ReconcilePhase, pages: number, items: number, total?: number) => void;
}

/** What a sync phase reports back to the run. */
export interface SyncOutcome {
  /** Failures a later run can fix (throttling, 5xx, lost connections): deletions skipped and the cursor kept. */
  incompleteReasons: string[];
  /**
   * Failures no retry will fix (Port rejected an entity, a row that cannot be mapped): logged and counted, they
   * skip this run's full-sync deletions, but the cursor still advances so one bad entity cannot pin every later
   * run to the same window or to full syncs. The next full sync tries them again.
   */
  rejectedReasons: string[];
  deletionSkippedReason?: string;
  /** Windowed: Create/Update changes whose target Resource Graph does not show yet (left to the next window). */
  notVisible?: number;
  /** Windowed: change rows ignored as noise (non-resource ids, filtered types). */
  ignoredChanges?: number;
  /** Windowed: distinct targets changed in the window. */
  changes?: number;
  /** Full: subscriptions Resource Graph no longer shows → since when (kept and flagged until the retention). */
  lostSubscriptions?: Record<string, string>;
  /** Full: the subscriptions this deployment answers for after this run. */
  knownSubscriptions?: string[];
  /** Full: a listing changed while it was paged (rows may have been skipped): the full sync does not count as done. */
  listingUnstable?: boolean;
}

export function typeAllowed(type: string | undefined | null, azure: Pick<Settings['azure'], 'includeResourceTypes' | 'excludeResourceTypes'>): boolean {
  if (!type) return true;
  const t = type.toLowerCase();
  if (azure.includeResourceTypes.length > 0 && !azure.includeResourceTypes.includes(t)) return false;
  return !azure.excludeResourceTypes.includes(t);
}

/** Longest Port message quoted in a run's reasons (the state entity shows it to Port users). */
const QUOTED_MESSAGE_CHARS = 300;

/** The run's write and mapping problems, split by whether a later run can fix them. */
export function runProblems(writer: CatalogWriter, unmappedRows: number): Pick<SyncOutcome, 'incompleteReasons' | 'rejectedReasons'> {
  const incompleteReasons: string[] = [];
  const rejectedReasons: string[] = [];
  const retryable = writer.retryableFailureCount();
  const permanent = writer.failureCount() - retryable;
  // The first failure of each kind, so the state entity alone tells a Port user what went wrong.
  const example = (permanentOnes: boolean): string => {
    const f = writer.failures().find((x) => x.permanent === permanentOnes);
    if (!f) return '';
    const trace = f.traceId ? ` (trace id ${f.traceId})` : '';
    return `; first: ${f.operation} ${f.blueprint} ${f.identifier}: ${f.message.slice(0, QUOTED_MESSAGE_CHARS)}${trace}`;
  };
  if (retryable > 0) incompleteReasons.push(`${retryable} Port write(s) failed and may succeed on retry${example(false)}`);
  if (permanent > 0) rejectedReasons.push(`${permanent} Port write(s) failed permanently (rejected by Port${example(true)})`);
  if (unmappedRows > 0) rejectedReasons.push(`${unmappedRows} Resource Graph row(s) could not be mapped`);
  return { incompleteReasons, rejectedReasons };
}
