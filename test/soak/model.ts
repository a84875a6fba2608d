/**
 * What the convergence soak generates (fast-check arbitraries): a small estate, then a sequence of steps mixing
 * Azure changes (each with its own event delivery: dropped, duplicated, delayed, reordered), Port and Resource
 * Graph faults, lag, time passing, and reconciliation runs that may crash part-way.
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
  | { op: 'tagGroup'; group: number; tag: string };

/** One delivery of an event into the queue, `delayMs` after the change (simulated time). */
export interface Delivery {
  delayMs: number;
}

export type PortFault = '5xx' | '429' | 'tokenExpiry' | 'latency' | '413' | 'drop';

export type Step =
  | { kind: 'azure'; change: AzureChange; deliveries: Delivery[] }
  | { kind: 'malformed'; body: 'notJson' | 'noResourceUri' | 'notArmId' | 'wrongSchema' }
  | { kind: 'advance'; ms: number }
  | { kind: 'portFault'; fault: PortFault; count: number }
  | { kind: 'argLag'; resourcesMs: number; changesMs: number }
  | { kind: 'argThrottle'; count: number }
  | { kind: 'reconcile'; crash?: { how: 'abort' | 'throw'; afterPages: number }; concurrentEvents?: boolean };

export interface SoakScenario {
  estate: { subscriptions: number; resourceGroups: number; resources: number; seed: number };
  steps: Step[];
}

/** Resource Graph lag stays under the settle time (90 s) and the change-window overlap (10 min): beyond those,
 *  not converging is the documented limit, not a bug. */
export const MAX_LAG_MS = 60_000;

const name = fc.stringMatching(/^[a-z][a-z0-9-]{2,10}$/);
const tag = fc.stringMatching(/^[a-z0-9]{1,8}$/);

const deliveries = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Delivery[]>([]) },
  { weight: 6, arbitrary: fc.array(fc.record({ delayMs: fc.integer({ min: 0, max: 300_000 }) }), { minLength: 1, maxLength: 3 }) },
);

const azureChange: fc.Arbitrary<AzureChange> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('create' as const), group: fc.nat(20), name }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('update' as const), resource: fc.nat(200), tag }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), resource: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteGroup' as const), group: fc.nat(20), childEvents: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recreateCased' as const), resource: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('tagGroup' as const), group: fc.nat(20), tag }) },
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
  steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 24 }),
});
