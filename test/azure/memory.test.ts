import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator } from '../emulators/resourceGraph/server.js';
import { generateEstate } from '../fixtures/estate.js';

/** A real gc() without needing --expose-gc on the vitest worker's command line. */
function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const MB = 1024 * 1024;

describe('streaming memory', () => {
  let emu: ResourceGraphEmulator;
  let subscriptionIds: string[];
  const total = 25_000;

  beforeAll(async () => {
    const estate = generateEstate({ subscriptions: 5, resourceGroups: 100, resources: total, seed: 11 });
    subscriptionIds = estate.subscriptions.map((s) => String(s.subscriptionId));
    emu = await startResourceGraphEmulator({ estate, quota: { limit: 100_000, windowMs: 1_000 } });
  });
  afterAll(async () => {
    await emu.close();
  });

  it(`streams ${total} resources with under 50 MB of retained heap growth`, async () => {
    const gc = gcFunction();
    const reader = new ResourceGraphReader({
      endpoint: emu.url,
      credential: emu.credential,
      subscriptionBatchSize: 2,
      maxConcurrency: 3,
    });
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let rows = 0;
    let pages = 0;
    let peakRetained = 0;
    const samples: number[] = [];
    const seen = new Set<number>();
    for await (const page of reader.listResources({ subscriptionIds })) {
      rows += page.length;
      pages += 1;
      // Keep something small per row so the loop cannot be optimised into nothing.
      seen.add(page.length);
      if (pages % 5 === 0) {
        gc();
        const retained = process.memoryUsage().heapUsed - baseline;
        samples.push(retained);
        peakRetained = Math.max(peakRetained, retained);
      }
    }
    gc();
    const after = process.memoryUsage().heapUsed - baseline;
    expect(rows).toBe(total);
    expect(pages).toBeGreaterThanOrEqual(25);
    expect(peakRetained).toBeLessThan(50 * MB);
    expect(after).toBeLessThan(50 * MB);
    // Holding every row would add ~15 MB over the run at this size; streaming stays flat after the first pages.
    expect(samples[samples.length - 1]! - samples[0]!).toBeLessThan(8 * MB);
  });

  it('the emulator serves a 100k-resource estate in 1000-row pages quickly', async () => {
    const big = generateEstate({ subscriptions: 10, resourceGroups: 500, resources: 100_000, seed: 12 });
    const started = Date.now();
    const bigEmu = await startResourceGraphEmulator({ estate: big, quota: { limit: 100_000, windowMs: 1_000 } });
    try {
      const reader = new ResourceGraphReader({ endpoint: bigEmu.url, credential: bigEmu.credential, subscriptionBatchSize: 1000 });
      let rows = 0;
      for await (const page of reader.listResources({ subscriptionIds: big.subscriptions.map((s) => String(s.subscriptionId)) })) {
        rows += page.length;
      }
      expect(rows).toBe(100_000);
      expect(bigEmu.queryCount()).toBe(100);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await bigEmu.close();
    }
  });
});
