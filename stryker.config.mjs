// @ts-check
import path from 'node:path';
import { fileURLToPath } from 'node:url';
/**
 * Mutation testing of the safety kernel (issue #13): `npm run mutate`. Not in CI (too slow for two cores); the
 * README's "Mutation testing" section has the run time and the score per file. The HTML report goes to
 * reports/mutation/ (git-ignored); incremental mode keeps its results there too, so a re-run only tests the
 * mutants whose code or covering tests changed.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
// The tests run in a sandbox copy under .stryker-tmp/, where `../shared/reference` (the team's reference material
// beside the repository, test/support/reference.ts) does not resolve: point them at it. The test processes inherit
// these.
const reference = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../shared/reference');
process.env['AZURE_PORT_SYNC_REFERENCE_DIR'] ??= reference;
process.env['PORT_OPENAPI_SPEC'] ??= path.join(reference, 'port-openapi.yaml');

export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  // The fast in-process tests that cover the kernel (no child-process e2e suites), see the file.
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutate.json',
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // Two cores: one test runner each; the checker shares them.
  concurrency: 2,
  // A mutant that loops is stopped this long after the covering tests' normal time (×1.5).
  timeoutMS: 5_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  // Not copied to the sandbox: build output, local emulator data, reports.
  ignorePatterns: ['dist', 'dist-bench', 'coverage', 'reports', '.azurite', '.deploy', '.func', '__azurite_db_*', '__blobstorage__', '__queuestorage__'],
  mutate: [
    // Identity: the one function that makes Port identifiers (one-to-one, so no two resources share an entity, and
    // a stale-entity decode names the right Azure id), ARM id parsing and the resource group / subscription of an id.
    'shared/azure/resourceId.ts',
    // Proof of presence or absence: an id is "absent" (deletable) only when a witness row came back in the same
    // single-page read.
    'shared/azure/observe.ts',
    // Query literals: every value reaches KQL through kqlString/kqlDatetime; the change window's bounds.
    'shared/azure/queries.ts',
    // Every write and delete of the convergence core (hints, proven absence, updated-since protection).
    'shared/sync/converge/plan.ts',
    // The full sync's deletion guard: incomplete runs, DELETE_THRESHOLD, silent and unreadable subscriptions.
    'shared/sync/reconcile/deletionGuard.ts',
    // Full or window: when a change window can be trusted, and the failed full sync's retry wait.
    'shared/sync/reconcile/mode.ts',
    // The state a run leaves: cursor, lastFullSyncAt, full-sync backoff, subscription memory.
    'shared/sync/reconcile/nextState.ts',
    // When a lost subscription's entities are removed (LOST_SUBSCRIPTION_RETENTION), and which are removed.
    'shared/sync/reconcile/lostSubscriptions.ts',
    // The poison envelope and its reason, and what personal data (claims, authorization, httpRequest) is stripped
    // through every encoding layer.
    'shared/sync/events/poison.ts',
    // How a queue body is decoded, or why it is poisoned.
    'shared/sync/events/decode.ts',
    // When a Port call is retried and how long it waits (Retry-After, x-ratelimit-reset, backoff).
    'shared/port/retry.ts',
    // Log redaction only (forbidden keys, secrets inside text, depth and cycle bounds, the logger applying it);
    // the sinks below it are plumbing.
    'shared/log.ts:16-105',
  ],
};
