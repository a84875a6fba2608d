/**
 * The state a run leaves behind: the cursor and lastFullSyncAt move only when the run succeeded (a full one for
 * lastFullSyncAt), a failed full sync is retried with backoff while windows keep going, and what a full sync learnt
 * about subscriptions (lost since when, known) is kept until the next full sync.
 */
import type { SyncOutcome } from './context.js';
import { fullSyncRetryDelayMs } from './mode.js';
import type { LastRun, RunMode, SyncState } from './state.js';

export interface NextStateInput {
  identifier: string;
  scope: string;
  previous: SyncState | undefined;
  mode: RunMode;
  /** The run succeeded as far as a retry could tell (no retryable failure, not a dry run). */
  advance: boolean;
  now: Date;
  fullSyncIntervalMs: number;
  outcome: SyncOutcome;
  lastRun: LastRun;
  errorMessage?: string;
  /** The mapping source's complaint, when the last good mapping was used instead of the stored one. */
  mappingProblem?: string;
}

/** Pure: the state entity after a run. */
export function nextSyncState(input: NextStateInput): SyncState {
  const { previous: state, mode, advance, now, outcome } = input;
  // A full sync whose listing shifted under it may have missed rows: it does not count as done, and is retried.
  const fullDone = advance && mode === 'full' && !outcome.listingUnstable;
  return {
    identifier: input.identifier,
    scope: input.scope,
    ...(advance ? { cursor: now.toISOString() } : state?.cursor ? { cursor: state.cursor } : {}),
    ...(fullDone
      ? { lastFullSyncAt: now.toISOString() }
      : state?.lastFullSyncAt
        ? { lastFullSyncAt: state.lastFullSyncAt }
        : {}),
    ...fullSyncBackoff(mode, fullDone, state, now, input.fullSyncIntervalMs),
    ...subscriptionMemory(outcome, state),
    lastRun: input.lastRun,
    ...(mode === 'full'
      ? outcome.deletionSkippedReason
        ? { deletionSkippedReason: outcome.deletionSkippedReason }
        : {}
      : state?.deletionSkippedReason
        ? { deletionSkippedReason: state.deletionSkippedReason }
        : {}),
    ...(input.errorMessage ? { lastError: input.errorMessage } : {}),
    ...(input.mappingProblem ? { mappingProblem: input.mappingProblem } : {}),
  };
}

/** A full sync replaces what the state remembers about subscriptions; other runs keep it. */
function subscriptionMemory(outcome: SyncOutcome, state: SyncState | undefined): Pick<SyncState, 'lostSubscriptions' | 'knownSubscriptions'> {
  const lost = outcome.lostSubscriptions ?? state?.lostSubscriptions;
  const known = outcome.knownSubscriptions ?? state?.knownSubscriptions;
  return {
    ...(lost && Object.keys(lost).length > 0 ? { lostSubscriptions: lost } : {}),
    ...(known && known.length > 0 ? { knownSubscriptions: known } : {}),
  };
}

/** A failed or incomplete full sync is retried with backoff; windows run meanwhile (mode.ts). */
function fullSyncBackoff(
  mode: RunMode,
  advance: boolean,
  state: SyncState | undefined,
  now: Date,
  fullSyncIntervalMs: number,
): Pick<SyncState, 'fullSyncFailures' | 'fullSyncRetryAt'> {
  if (mode === 'full' && advance) return {};
  if (mode !== 'full') {
    return {
      ...(state?.fullSyncFailures ? { fullSyncFailures: state.fullSyncFailures } : {}),
      ...(state?.fullSyncRetryAt ? { fullSyncRetryAt: state.fullSyncRetryAt } : {}),
    };
  }
  const failures = (state?.fullSyncFailures ?? 0) + 1;
  return { fullSyncFailures: failures, fullSyncRetryAt: new Date(now.getTime() + fullSyncRetryDelayMs(failures, fullSyncIntervalMs)).toISOString() };
}
