/**
 * Shared set-up for the Port tests: an emulator, a client pointed at it, and the contract check every suite
 * runs over the traffic it recorded.
 */
import { expect } from 'vitest';
import { createLogger, memorySink, type Logger } from '../../shared/log.js';
import { PortClient, type PortClientOptions } from '../../shared/port/client.js';
import { portTrafficProblems, type ValidateOptions } from '../contract/portContract.js';
import type { PortEmulator, RecordedExchange } from '../emulators/port/server.js';

export function testLogger(): { logger: Logger; records: ReturnType<typeof memorySink>['records'] } {
  const sink = memorySink();
  return { logger: createLogger(sink, 'debug'), records: sink.records };
}

export function clientFor(emulator: PortEmulator, overrides: Partial<PortClientOptions> = {}): PortClient {
  return new PortClient({
    apiUrl: emulator.url,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    createMissingRelatedEntities: true,
    maxConcurrency: 8,
    requestTimeoutMs: 5_000,
    retryMaxAttempts: 5,
    backoffBaseMs: 10,
    logger: testLogger().logger,
    ...overrides,
  });
}

/**
 * Collects exchanges from emulators a suite used (including ones it reset or closed), so an afterAll can check
 * every one against Port's spec.
 */
export class TrafficLog {
  private readonly exchanges: { exchange: RecordedExchange; options: ValidateOptions }[] = [];

  /** Takes what the emulator recorded so far and clears its recording. */
  collect(emulator: PortEmulator, options: ValidateOptions = {}): void {
    for (const exchange of emulator.requests) this.exchanges.push({ exchange, options });
    emulator.clearRequests();
  }

  get size(): number {
    return this.exchanges.length;
  }

  expectAllMatchSpec(): void {
    const problems: string[] = [];
    for (const { exchange, options } of this.exchanges) problems.push(...portTrafficProblems([exchange], options));
    expect(problems.slice(0, 20), `${problems.length} exchange problem(s) against port-openapi.yaml`).toEqual([]);
  }
}

export const TEST_BLUEPRINT = {
  identifier: 'testResource',
  title: 'Test resource',
  schema: {
    properties: {
      name: { type: 'string', title: 'Name' },
      size: { type: 'number', title: 'Size' },
      blob: { type: 'string', title: 'Blob' },
      tags: { type: 'object', title: 'Tags' },
    },
    required: [],
  },
  relations: {},
};

export const TEST_GROUP_BLUEPRINT = {
  identifier: 'testGroup',
  title: 'Test group',
  schema: { properties: { name: { type: 'string', title: 'Name' } }, required: [] },
  relations: {},
};

/** Creates the two test blueprints directly in the emulator: testResource.group → testGroup. */
export function seedTestBlueprints(emulator: PortEmulator): void {
  emulator.seedBlueprint(TEST_GROUP_BLUEPRINT);
  emulator.seedBlueprint({
    ...TEST_BLUEPRINT,
    relations: { group: { target: 'testGroup', required: false, many: false, title: 'Group' } },
  });
}

export function entities(n: number, prefix = 'e', extra: (i: number) => Record<string, unknown> = () => ({})) {
  return Array.from({ length: n }, (_, i) => ({
    identifier: `${prefix}-${String(i).padStart(5, '0')}`,
    title: `Entity ${i}`,
    properties: { name: `name ${i}`, size: i, ...extra(i) },
    relations: {},
  }));
}
