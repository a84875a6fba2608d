/**
 * What the bench's child process runs: the application exactly as production wires it, pointed at the emulators.
 * Modules are imported inside each job so the child loads only what that job needs (its RSS is what we report).
 */

/** App settings for the child, as environment strings (validated by loadSettings like production). */
export type AppEnv = Record<string, string>;

export interface ReconcileJob {
  kind: 'reconcile';
  env: AppEnv;
  mode: 'full' | 'window';
}

export interface BurstEvent {
  kind: 'write' | 'delete';
  resourceId: string;
}

export interface EventsJob {
  kind: 'events';
  env: AppEnv;
  /** 'azurite': the burst sits in Azurite, drained by test/support/queueHost.ts. 'memory': memoryHost.ts. */
  transport: 'azurite' | 'memory';
  /** For 'memory': the distinct events, delivered `duplication` times each in an order shuffled by `seed`. */
  burst?: { events: BurstEvent[]; duplication: number; seed: number; eventTime: string };
  /** Azurite connection string and queue the burst sits in. */
  connectionString: string;
  queueName: string;
  hostJsonPath: string;
  /** Overrides of host.json extensions.queues, to show what another setting would do (never the default). */
  hostQueues?: { batchSize?: number; newBatchThreshold?: number };
  /** Stop waiting for the queue to empty after this long. */
  drainTimeoutMs: number;
}

/** S6: the freshness stream on a virtual clock, emulators in the same process (test/bench/freshness/). */
export interface FreshnessJob {
  kind: 'freshness';
  /** App settings except the emulator endpoints and credentials, which the child fills in once they run. */
  env: AppEnv;
  estate: { subscriptions: number; resourceGroups: number; resources: number; seed: number };
  workload: import('./freshness/workload.js').FreshWorkloadOptions;
  limits: import('./bound.js').Limits;
  hostJsonPath: string;
  /** Also deliver an Azure Resource Notifications event per resource change, once Resource Graph shows it. */
  notifications: boolean;
  /** Virtual ms after the last change before the run stops waiting (what is not final by then is unreached). */
  horizonMs: number;
}

export type AppJob = ReconcileJob | EventsJob | FreshnessJob;

export interface AppResult {
  /** Time the application took for the job, measured inside the child (module loading excluded). */
  wallMs: number;
  /** process.resourceUsage().maxRSS of the child, in MB. */
  peakRssMb: number;
  /** CPU time (user + system) the child spent on the job: far below wallMs means it was waiting on I/O. */
  cpuMs: number;
  detail: Record<string, unknown>;
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
