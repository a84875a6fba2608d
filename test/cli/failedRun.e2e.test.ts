/**
 * A failed run never reads as success (#10 §1.9, #11 §5): `reconcile` (dry or not) that fails prints no plan, no
 * "no changes", exits non-zero and says what went wrong in one line on stderr, with the fix where there is one.
 * Each failure is a real one: Port's emulator refusing the secret, a real @azure/identity credential that cannot
 * sign in, the Resource Graph emulator refusing every configured subscription.
 */
import dns from 'node:dns';
import { ChainedTokenCredential, EnvironmentCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import { RUN_LOCK_CONTAINER, runLockName } from '../../shared/sync/reconcile/runLock.js';
import type { AzuriteHandle } from '../support/azurite.js';
import { startCliHarness, stopCliHarness } from './support.js';
import type { Harness } from '../reconcile/harness.js';

let h: Harness;
let azurite: AzuriteHandle;
beforeAll(async () => {
  ({ h, azurite } = await startCliHarness());
}, 60_000);
afterAll(() => stopCliHarness(h, azurite));
// However a run fails, it gives the run lock back.
afterEach(async () => {
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(RUN_LOCK_CONTAINER)
    .getBlobClient(runLockName(h.settings));
  if (await blob.exists()) expect((await blob.getProperties()).leaseState).toBe('available');
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], env: Record<string, string> = {}, deps: CliIo['deps'] = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    env: { ...h.env, ...env },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    deps: { credential: h.arg.credential, now: () => h.arg.now(), ...deps },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** A credential chain that cannot sign in here: no AZURE_* variables, no Azure CLI on PATH. */
function unavailableCredential(): ChainedTokenCredential {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('AZURE_')) delete process.env[key];
  try {
    return new ChainedTokenCredential(new EnvironmentCredential(), new EnvironmentCredential());
  } finally {
    Object.assign(process.env, saved);
  }
}

function expectOneErrorLine(r: Result, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout).not.toMatch(/no changes|matches Azure|succeeded/i);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
}

describe.each([[['--dry-run']], [[]]])('reconcile %j that fails', (extra) => {
  const argv = ['reconcile', '--no-progress', ...extra];

  it('after a Port 401 says Port refused the credentials, never "no changes"', async () => {
    const r = await cli(argv, { PORT_CLIENT_SECRET: 'wrong-secret' });
    expectOneErrorLine(r, /Port.*(401|credentials)/i);
    expect(r.stderr).toMatch(/PORT_CLIENT_ID|PORT_CLIENT_SECRET/);
    expect(r.stderr + r.stdout).not.toContain('wrong-secret');
  });

  it('after an Azure sign-in failure prints one readable line with the fix', async () => {
    const r = await cli(argv, {}, { credential: unavailableCredential() });
    expectOneErrorLine(r, /sign.?in/i);
    expect(r.stderr).toMatch(/az login/);
    expect(r.stderr).not.toMatch(/RetryableError|CredentialUnavailableError|ChainedTokenCredential/);
  });

  it('when no configured subscription is readable names the subscription and the role', async () => {
    const unreadable = '99999999-1111-4111-8111-111111111111';
    const r = await cli(argv, { AZURE_SUBSCRIPTION_IDS: unreadable });
    expectOneErrorLine(r, /Reader/);
    expect(r.stderr).toContain('AZURE_SUBSCRIPTION_IDS');
  });
});

describe('an unreachable host', () => {
  it('Port: visible retry progress, then one error line naming the host', async () => {
    const r = await cli(['reconcile', '--no-progress', '--dry-run'], { PORT_API_URL: 'http://127.0.0.1:1', PORT_RETRY_MAX_ATTEMPTS: '3' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^warn: Port request failed \(127\.0\.0\.1:1 refused the connection \(ECONNREFUSED\): nothing is listening there\); retrying/m);
    expect(r.stderr).toMatch(/^error: reconcile --dry-run failed \(run [0-9a-f-]+\): Port POST \/v1\/auth\/access_token failed after 3 attempt\(s\): 127\.0\.0\.1:1 refused the connection/m);
    expect(r.stdout).toBe('');
  });

  it('Resource Graph: each failed attempt is shown, then one error line naming the host', async () => {
    const r = await cli(['reconcile', '--no-progress', '--dry-run'], { AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^warn: Resource Graph request attempt 1 failed \(127\.0\.0\.1:1 refused the connection \(ECONNREFUSED\)/m);
    expect(r.stderr).toMatch(/^error: reconcile --dry-run failed \(run [0-9a-f-]+\): Resource Graph request failed before a response: 127\.0\.0\.1:1 refused the connection/m);
  }, 30_000);

  it('Resource Graph: a misspelt host (ENOTFOUND) fails within seconds, naming the host and the setting', async () => {
    // The Azure SDK resolves through node:dns lookup; the misspelt name is answered here, no DNS server is asked.
    const host = 'management.azrue.com';
    const realLookup = dns.lookup;
    dns.lookup = ((hostname: string, options: unknown, callback?: unknown) => {
      if (hostname !== host) return (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
      const cb = (typeof options === 'function' ? options : callback) as (error: Error) => void;
      process.nextTick(() => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname })));
    }) as typeof dns.lookup;
    try {
      const started = Date.now();
      const r = await cli(['reconcile', '--no-progress', '--dry-run'], { AZURE_ARM_ENDPOINT: `https://${host}` });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^warn: Resource Graph request attempt 1 failed \(cannot resolve host management\.azrue\.com \(ENOTFOUND\): check the URL for typos\)/m);
      expect(r.stderr).not.toMatch(/attempt 2 failed/);
      expect(r.stderr).toMatch(
        /^error: reconcile --dry-run failed \(run [0-9a-f-]+\): .*cannot resolve host management\.azrue\.com \(ENOTFOUND\): check the URL for typos \(AZURE_ARM_ENDPOINT\)/m,
      );
      expect(r.stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      dns.lookup = realLookup;
    }
  }, 30_000);
});

describe('a partly readable scope', () => {
  it('a dry run says which configured subscriptions it could not compare instead of "Port matches Azure"', async () => {
    const { SUB_A } = await import('../reconcile/harness.js');
    const unreadable = '99999999-1111-4111-8111-111111111111';
    const env = { AZURE_SUBSCRIPTION_IDS: `${SUB_A},${unreadable}` };
    expect((await cli(['reconcile', '--no-progress'], env)).code).toBe(0);
    const r = await cli(['reconcile', '--dry-run', '--no-progress'], env);
    expect(r.stdout).not.toContain('Port matches Azure');
    expect(r.stdout).toContain(`no changes in the readable subscriptions; 1 configured subscription(s) could not be read and were not compared: ${unreadable}`);
    expect(r.stderr).toMatch(new RegExp(`^warning: 1 configured subscription\\(s\\) could not be read and were left alone: ${unreadable}; grant the identity Reader`, 'm'));
    const json = JSON.parse((await cli(['reconcile', '--dry-run', '--json', '--no-progress'], env)).stdout) as { unreadableSubscriptionIds: string[] };
    expect(json.unreadableSubscriptionIds).toEqual([unreadable]);
  });
});
