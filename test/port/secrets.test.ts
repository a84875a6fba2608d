/**
 * The client secret and the access tokens never reach a log record, an error or a printed client, whatever goes wrong: a client
 * flow through every failure path (401 refresh, 429, 5xx, dropped connections, timeouts, 207, refused deletes,
 * wrong credentials) with a debug-level memorySink logger, then every record and every error is searched.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, memorySink } from '../../shared/log.js';
import type { PortClient } from '../../shared/port/client.js';
import { startPortEmulator, type PortEmulator } from '../emulators/port/server.js';
import { clientFor, entities, seedTestBlueprints, TrafficLog } from './harness.js';

const SECRET = 'port-client-secret-NEVER-LOG-5b2e91';

const traffic = new TrafficLog();
let emulator: PortEmulator;
const sink = memorySink();
const logger = createLogger(sink, 'debug');
const errors: unknown[] = [];
const clients: PortClient[] = [];

function client(overrides: Parameters<typeof clientFor>[1] = {}): PortClient {
  const c = clientFor(emulator, { logger, retryMaxAttempts: 2, backoffBaseMs: 5, ...overrides });
  clients.push(c);
  return c;
}

async function collect<T>(work: Promise<T>): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    errors.push(error);
    return undefined;
  }
}

async function drain(pages: AsyncIterable<unknown>): Promise<void> {
  for await (const page of pages) void page;
}

beforeAll(async () => {
  emulator = await startPortEmulator({ clientSecret: SECRET });
  seedTestBlueprints(emulator);
});

afterAll(async () => {
  for (const c of clients) c.close();
  traffic.collect(emulator);
  await emulator.close();
  traffic.expectAllMatchSpec();
});

describe('secrets and tokens', () => {
  it('never appear in log records or errors across every failure path', async () => {
    const port = client();
    const outcomes = [];

    outcomes.push(...(await port.upsertEntities('testResource', entities(30, 'a'))));
    emulator.revokeTokens();
    outcomes.push(...(await port.upsertEntities('testResource', entities(5, 'b'))));

    emulator.setFaults({ next: [{ route: '/entities/bulk', status: 429, retryAfterSeconds: 0 }] });
    outcomes.push(...(await port.upsertEntities('testResource', entities(2, 'c'))));
    emulator.setFaults({ next: [{ route: '/entities/bulk', status: 503, count: 2 }] });
    outcomes.push(...(await port.upsertEntities('testResource', entities(2, 'd'))));
    emulator.setFaults({ next: [{ route: '/entities/bulk', drop: true, count: 2 }] });
    outcomes.push(...(await port.upsertEntities('testResource', entities(2, 'e'))));
    outcomes.push(
      ...(await port.upsertEntities('testResource', [{ identifier: 'r1', properties: { size: 'not a number' }, relations: {} }], {
        createMissingRelatedEntities: false,
      })),
    );
    for (const o of outcomes) if (!o.ok) errors.push(o.error);

    // Token fetches that fail: dropped twice (network errors while sending the secret), then wrong credentials.
    emulator.revokeTokens();
    emulator.setFaults({ next: [{ route: '/auth/access_token', drop: true, count: 2 }] });
    await collect(port.getEntity('testResource', 'a-00000'));
    emulator.clearFaults();
    await collect(client({ clientSecret: `${SECRET}-wrong` }).getEntity('testResource', 'x'));

    emulator.seed('testGroup', [{ identifier: 'g-1' }]);
    emulator.seed('testResource', [{ identifier: 'dependent', relations: { group: 'g-1' } }]);
    const deleted = await port.deleteEntities('testGroup', ['g-1'], { deleteDependents: false });
    for (const f of deleted.failed) errors.push(f.error);

    await collect(drain(port.searchEntities('testResource', { include: ['$identifier'] })));
    await collect(drain(port.searchEntities('noSuchBlueprint')));
    const slow = client({ requestTimeoutMs: 50 });
    await collect(slow.getEntity('testResource', 'warm-up'));
    emulator.setLatency(200);
    await collect(slow.getEntity('testResource', 'x'));
    emulator.setLatency(0);

    // The flow really went through the paths above.
    const statuses = new Set(emulator.requests.map((r) => r.status));
    for (const s of [0, 200, 207, 401, 404, 422, 429, 503]) expect(statuses, `status ${s}`).toContain(s);
    const names = errors.map((e) => (e as Error).name);
    expect(names).toContain('PermanentError');
    expect(names).toContain('RetryableError');
    expect(errors.length).toBeGreaterThanOrEqual(6);
    expect(sink.records.length).toBeGreaterThanOrEqual(8);

    const tokens = emulator.requests
      .filter((r) => r.kind === 'token' && r.status === 200)
      .map((r) => (r.responseBody as { accessToken: string }).accessToken);
    expect(new Set(tokens).size).toBeGreaterThanOrEqual(3);

    const logged = JSON.stringify(sink.records);
    // Everything an error shows when printed, logged as a field, serialised or inspected (causes included).
    const shown = [
      ...errors.map((e) => [String(e), JSON.stringify(e), inspect(e, { depth: Infinity })].join('\n')),
      // A client that ends up in a log line or a test failure's output (console.log, util.inspect) shows neither.
      ...clients.map((c) => inspect(c, { depth: Infinity })),
    ].join('\n');
    for (const secret of [SECRET, ...tokens]) {
      expect(logged.includes(secret), `a log record contains ${secret.slice(0, 12)}…`).toBe(false);
      expect(shown.includes(secret), `an error contains ${secret.slice(0, 12)}…`).toBe(false);
    }
  });
});
