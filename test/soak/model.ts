/**
 * What the convergence soak generates (fast-check arbitraries): a small estate, the unkind behaviours the services
 * show for the whole scenario (paging over a changing estate, lag per table with a long tail, a deep-merging Port),
 * then a sequence of steps mixing Azure changes (each with its own event delivery: dropped, duplicated, delayed,
 * reordered), moves, permission changes, Port and Resource Graph faults, lag, time passing, and reconciliation runs
 * that may crash part-way.
 *
 * Steps refer to resources and groups by index into whatever is alive when the step runs (modulo the count), so
 * every generated sequence is executable and fast-check can shrink steps independently.
 */
import fc from 'fast-check';

export type AzureChange =
  | { op: 'create'; group: number; name: string }
  | { op: 'update'; resource: number; tag: string }
  | { op: 'delete'; resource: number }
  | { op: 'deleteGroup'; group: number; childEvents: boolean }
  | { op: 'recreateCased'; resource: number }
  | { op: 'tagGroup'; group: number; tag: string }
  /** kind, sku, managedBy and tags disappear from a resource (a detached disk): Port must clear them. */
  | { op: 'clearFields'; resource: number }
  /** ARM's moveResources: `count` top-level resources of a group to another group (maybe another subscription). */
  | { op: 'move'; group: number; count: number; target: number }
  /** A subscription's state changes (no Event Grid event carries it; reconciliation reads it). */
  | { op: 'subscriptionState'; subscription: number; state: 'Enabled' | 'Disabled' | 'Warned' | 'PastDue' | 'Deleted' };

/** One delivery of an event into the queue, `delayMs` after the change (simulated time). */
export interface Delivery {
  delayMs: number;
  /** Also an Azure Resource Notifications event for a resource change, emitted once Resource Graph shows it. */
  notification?: boolean;
}

export type PortFault = '5xx' | '429' | 'tokenExpiry' | 'latency' | '413' | 'drop';

export type Step =
  | { kind: 'azure'; change: AzureChange; deliveries: Delivery[] }
  | { kind: 'malformed'; body: 'notJson' | 'noResourceUri' | 'notArmId' | 'wrongSchema' }
  | { kind: 'advance'; ms: number }
  | { kind: 'portFault'; fault: PortFault; count: number }
  | { kind: 'argLag'; resourcesMs: number; changesMs: number }
  | { kind: 'argThrottle'; count: number }
  /** Reader removed from a subscription, given back, or given on one of its groups only. */
  | { kind: 'permission'; op: 'revoke' | 'grant' | 'groupOnly'; subscription: number; group: number }
  | { kind: 'reconcile'; crash?: { how: 'abort' | 'throw'; afterPages: number }; concurrentEvents?: boolean };

/** How unkind the services are for a whole scenario (each switch is an emulator mode, test/emulators/README.md). */
export interface Unkind {
  /** `offset`: a `$skipToken` is an offset into the current result, so churn between pages skips and repeats rows. */
  paging: 'keyset' | 'offset';
  /** Rows per page whatever `$top` asks, so a small estate spans many pages. */
  maxRowsPerPage: number | null;
  /** Between pages of a listing, Azure changes under it (a resource deleted, one created; no events for them). */
  churn: boolean;
  /** Per-table lag drawn per change with a long tail (LONG_TAIL below), instead of the one-value shortcut. */
  longTailLag: boolean;
  lagSeed: number;
  /** A Port that merges objects key by key instead of replacing them. */
  mergeDepth: 'top-level' | 'deep';
}

export interface SoakScenario {
  estate: { subscriptions: number; resourceGroups: number; resources: number; seed: number };
  unkind?: Unkind;
  steps: Step[];
}

/** The one-value lag shortcut (argLag steps) stays under the settle time (90 s). */
export const MAX_LAG_MS = 60_000;

/**
 * Long-tail lag per table: most changes within 30 s, some minutes, a few beyond the settle time (state tables) and
 * far beyond the 15-minute tick (change tables), yet inside CHANGE_WINDOW_OVERLAP (30 min): what the windowed sync
 * is documented to catch. Beyond the settle time the real-time path is not required to converge; the soak's
 * event-path check leaves those ids to reconciliation and counts them.
 */
