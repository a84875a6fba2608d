/**
 * The Functions host retries a failed queue message until its dequeue count reaches host.json's
 * `extensions.queues.maxDequeueCount`, then copies the original, unchanged, to `<queue>-poison`. That copy would
 * keep Event Grid's claims, authorization and httpRequest. So the handler recognises the last allowed attempt and,
 * if processing fails there, stores the stripped copy itself and completes the message (apply.ts, handle()).
 *
 * The limit is read from host.json, the one place it is configured, so the two can never disagree.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The queue extension's default when host.json does not set one. */
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;

/** host.json at the app root: a parent of this file both in the repository and in the deployed package. */
export function findHostJson(from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, depth = 0; depth < 8; depth++) {
    const candidate = path.join(dir, 'host.json');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** `extensions.queues.maxDequeueCount` from host.json; the extension's default when absent. Throws if invalid. */
export function readMaxDequeueCount(hostJsonPath: string | undefined = findHostJson()): number {
  if (hostJsonPath === undefined) return DEFAULT_MAX_DEQUEUE_COUNT;
  const host = JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { extensions?: { queues?: { maxDequeueCount?: unknown } } };
  const value = host.extensions?.queues?.maxDequeueCount;
  if (value === undefined) return DEFAULT_MAX_DEQUEUE_COUNT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${hostJsonPath}: extensions.queues.maxDequeueCount must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** True on the attempt after which the host would poison the message itself. */
export function isLastAttempt(dequeueCount: number | undefined, maxDequeueCount: number): boolean {
  return dequeueCount !== undefined && dequeueCount >= maxDequeueCount;
}
