/**
 * A failed run never reads as success (#10 §1.9, #11 §5): `reconcile` (dry or not) that fails prints no plan, no
 * "no changes", exits non-zero and says what went wrong in one line on stderr, with the fix where there is one.
 * Each failure is a real one: Port's emulator refusing the secret, a real @azure/identity credential that cannot
 * sign in, the Resource Graph emulator refusing every configured subscription.
 */
import { ChainedTokenCredential, EnvironmentCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../shared/cli/main.js';
import { seedSmallEstate, startHarness, type Harness } from '../reconcile/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  seedSmallEstate(h.arg);
});
afterAll(async () => {
  await h?.close();
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
