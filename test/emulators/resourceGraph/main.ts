/**
 * Standalone Resource Graph emulator:
 *   npm run emulator:arg -- --port 7071 --seed estate.json
 *   npm run emulator:arg -- --generate 10000 --subscriptions 5 --resource-groups 200
 * Prints its URL and runs until SIGINT. Control routes: GET /_emulator/estate | stats | lag | paging | permissions,
 * POST /_emulator/changes | lag | paging | permissions | quota | latency | fail | advance (test/emulators/README.md).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { generateEstate } from '../../fixtures/estate.js';
import type { EstateSnapshot } from './estate.js';
import { longTailLag, startResourceGraphEmulator } from './server.js';

const wholeNumber = (name: string) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${raw}"`);
  return n;
};

const program = new Command()
  .name('emulator:arg')
  .description('Azure Resource Graph emulator for azure-port-sync tests and local runs')
  .option('--port <n>', 'port to listen on (0: random)', wholeNumber('--port'), 0)
  .option('--seed <estate.json>', 'estate file: {"subscriptions": [...], "resourceGroups": [...], "resources": [...]}')
  .option('--generate <resources>', 'generate an estate with this many resources', wholeNumber('--generate'))
  .option('--subscriptions <n>', 'subscriptions for --generate', wholeNumber('--subscriptions'), 3)
  .option('--resource-groups <n>', 'resource groups for --generate', wholeNumber('--resource-groups'), 30)
  .option('--random-seed <n>', 'generator seed for --generate', wholeNumber('--random-seed'), 1)
  .option('--quota <limit>', 'queries allowed per quota window', wholeNumber('--quota'), 15)
  .option('--quota-window-ms <ms>', 'quota window length', wholeNumber('--quota-window-ms'), 5_000)
  .option('--latency-ms <ms>', 'added latency per page', wholeNumber('--latency-ms'), 0)
  .option('--lag-resources-ms <ms>', 'visibility lag of the resources tables', wholeNumber('--lag-resources-ms'), 0)
  .option('--lag-changes-ms <ms>', 'visibility lag of the change tables', wholeNumber('--lag-changes-ms'), 0)
  .option('--long-tail-lag <seed>', 'every table lags with the long-tail distribution (most < 30 s, some minutes), seeded', wholeNumber('--long-tail-lag'))
  .option('--paging <mode>', '"keyset" (stable) or "offset" (skips and duplicates rows when the estate changes between pages)', 'keyset')
  .option('--max-rows-per-page <n>', 'serve at most n rows per page whatever $top asks', wholeNumber('--max-rows-per-page'))
  .parse();

const opts = program.opts<{
  port: number;
  seed?: string;
  generate?: number;
  subscriptions: number;
  resourceGroups: number;
  randomSeed: number;
  quota: number;
  quotaWindowMs: number;
  latencyMs: number;
  lagResourcesMs: number;
  lagChangesMs: number;
  longTailLag?: number;
  paging: string;
  maxRowsPerPage?: number;
}>();

if (opts.paging !== 'keyset' && opts.paging !== 'offset') program.error(`--paging must be "keyset" or "offset", got "${opts.paging}"`);
if (opts.maxRowsPerPage === 0) program.error('--max-rows-per-page must be at least 1');

if (opts.seed && opts.generate !== undefined) program.error('use either --seed or --generate, not both');

let estate: Partial<EstateSnapshot> = {};
if (opts.seed) {
  try {
    estate = JSON.parse(readFileSync(opts.seed, 'utf8')) as Partial<EstateSnapshot>;
  } catch (error) {
    program.error(`cannot read --seed ${opts.seed}: ${error instanceof Error ? error.message : String(error)}`);
  }
} else if (opts.generate !== undefined) {
  estate = generateEstate({
    subscriptions: opts.subscriptions,
    resourceGroups: opts.resourceGroups,
    resources: opts.generate,
    seed: opts.randomSeed,
  });
}

const emulator = await startResourceGraphEmulator({
  port: opts.port,
  estate,
  quota: { limit: opts.quota, windowMs: opts.quotaWindowMs },
  latencyMs: opts.latencyMs,
  lag: {
    resourcesMs: opts.lagResourcesMs,
    changesMs: opts.lagChangesMs,
    ...(opts.longTailLag !== undefined
      ? {
          tables: {
            resources: longTailLag(opts.longTailLag),
            resourcecontainers: longTailLag(opts.longTailLag + 1),
            resourcechanges: longTailLag(opts.longTailLag + 2),
            resourcecontainerchanges: longTailLag(opts.longTailLag + 3),
          },
        }
      : {}),
  },
  paging: { mode: opts.paging as 'keyset' | 'offset', ...(opts.maxRowsPerPage !== undefined ? { maxRowsPerPage: opts.maxRowsPerPage } : {}) },
});
const size = emulator.estate();
process.stdout.write(
  `Resource Graph emulator listening on ${emulator.url} ` +
    `(${size.subscriptions.length} subscriptions, ${size.resourceGroups.length} resource groups, ${size.resources.length} resources)\n`,
);
// SIGTERM too: the bench and the sandbox stop child emulators that way.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
