/**
 * Bench configuration: issue #7's defaults (every one a flag in main.ts) and proportional scaling.
 */
import path from 'node:path';
import { REPO_ROOT } from './paths.js';
import type { Limits } from './bound.js';
import type { AppRuntime } from './childProcess.js';
import { DEFAULT_FRESH_DELIVERY, DEFAULT_FRESH_LAG } from './freshness/workload.js';
import type { LagSpec } from '../emulators/resourceGraph/lag.js';


export const SCENARIO_NAMES = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface BenchConfig {
  scale: number;
  scenarios: ScenarioName[];
  seed: number;
  /** Sizes at scale 1. */
  estate: { subscriptions: number; resourceGroups: number; resources: number };
  changes: number;
  events: number;
  duplication: number;
  limits: Limits;
  coldStartRuns: number;
  /** Where the compiled function entry files are (S5). */
  distFunctionsDir: string;
  /** Settle time the event handler waits before its confirming re-read (EVENT_SETTLE_TIME). */
  eventSettleTime: string;
  eventFlushWindow: string;
  /** S4's queue: memoryHost.ts (same host semantics, no Azurite throughput limit) or Azurite + queueHost.ts. */
  s4Transport: 'azurite' | 'memory';
  /** With the memory transport: also run this share of the burst through Azurite as row S4-azurite (0: skip). */
  s4AzuriteShare: number;
  /** App setting SUBSCRIPTION_BATCH_SIZE; undefined keeps the app's default. */
  subscriptionBatchSize?: number;
  /** S4 only: override host.json's queue batchSize / newBatchThreshold (default: host.json as shipped). */
  hostQueues?: { batchSize?: number; newBatchThreshold?: number };
  /** Run the application side compiled (dist, like production) or from source via tsx (tests). */
  appRuntime: AppRuntime;
  cpuProfileDir?: string;
  /** Extra node flags for the application's child processes (e.g. --max-old-space-size=200). */
  appNodeFlags?: string[];
  verbose?: boolean;
  progress?: (line: string) => void;
  /** S6, the freshness stream (test/bench/freshness/); sizes at scale 1. */
  s6: S6Config;
}

export interface S6Config {
  estate: { subscriptions: number; resourceGroups: number; resources: number };
  changes: number;
  sparseRatePerSecond: number;
  burstShare: number;
  bursts: number;
  /** Resource Graph lag of the state tables, drawn per change. */
  lag: LagSpec;
  /** Event Grid delivery delay (plus queue polling), drawn per event. */
  delivery: LagSpec;
  duplicateShare: number;
  /** EVENT_SETTLE_TIME for S6 (virtual time, so production's default costs nothing). */
  settleTime: string;
  /** Virtual time after the last change the run waits for Port to converge. */
  horizonMs: number;
  /** Also deliver Azure Resource Notifications events (the opt-in second source). */
  notifications: boolean;
}

export const DEFAULT_CONFIG: BenchConfig = {
  scale: 1,
  scenarios: [...SCENARIO_NAMES],
  seed: 7,
  estate: { subscriptions: 200, resourceGroups: 2000, resources: 100_000 },
  changes: 1000,
  events: 10_000,
  duplication: 3,
  limits: {
    arg: { quota: 15, windowMs: 5000, pageSize: 1000, latencyMs: 300, concurrency: 3 },
    port: {
      rateLimit: 35_000,
      periodMs: 300_000,
      latencyMs: 50,
      bulkLimit: 20,
      deleteLimit: 100,
      searchPageSize: 1000,
      concurrency: 8,
    },
  },
  coldStartRuns: 5,
  distFunctionsDir: path.join(REPO_ROOT, 'dist', 'functions'),
  eventSettleTime: '1s',
  eventFlushWindow: '50ms',
  appRuntime: 'dist',
  s4Transport: 'memory',
  s4AzuriteShare: 0.05,
  s6: {
    estate: { subscriptions: 4, resourceGroups: 40, resources: 2000 },
    changes: 600,
    sparseRatePerSecond: 2,
    burstShare: 0.4,
    bursts: 4,
    lag: DEFAULT_FRESH_LAG,
    delivery: DEFAULT_FRESH_DELIVERY,
    duplicateShare: 0.05,
    settleTime: '90s',
    horizonMs: 10 * 60_000,
    notifications: false,
  },
};

export function scaled(config: BenchConfig) {
  const s = config.scale;
  const subscriptions = Math.max(1, Math.round(config.estate.subscriptions * s));
  const resourceGroups = Math.max(subscriptions, Math.round(config.estate.resourceGroups * s));
  const resources = Math.max(resourceGroups, Math.round(config.estate.resources * s));
  return {
    subscriptions,
    resourceGroups,
    resources,
    changes: Math.max(config.changes > 0 ? 4 : 0, Math.round(config.changes * s)),
    events: Math.max(config.events > 0 ? 4 : 0, Math.round(config.events * s)),
    s6Changes: Math.max(20, Math.round(config.s6.changes * s)),
  };
}

