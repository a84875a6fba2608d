/**
 * The two pieces that make a full sync stream with bounded memory: read-ahead of Resource Graph pages and the
 * pipelined Port writer. The writer is tested against a small in-memory PortApi (a fake of the dependency).
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { silentLogger } from '../../shared/log.js';
import type { PortApi, PortEntity, UpsertOutcome } from '../../shared/port/types.js';
import { PortCatalogWriter } from '../../shared/sync/converge/portWriter.js';
import { runProblems } from '../../shared/sync/reconcile/context.js';
import { prefetch } from '../../shared/sync/reconcile/prefetch.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('prefetch', () => {
  it('reads ahead at most `capacity` items and yields them in order', async () => {
    let produced = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        produced += 1;
        yield i;
      }
    }
    const stream = prefetch(source(), 3);
    await tick();
    // capacity buffered, plus the one the producer is holding while it waits for room
    expect(produced).toBeLessThanOrEqual(4);
    const seen: number[] = [];
    for await (const n of stream) seen.push(n);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('hands the consumer the source error after the items read before it', async () => {
    async function* source() {
      yield 1;
      throw new Error('page 2 failed');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of prefetch(source(), 2)) seen.push(n);
      })(),
    ).rejects.toThrow('page 2 failed');
    expect(seen).toEqual([1]);
  });

  it('stops reading the source on close, before it is consumed', async () => {
    let produced = 0;
    let returned = false;
    async function* source() {
      try {
        for (;;) {
          produced += 1;
          yield produced;
        }
      } finally {
        returned = true;
      }
    }
    const stream = prefetch(source(), 2);
    await tick();
    await stream.close();
    const after = produced;
    await tick();
    expect(produced).toBe(after);
    expect(returned).toBe(true);
  });
});

function fakePort(respond: (batch: PortEntity[]) => Promise<UpsertOutcome[]>): PortApi & { maxConcurrent: number; calls: number } {
  let active = 0;
  const fake = {
    maxConcurrent: 0,
    calls: 0,
    async upsertEntities(_bp: string, entities: PortEntity[]) {
      fake.calls += 1;
      active += 1;
      fake.maxConcurrent = Math.max(fake.maxConcurrent, active);
      try {
        await tick();
        return await respond(entities);
      } finally {
        active -= 1;
      }
    },
    deleteEntities: async () => ({ deleted: [], failed: [] }),
    searchEntities: async function* () {},
    getEntity: async () => undefined,
    ensureBlueprints: async () => ({ created: [], updated: [], unchanged: [] }),
    requestCounts: () => ({ token: 0, search: 0, bulkUpsert: 0, delete: 0, other: 0, total: 0 }),
  };
  return fake;
}

const entity = (i: number): PortEntity => ({ identifier: `/subscriptions/s/e${i}`, properties: {}, relations: {} });

describe('PortCatalogWriter', () => {
  it('keeps at most maxInFlight calls going and counts created, updated and failed entities', async () => {
    const port = fakePort(async (batch) =>
      batch.map((e, i) =>
        e.identifier.endsWith('7')
          ? { ok: false as const, identifier: e.identifier, error: new PermanentError('rejected', { source: 'port', traceId: 'trace-7' }) }
          : { ok: true as const, identifier: e.identifier, created: i % 2 === 0 },
      ),
    );
    const writer = new PortCatalogWriter(port, silentLogger, { batchSize: 10, maxInFlight: 2 });
    for (let i = 0; i < 100; i++) await writer.upsert('bp', entity(i), { kind: 'create' });
    await writer.flush();
    expect(port.calls).toBe(10);
    expect(port.maxConcurrent).toBe(2);
    const counts = writer.counts();
    expect(counts.failed).toBe(10);
    expect(counts.created + counts.updated).toBe(90);
    expect(writer.failures()[0]).toMatchObject({ blueprint: 'bp', operation: 'upsert', traceId: 'trace-7' });
  });

  it('surfaces a call that throws to the reader instead of leaving an unhandled rejection', async () => {
    const port = fakePort(async () => {
      throw new RetryableError('connection reset', { source: 'port' });
    });
    const writer = new PortCatalogWriter(port, silentLogger, { batchSize: 5, maxInFlight: 1 });
    const run = async () => {
      for (let i = 0; i < 20; i++) await writer.upsert('bp', entity(i), { kind: 'create' });
      await writer.flush();
    };
    await expect(run()).rejects.toThrow('connection reset');
  });

  it('tells entity rejections (cursor moves on) from failures a retry may fix (cursor held)', async () => {
    const errorFor: Record<string, PermanentError | RetryableError> = {
      e0: new PermanentError('Port rejected entity: invalid_request', { source: 'port', status: 422, traceId: 't-422' }),
      e1: new PermanentError('identifier has characters Port does not allow', { source: 'input', code: 'invalid_identifier' }),
      e2: new PermanentError('unauthorized', { source: 'port', status: 401 }),
      e3: new PermanentError('forbidden', { source: 'port', status: 403 }),
      e4: new RetryableError('returned 503 after 2 attempt(s)', { source: 'port', status: 503, traceId: 't-503' }),
    };
    const port = fakePort(async (batch) =>
      batch.map((e) => {
        const error = errorFor[e.identifier.split('/').at(-1)!];
        return error ? { ok: false as const, identifier: e.identifier, error } : { ok: true as const, identifier: e.identifier, created: true };
      }),
    );
    const writer = new PortCatalogWriter(port, silentLogger, { batchSize: 10 });
    for (let i = 0; i < 6; i++) await writer.upsert('bp', entity(i), { kind: 'create' });
    await writer.flush();
    expect(writer.failures().map((f) => [f.identifier.split('/').at(-1), f.permanent])).toEqual([
      ['e0', true],
      ['e1', true],
      ['e2', false],
      ['e3', false],
      ['e4', false],
    ]);
    expect(writer.retryableFailureCount()).toBe(3);
    const problems = runProblems(writer, 2);
    expect(problems.incompleteReasons).toEqual([
      expect.stringMatching(/^3 Port write\(s\) failed and may succeed on retry; first: upsert bp \/subscriptions\/s\/e2: unauthorized$/),
    ]);
    expect(problems.rejectedReasons).toEqual([
      expect.stringMatching(/^2 Port write\(s\) failed permanently \(rejected by Port; first: .*e0: .*\(trace id t-422\)\)$/),
      '2 Resource Graph row(s) could not be mapped',
    ]);
  });
});
