/**
 * An unreachable Resource Graph host fails fast and names the host (#11 §5), like Port's (test/port/unreachable.test.ts):
 * a name that does not resolve (ENOTFOUND, a misspelt AZURE_ARM_ENDPOINT) gets one more try, not the SDK's full
 * back-off, and each failed attempt is a visible warning. The Azure SDK resolves names through node:dns `lookup`
 * (its Node HTTP client uses node:https), so the test answers for the misspelt names there: no DNS server is asked.
 */
import dns from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceGraphReader } from '../../shared/azure/resourceGraph.js';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { createLogger, memorySink } from '../../shared/log.js';

const SUB = '11111111-1111-4111-8111-111111111111';
const MISSPELT = 'management.azrue.com';
const FLAKY = 'management.flaky-dns.test';
const lookups: string[] = [];

type Lookup = typeof dns.lookup;
const realLookup: Lookup = dns.lookup;

beforeAll(() => {
  const fake = ((hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (error: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;
    const code = hostname === MISSPELT ? 'ENOTFOUND' : hostname === FLAKY ? 'EAI_AGAIN' : undefined;
    if (code === undefined) return (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
    lookups.push(hostname);
    process.nextTick(() => cb(Object.assign(new Error(`getaddrinfo ${code} ${hostname}`), { code, hostname, syscall: 'getaddrinfo' })));
  }) as Lookup;
  dns.lookup = fake;
});

afterAll(() => {
  dns.lookup = realLookup;
});

function reader(host: string) {
  const logs = memorySink();
  const graph = new ResourceGraphReader({
    endpoint: `https://${host}`,
    credential: { getToken: async () => ({ token: 'token', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    subscriptionIds: [SUB],
    logger: createLogger(logs, 'debug'),
    retry: { maxRetries: 5, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
  });
  return { graph, logs };
}

async function firstPage(graph: ResourceGraphReader): Promise<unknown> {
  for await (const page of graph.queryPages('Resources | project id', { subscriptions: [SUB] })) return page;
  return undefined;
}

describe('an unreachable Resource Graph host', () => {
  it('a misspelt host (ENOTFOUND) fails after 2 attempts, naming the host and the setting', async () => {
    lookups.length = 0;
    const { graph, logs } = reader(MISSPELT);
    const started = Date.now();
    const error = await firstPage(graph).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(`Resource Graph: cannot resolve host ${MISSPELT} (ENOTFOUND): check the URL for typos (AZURE_ARM_ENDPOINT)`);
    expect(lookups).toEqual([MISSPELT, MISSPELT]);
    expect(graph.queryCount()).toBe(2);
    // The retry is visible (a warning), not silent, and it is quick.
    expect(logs.records.filter((r) => r.level === 'warn').map((r) => r.message)).toEqual([
      `Resource Graph request attempt 1 failed (cannot resolve host ${MISSPELT} (ENOTFOUND): check the URL for typos)`,
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a temporary DNS failure (EAI_AGAIN) is a retryable failure naming the host, never a permanent one', async () => {
    lookups.length = 0;
    const { graph } = reader(FLAKY);
    const error = await firstPage(graph).catch((e: unknown) => e);
    // Retryable: the run fails and the next one (or the host's retry of a message) tries again.
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(new RegExp(`^Resource Graph request failed before a response: DNS lookup of ${FLAKY.replace(/\./g, '\\.')} failed temporarily \\(EAI_AGAIN\\)`));
    expect(lookups.length).toBeGreaterThanOrEqual(1);
  });
});
