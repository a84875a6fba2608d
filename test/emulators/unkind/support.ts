/**
 * Shared set-up for the unkind-mode tests: emulators closed after each test, the real reader, small helpers.
 */
import { afterEach } from 'vitest';
import { normalizeResourceId } from '../../../shared/azure/resourceId.js';
import { ResourceGraphReader, type ResourceGraphReaderOptions } from '../../../shared/azure/resourceGraph.js';
import { startResourceGraphEmulator, type ResourceGraphEmulator, type ResourceGraphEmulatorOptions } from '../resourceGraph/server.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

/** Closed after the test. */
export function closeAfter<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

export const T0 = new Date('2026-05-04T10:00:00.000Z');
export const MINUTE = 60_000;

export async function emulator(options: ResourceGraphEmulatorOptions = {}): Promise<ResourceGraphEmulator> {
  return closeAfter(await startResourceGraphEmulator({ quota: { limit: 100_000, windowMs: 1_000 }, startTime: T0, manualClock: true, ...options }));
}

export function reader(emu: ResourceGraphEmulator, options: Partial<ResourceGraphReaderOptions> = {}): ResourceGraphReader {
  return new ResourceGraphReader({
    endpoint: emu.url,
    credential: emu.credential,
    retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
    ...options,
  });
}

export async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for await (const page of pages) rows.push(...page);
  return rows;
}

export const norm = (id: string) => normalizeResourceId(id);

export async function control(emu: ResourceGraphEmulator, method: 'GET' | 'POST', route: string, body?: unknown) {
  const response = await fetch(`${emu.url}/_emulator/${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { message: string } } };
}
