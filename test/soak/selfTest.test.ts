/**
 * The soak's invariant checks must be able to fail: each case below weakens the system on purpose (through a
 * self-test knob of the harness, never the application) and expects the matching violation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SoakScenario } from './model.js';
import { InvariantViolation, SoakWorld } from './world.js';

const estate = { subscriptions: 1, resourceGroups: 3, resources: 10, seed: 11 };
let world: SoakWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('soak self-test', () => {
  it('reports divergence when a dropped event is never repaired', async () => {
    world = await SoakWorld.start();
    const scenario: SoakScenario = { estate, steps: [{ kind: 'azure', change: { op: 'update', resource: 2, tag: 'lost' }, deliveries: [] }] };
    await expect(world.run(scenario, 1, { skipFinalReconcile: true })).rejects.toThrow(InvariantViolation);
    await expect(world.run(scenario, 1, { skipFinalReconcile: true })).rejects.toThrow(/Port differs from the estate: azureCloudResources: 0 missing, 0 extra, 1 differing/);
  });

  it('the same dropped event converges once the final reconciliation runs', async () => {
    world = await SoakWorld.start();
    const scenario: SoakScenario = { estate, steps: [{ kind: 'azure', change: { op: 'update', resource: 2, tag: 'lost' }, deliveries: [] }] };
    await expect(world.run(scenario, 1)).resolves.toBeUndefined();
  });

  it('reports a run that deletes more than the checked threshold', async () => {
    world = await SoakWorld.start();
    const scenario: SoakScenario = { estate, steps: [{ kind: 'azure', change: { op: 'delete', resource: 0 }, deliveries: [] }] };
    await expect(world.run(scenario, 1, { checkedThreshold: 0 })).rejects.toThrow(/deleted 1 of \d+ azureCloudResources entities, more than the threshold 0 allows/);
  });
});
