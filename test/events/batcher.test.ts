import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../../shared/sync/events/batcher.js';

function recordingBatcher(options: { flushWindowMs?: number; maxKeys?: number; fail?: (key: string) => Error | undefined } = {}) {
  const batches: Map<string, number>[] = [];
  const batcher = new MicroBatcher<string, number, string>({
    flushWindowMs: options.flushWindowMs ?? 20,
    maxKeys: options.maxKeys ?? 1000,
    merge: (a, b) => a + b,
    process: async (batch) => {
      batches.push(new Map(batch));
      const out = new Map<string, string | Error>();
      for (const [k, v] of batch) out.set(k, options.fail?.(k) ?? `${k}=${v}`);
      return out;
    },
  });
  return { batcher, batches };
}

describe('MicroBatcher', () => {
  it('collects concurrent submits in one window and merges duplicates per key', async () => {
    const { batcher, batches } = recordingBatcher();
    const results = await Promise.all([batcher.submit('a', 1), batcher.submit('b', 1), batcher.submit('a', 2)]);
    expect(results).toEqual(['a=3', 'b=1', 'a=3']);
    expect(batches).toHaveLength(1);
    expect([...batches[0]!.entries()]).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });

  it('flushes as soon as maxKeys distinct keys are pending', async () => {
    const { batcher, batches } = recordingBatcher({ flushWindowMs: 10_000, maxKeys: 3 });
    const started = Date.now();
    await Promise.all(['a', 'b', 'c'].map((k) => batcher.submit(k, 1)));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(batches).toHaveLength(1);
  });

  it('fails only the key that failed', async () => {
    const { batcher } = recordingBatcher({ fail: (k) => (k === 'bad' ? new Error('nope') : undefined) });
    const [good, bad] = await Promise.allSettled([batcher.submit('good', 1), batcher.submit('bad', 1)]);
    expect(good).toEqual({ status: 'fulfilled', value: 'good=1' });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'nope' } });
  });

  it('rejects every waiter when the whole batch throws, and keeps working afterwards', async () => {
    let calls = 0;
    const batcher = new MicroBatcher<string, number, number>({
      flushWindowMs: 5,
      maxKeys: 10,
      merge: (a) => a,
      process: async (batch) => {
        calls += 1;
        if (calls === 1) throw new Error('lookup failed');
        return new Map([...batch.keys()].map((k) => [k, 1]));
      },
    });
    await expect(Promise.all([batcher.submit('a', 1), batcher.submit('b', 1)])).rejects.toThrow('lookup failed');
    await expect(batcher.submit('a', 1)).resolves.toBe(1);
  });

  it('drain() processes what is pending without waiting for the window', async () => {
    const { batcher, batches } = recordingBatcher({ flushWindowMs: 60_000 });
    const pending = batcher.submit('x', 1);
    await batcher.drain();
    await expect(pending).resolves.toBe('x=1');
    expect(batches).toHaveLength(1);
  });
});

describe('MicroBatcher group commit', () => {
  it('keeps gathering while the in-flight cap is reached, then flushes everything pending in one batch', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const firstBatchHeld = new Promise<void>((r) => (release = r));
    const batcher = new MicroBatcher<string, number, string>({
      flushWindowMs: 5,
      maxKeys: 1000,
      maxInFlightBatches: 1,
      merge: (a, b) => a + b,
      process: async (batch) => {
        batches.push([...batch.keys()]);
        if (batches.length === 1) await firstBatchHeld;
        return new Map([...batch.keys()].map((k) => [k, k]));
      },
    });
    const first = batcher.submit('a', 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([['a']]);
    // Several windows pass while batch 1 is held: none of them may start a small batch of its own.
    const later = ['b', 'c', 'd'].map(async (k, i) => {
      await new Promise((r) => setTimeout(r, i * 15));
      return batcher.submit(k, 1);
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(batches).toHaveLength(1);
    release();
    expect(await Promise.all([first, ...later])).toEqual(['a', 'b', 'c', 'd']);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('still answers an idle worker within the flush window', async () => {
    const batcher = new MicroBatcher<string, number, string>({
      flushWindowMs: 10,
      maxKeys: 1000,
      merge: (a, b) => a + b,
      process: async (batch) => new Map([...batch.keys()].map((k) => [k, k])),
    });
    const started = Date.now();
    await batcher.submit('a', 1);
    expect(Date.now() - started).toBeLessThan(500);
  });
});
