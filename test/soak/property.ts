/**
 * The convergence property, shared by `npm run soak`, the CI soak test and the regression cases.
 */
import fc from 'fast-check';
import { scenarioArbitrary, type SoakScenario } from './model.js';
import { SoakWorld, emptyStats, type SelfTestKnobs, type SoakStats } from './world.js';

/** Accumulates what every scenario in this process exercised (printed by npm run soak). */
export const totals: SoakStats = emptyStats();

/** Runs one scenario in fresh emulators; rethrows any violation with the tail of the app's log. */
export async function checkScenario(scenario: SoakScenario, seed: number, knobs: SelfTestKnobs = {}): Promise<void> {
  const world = await SoakWorld.start();
  try {
    await world.run(scenario, seed, knobs, totals);
  } catch (error) {
    const tail = world.log.slice(-15).join('\n');
    if (error instanceof Error) error.message += tail ? `\n--- last log lines ---\n${tail}` : '';
    throw error;
  } finally {
    await world.close();
  }
}

export const convergenceProperty = () =>
  fc.asyncProperty(scenarioArbitrary, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (scenario, seed) => checkScenario(scenario, seed));

export interface SoakBatchResult {
  seed: number;
  runs: number;
  failed: boolean;
  /** The shrunk counter-example, ready to paste into regressions.test.ts. */
  counterexample?: string;
  error?: string;
}

export async function soakBatch(seed: number, numRuns: number): Promise<SoakBatchResult> {
  const details = await fc.check(convergenceProperty(), { seed, numRuns, endOnFailure: false });
  if (!details.failed) return { seed, runs: details.numRuns, failed: false };
  return {
    seed,
    runs: details.numRuns,
    failed: true,
    counterexample: JSON.stringify(details.counterexample, null, 2),
    error: details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance),
  };
}