export function longTailTables(seed: number) {
  const state = (s: number) => ({
    kind: 'mixture' as const,
    seed: s,
    parts: [
      { weight: 90, minMs: 0, maxMs: 30_000 },
      { weight: 8, minMs: 30_000, maxMs: 80_000 },
      { weight: 2, minMs: 120_000, maxMs: 600_000 },
    ],
  });
  const changes = (s: number) => ({
    kind: 'mixture' as const,
    seed: s,
    parts: [
      { weight: 90, minMs: 0, maxMs: 60_000 },
      { weight: 8, minMs: 60_000, maxMs: 300_000 },
      { weight: 2, minMs: 300_000, maxMs: LONG_TAIL_MAX_MS },
    ],
  });
  return { resources: state(seed), resourcecontainers: state(seed + 1), resourcechanges: changes(seed + 2), resourcecontainerchanges: changes(seed + 3) };
}

/** The longest delay longTailTables can draw (25 min, inside the 30-minute overlap). */
export const LONG_TAIL_MAX_MS = 25 * 60_000;

/** Names as Azure allows them, including those an earlier identifier scheme confused or a parser rejected (#10 §1). */
const name = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{2,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom("o'brien-sales", 'ml|team', 'High CPU', 'High_CPU', 'quote"d', 'back\\slash', 'café') },
);
const tag = fc.stringMatching(/^[a-z0-9]{1,8}$/);

const deliveries = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Delivery[]>([]) },
  {
    weight: 6,
    arbitrary: fc.array(fc.record({ delayMs: fc.integer({ min: 0, max: 300_000 }), notification: fc.boolean() }, { requiredKeys: ['delayMs'] }), {
      minLength: 1,
      maxLength: 3,
    }),
  },
);

const azureChange: fc.Arbitrary<AzureChange> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), group: fc.nat(20), name }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('update' as const), resource: fc.nat(200), tag }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), resource: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteGroup' as const), group: fc.nat(20), childEvents: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recreateCased' as const), resource: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tagGroup' as const), group: fc.nat(20), tag }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clearFields' as const), resource: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('move' as const), group: fc.nat(20), count: fc.integer({ min: 1, max: 2 }), target: fc.nat(20) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('subscriptionState' as const),
      subscription: fc.nat(3),
      state: fc.constantFrom('Enabled' as const, 'Disabled' as const, 'Warned' as const, 'PastDue' as const, 'Deleted' as const),
    }),
  },
);

export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('azure' as const), change: azureChange, deliveries }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('malformed' as const), body: fc.constantFrom('notJson', 'noResourceUri', 'notArmId', 'wrongSchema') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 600_000 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('portFault' as const),
      fault: fc.constantFrom<PortFault>('5xx', '429', 'tokenExpiry', 'latency', '413', 'drop'),
      count: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('argLag' as const),
      resourcesMs: fc.integer({ min: 0, max: MAX_LAG_MS }),
      changesMs: fc.integer({ min: 0, max: MAX_LAG_MS }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('argThrottle' as const), count: fc.integer({ min: 1, max: 2 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('permission' as const),
      op: fc.constantFrom('revoke' as const, 'grant' as const, 'groupOnly' as const),
      subscription: fc.nat(3),
      group: fc.nat(20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        kind: fc.constant('reconcile' as const),
        crash: fc.record({ how: fc.constantFrom('abort' as const, 'throw' as const), afterPages: fc.integer({ min: 0, max: 2 }) }),
        concurrentEvents: fc.boolean(),
      },
      { requiredKeys: ['kind'] },
    ),
  },
);

export const scenarioArbitrary: fc.Arbitrary<SoakScenario> = fc.record({
  estate: fc.record({
    subscriptions: fc.integer({ min: 1, max: 2 }),
    resourceGroups: fc.integer({ min: 2, max: 4 }),
    resources: fc.integer({ min: 4, max: 20 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  }),
  unkind: fc.record({
    paging: fc.constantFrom('keyset' as const, 'offset' as const),
    maxRowsPerPage: fc.option(fc.integer({ min: 2, max: 6 }), { nil: null }),
    churn: fc.boolean(),
    longTailLag: fc.boolean(),
    lagSeed: fc.integer({ min: 1, max: 1_000_000 }),
    mergeDepth: fc.constantFrom('top-level' as const, 'deep' as const),
  }),
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 24 }),
});
