/**
 * The convergence soak at CI size: a fixed, bounded set of fast-check seeds (npm run soak runs new seeds for
 * as long as you like). A failure prints the seed and the shrunk scenario; add it to regressions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { soakBatch } from './property.js';

const FIXED_SEEDS = [20261124, 7, 424242];
const RUNS_PER_SEED = 6;

describe('convergence soak (fixed seeds)', () => {
  for (const seed of FIXED_SEEDS) {
    it(`seed ${seed}: Port converges to the estate, no message is lost, no run deletes past the threshold`, async () => {
      const result = await soakBatch(seed, RUNS_PER_SEED);
      expect(result.failed, `seed ${seed} failed: ${result.error}\ncounter-example:\n${result.counterexample}`).toBe(false);
      expect(result.runs).toBe(RUNS_PER_SEED);
    }, 60_000);
  }
});
